"""The benchmark suite runs end to end and reports in the agreed shape (its figures are not
checked: speed is measured by the suite, never asserted by tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_quick_memory_run_prints_and_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "report.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "okdesk_bot",
            "bench",
            "--quick",
            "--only",
            "memory",
            "--users",
            "30",
            "--dialogs",
            "3",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    report = output.read_text(encoding="utf-8")
    assert report in done.stdout
    assert report.startswith("# okdesk-bot benchmarks\n")
    for line in ("- Date: ", "- Machine: ", "- Python ", "- Rerun: `okdesk-bot bench --quick"):
        assert f"\n{line}" in report
    assert "## 4. Memory" in report
    assert "## 1. Webhook ingest" not in report
    rows = re.findall(r"^\| (.+?) \| (.+?) \| ([\d,.]+) \|$", report, flags=re.MULTILINE)
    assert [process for process, _, _ in rows] == [
        "bare aiogram bot (baseline)",
        "okdesk-bot run",
        "okdesk-bot run",
    ]
    assert all(float(rss.replace(",", "")) > 0 for _, _, rss in rows)


def test_python_m_bench_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=True,
    )

    assert "--only NAME" in done.stdout
    assert "--quick" in done.stdout

"""The Markdown report: the machine, the versions, how to rerun, then one section per benchmark."""

from __future__ import annotations

import math
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from okdesk_bot import __version__

_LIBRARIES = ("aiogram", "aiohttp", "SQLAlchemy", "asyncpg", "aiosqlite", "redis", "pydantic")


@dataclass(slots=True)
class Section:
    """One benchmark: what was measured, a table of figures beside baselines, and notes."""

    title: str
    method: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append(cells)

    def render(self) -> str:
        lines = [f"## {self.title}", "", self.method, ""]
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|" + "|".join("---" for _ in self.header) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)


def number(value: float, digits: int = 0) -> str:
    """A figure for the table; `—` when nothing was measured."""
    if math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def verdict(ok: bool) -> str:
    return "✅ met" if ok else "❌ not met"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine_lines() -> list[str]:
    """The machine and software the figures were measured on."""
    libraries = ", ".join(f"{name} {_version(name)}" for name in _LIBRARIES)
    return [
        f"- Machine: {os.cpu_count()} CPU (`nproc`), {_memory()} RAM, {_cpu_model()}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({sys.implementation.name}); "
        f"okdesk-bot {__version__}; {libraries}",
    ]


@dataclass(slots=True)
class Report:
    """The whole report, rendered once every benchmark has added its section."""

    command: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def render(self) -> str:
        head = [
            "# okdesk-bot benchmarks",
            "",
            f"- Date: {self.started:%Y-%m-%d %H:%M} UTC",
            *machine_lines(),
            *self.extra,
            f"- Rerun: `{self.command}` (also `python -m bench …` from a checkout; "
            "`--output FILE` writes this report)",
            "",
            "Everything ran on this one machine: the load generator and both emulators in the "
            "benchmark process, the service as `okdesk-bot` child processes on 127.0.0.1. "
            "Figures are measurements of this run, not guarantees.",
        ]
        return "\n\n".join(["\n".join(head), *(s.render() for s in self.sections)]) + "\n"

"""Runs the chosen benchmarks one after another and prints (and optionally writes) the report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from okdesk_bot.bench import fanout, ingest, memory, notices, scaling, updates
from okdesk_bot.bench.options import BenchOptions, add_arguments
from okdesk_bot.bench.report import Report, Section

Benchmark = Callable[[BenchOptions, Path], Awaitable[list[Section]]]

BENCHMARKS: dict[str, Benchmark] = {
    "ingest": ingest.run,
    "notices": notices.run,
    "updates": updates.run,
    "memory": memory.run,
    "fanout": fanout.run,
    "scaling": scaling.run,
}


async def run_benchmarks(options: BenchOptions) -> Report:
    """Every selected benchmark in the suite's order; a failing one is reported, not fatal."""
    report = Report(command=options.command_line())
    with tempfile.TemporaryDirectory(prefix="okdesk-bench-") as workdir:
        for name, benchmark in BENCHMARKS.items():
            if name not in options.only:
                continue
            sys.stderr.write(f"… {name}\n")
            started = time.perf_counter()
            try:
                report.sections += await benchmark(options, Path(workdir))
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the rest
                report.sections.append(_failed(name, exc))
            took = time.perf_counter() - started
            sys.stderr.write(f"  {name} took {took:.0f} s\n")
    return report


def _failed(name: str, exc: Exception) -> Section:
    section = Section(f"{name}: failed", "The benchmark stopped with an error.", ("Error",))
    section.add(f"`{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}`")
    return section


def execute(options: BenchOptions) -> int:
    """Run, print the Markdown report, write it to `--output`; 1 if a benchmark failed."""
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(run_benchmarks(options))
    text = report.render()
    sys.stdout.write(text)
    if options.output is not None:
        options.output.write_text(text, encoding="utf-8")
    return 1 if any(section.title.endswith(": failed") for section in report.sections) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench` / `python -m okdesk_bot.bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the okdesk-bot benchmark suite."
    )
    add_arguments(parser)
    return execute(BenchOptions.from_args(parser.parse_args(argv)))

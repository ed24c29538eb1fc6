"""The benchmark suite's command-line options (argparse only: `okdesk-bot --help` stays fast)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = ("ingest", "notices", "updates", "memory", "fanout", "scaling")
BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What to run and for how long."""

    only: tuple[str, ...]
    backends: tuple[str, ...]
    quick: bool
    duration: float
    fanout: int
    users: int
    dialogs: int
    postgres_url: str
    redis_url: str
    output: Path | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        quick = bool(args.quick)
        return cls(
            only=tuple(args.only or BENCHMARKS),
            backends=tuple(args.backend or BACKENDS),
            quick=quick,
            duration=args.duration if args.duration is not None else (1.0 if quick else 5.0),
            fanout=args.fanout if args.fanout is not None else (30 if quick else 1000),
            users=args.users if args.users is not None else (200 if quick else 10_000),
            dialogs=args.dialogs if args.dialogs is not None else (20 if quick else 1000),
            postgres_url=args.postgres_url,
            redis_url=args.redis_url,
            output=args.output,
        )

    def command_line(self) -> str:
        """How to rerun exactly this selection."""
        parts = ["okdesk-bot bench"]
        if self.quick:
            parts.append("--quick")
        parts += [f"--only {name}" for name in self.only if self.only != BENCHMARKS]
        parts += [f"--backend {name}" for name in self.backends if self.backends != BACKENDS]
        parts += [f"--duration {self.duration:g}", f"--fanout {self.fanout}"]
        parts += [f"--users {self.users}", f"--dialogs {self.dialogs}"]
        return " ".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options on `parser` (used by `okdesk-bot bench` and `python -m bench`)."""
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run: short phases, small populations"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="database backends for ingest and notices (repeatable; default: both)",
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per load phase (default 5; quick 1)"
    )
    parser.add_argument(
        "--fanout", type=int, default=None, help="notices in the fan-out (default 1000; quick 30)"
    )
    parser.add_argument(
        "--users", type=int, default=None, help="registered users for memory (default 10000)"
    )
    parser.add_argument(
        "--dialogs", type=int, default=None, help="users mid-dialog for memory (default 1000)"
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="a PostgreSQL server; each run creates and drops its own database there",
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the two-instance scaling runs"
    )
    parser.add_argument("--output", type=Path, default=None, help="also write the report here")

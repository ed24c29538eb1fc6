"""`okdesk-bot` command line. Kept thin: parse arguments, load settings, call one function.

Heavy modules (aiogram, SQLAlchemy, the emulators) are imported inside the commands, so
`okdesk-bot --help` answers at once and a settings error is reported before anything loads.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from okdesk_bot import __version__
from okdesk_bot.bench.options import BenchOptions
from okdesk_bot.bench.options import add_arguments as add_bench_arguments
from okdesk_bot.config import ConfigError, Settings, load_database_settings, load_settings
from okdesk_bot.logging import setup_logging

if TYPE_CHECKING:
    from okdesk_bot.db.repositories import OutboxStats
    from okdesk_bot.db.uow import UnitOfWork

EXIT_CONFIG = 2

Command = Callable[[argparse.Namespace], int]
T = TypeVar("T")


def _configured(verbose: bool = True) -> Settings:
    settings = load_settings()
    if verbose:
        setup_logging(
            settings.log_level,
            settings.log_format,
            secrets=[
                settings.bot_token.get_secret_value(),
                settings.okdesk_api_token.get_secret_value(),
                *(
                    secret.get_secret_value()
                    for secret in (settings.webhook_secret, settings.telegram_webhook_secret)
                    if secret is not None
                ),
            ],
        )
    return settings


def _serve(*components: str) -> Command:
    def command(_: argparse.Namespace) -> int:
        from okdesk_bot.app import Component, serve  # noqa: PLC0415 - heavy import, see module doc

        settings = _configured()
        _run_service(serve(settings, frozenset(Component(c) for c in components)))
        return 0

    return command


def _run_service(main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run` on uvloop where it is installed (not on Windows): the same asyncio, with
    libuv's event loop underneath, for the processes that serve traffic."""
    try:
        import uvloop  # noqa: PLC0415 - optional, platform-dependent
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _check(_: argparse.Namespace) -> int:
    from okdesk_bot.diagnostics import run_checks  # noqa: PLC0415 - heavy import

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"✗ settings: {exc}")
        return 1
    report = asyncio.run(run_checks(settings))
    print(report.render())
    return 0 if report.ok else 1


def _db_upgrade(_: argparse.Namespace) -> int:
    from okdesk_bot.db.migrate import upgrade  # noqa: PLC0415 - heavy import

    settings = load_database_settings()
    setup_logging()
    upgrade(settings.database_url)
    print("✓ database schema is up to date")
    return 0


def _on_database(work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in one committed unit of work on `DATABASE_URL` (no other settings needed).

    A database that cannot be read ends the command with exit code 1 and the driver's message.
    """
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError  # noqa: PLC0415 - heavy import

    from okdesk_bot.db.engine import create_engine, create_session_factory  # noqa: PLC0415
    from okdesk_bot.db.uow import UnitOfWork  # noqa: PLC0415 - heavy import

    settings = load_database_settings()

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with UnitOfWork(create_session_factory(engine)) as uow:
                result = await work(uow)
                await uow.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        print(f"✗ database: {type(cause).__name__}: {cause}", file=sys.stderr)
        print("  (is DATABASE_URL right, and `okdesk-bot db upgrade` done?)", file=sys.stderr)
        raise SystemExit(1) from None


def _outbox_status(_: argparse.Namespace) -> int:
    from okdesk_bot.db.base import utcnow  # noqa: PLC0415 - heavy import

    async def read(uow: UnitOfWork) -> OutboxStats:
        return await uow.outbox.stats(now=utcnow())

    stats = _on_database(read)
    oldest = stats.oldest_pending_age
    waiting = f" (the oldest waits for {_duration(oldest)})" if oldest is not None else ""
    print(f"to send: {stats.depth}{waiting}")
    print(f"parked:  {stats.parked} (the person blocked the bot; sent when they unblock it)")
    hint = " (`okdesk-bot outbox dead` lists them)" if stats.dead else ""
    print(f"dead:    {stats.dead}{hint}")
    return 0


def _outbox_dead(args: argparse.Namespace) -> int:
    async def read(uow: UnitOfWork) -> list[str]:
        return [
            f"#{message.id}  chat {message.chat_id}  issue {message.okdesk_issue_id or '-'}  "
            f"queued {message.created_at:%Y-%m-%d %H:%M} UTC  attempts: {message.attempts}\n"
            f"    {message.last_error or 'no reason recorded'}"
            for message in await uow.outbox.list_dead(limit=args.limit)
        ]

    lines = _on_database(read)
    print("\n".join(lines) if lines else "No dead letters.")
    if lines:
        print("Retry: okdesk-bot outbox retry ID... (or --all)")
    return 0


def _outbox_retry(args: argparse.Namespace) -> int:
    from okdesk_bot.db.base import utcnow  # noqa: PLC0415 - heavy import

    ids: list[int] | None = None if args.all else args.ids

    async def retry(uow: UnitOfWork) -> int:
        return await uow.outbox.retry_dead(now=utcnow(), message_ids=ids)

    count = _on_database(retry)
    print(f"✓ {count} dead letter(s) queued again")
    if ids is not None and count < len(set(ids)):
        print(f"✗ {len(set(ids)) - count} of the given ids are not dead letters")
        return 1
    return 0


def _duration(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _emulate_okdesk(args: argparse.Namespace) -> int:
    from okdesk_bot.emulators.okdesk import serve  # noqa: PLC0415 - heavy import

    setup_logging()
    print(f"Okdesk emulator: API at http://{args.host}:{args.port}/api/v1 (token {args.token!r})")
    asyncio.run(
        serve(
            args.host,
            args.port,
            api_token=args.token,
            seed_path=args.seed,
            webhook_urls=args.webhook_url,
        )
    )
    return 0


def _emulate_telegram(args: argparse.Namespace) -> int:
    from okdesk_bot.emulators.telegram import serve  # noqa: PLC0415 - heavy import

    setup_logging()
    print(f"Telegram Bot API emulator: TELEGRAM_API_URL=http://{args.host}:{args.port}")
    asyncio.run(serve(args.host, args.port, tokens=args.token))
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from okdesk_bot.sandbox import serve  # noqa: PLC0415 - heavy import

    setup_logging(args.log_level)

    def announce(url: str) -> None:
        print(f"Sandbox: open {url} in a browser. Ctrl+C stops it.")
        print("  Left: a Telegram chat with the real bot. Right: support in Okdesk.", flush=True)

    try:
        asyncio.run(serve(args.host, args.port, announce=announce))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"✗ {args.host}:{args.port} is in use; choose another port with --port",
            file=sys.stderr,
        )
        return 1
    print("Sandbox stopped; its temporary database is gone.")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from okdesk_bot.bench.runner import execute  # noqa: PLC0415 - heavy import

    return execute(BenchOptions.from_args(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okdesk-bot",
        description="Telegram bot for the clients of an Okdesk helpdesk.",
        epilog="Settings come from the environment and an optional .env file; see .env.example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def add(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    add("run", _serve("bot", "web"), "run the whole service: Telegram, HTTP server, workers")
    add("bot", _serve("bot"), "run only the Telegram half (long polling, or its webhook)")
    add("webhook", _serve("web"), "run only the HTTP half (Okdesk webhooks, /health)")
    add("check", _check, "check the configuration, Okdesk, Telegram and the database")

    db = commands.add_parser("db", help="database maintenance", description="database maintenance")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply migrations", description="apply all database migrations"
    )
    upgrade.set_defaults(handler=_db_upgrade)

    outbox = add("outbox", _outbox_status, "the notification queue: summary, dead letters, retry")
    outbox_commands = outbox.add_subparsers(title="commands", metavar="COMMAND")
    dead = outbox_commands.add_parser(
        "dead", help="list dead letters", description="list dead letters with their reasons"
    )
    dead.add_argument("--limit", type=int, default=100, help="list at most this many")
    dead.set_defaults(handler=_outbox_dead)
    retry = outbox_commands.add_parser(
        "retry", help="send dead letters again", description="queue dead letters again"
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every dead letter")
    which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID", help="message ids")
    retry.set_defaults(handler=_outbox_retry)

    emulate = commands.add_parser(
        "emulate",
        help="run a local emulator of Okdesk or Telegram",
        description="run a local emulator of Okdesk or Telegram for tests and demos",
    )
    emulators = emulate.add_subparsers(title="emulators", metavar="SERVICE", required=True)
    okdesk = emulators.add_parser(
        "okdesk", help="the Okdesk REST API and its webhooks", description="Okdesk emulator"
    )
    okdesk.add_argument("--host", default="127.0.0.1")
    okdesk.add_argument("--port", type=int, default=8081)
    okdesk.add_argument("--token", default="test-okdesk-token", help="the accepted api_token")
    okdesk.add_argument("--seed", default=None, help="seed data file (JSON); bundled demo data")
    okdesk.add_argument(
        "--webhook-url",
        action="append",
        default=[],
        help="where to POST webhooks (repeatable), e.g. http://127.0.0.1:8080/webhook?secret=…",
    )
    okdesk.set_defaults(handler=_emulate_okdesk)
    telegram = emulators.add_parser(
        "telegram", help="the Telegram Bot API", description="Telegram Bot API emulator"
    )
    telegram.add_argument("--host", default="127.0.0.1")
    telegram.add_argument("--port", type=int, default=8082)
    telegram.add_argument(
        "--token",
        action="append",
        default=None,
        help="a bot token the emulator accepts (repeatable); default 123456:TEST-token",
    )
    telegram.set_defaults(handler=_emulate_telegram)

    sandbox = add(
        "sandbox",
        _sandbox,
        "try the whole service offline: the real bot between the Okdesk and Telegram emulators, "
        "in a web page (no configuration needed)",
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="where the page listens (default: %(default)s)"
    )
    sandbox.add_argument(
        "--port", type=int, default=8080, help="the page's port (default: %(default)s)"
    )
    sandbox.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much of the service's log to print",
    )

    bench = add(
        "bench",
        _bench,
        "measure the service against the emulators on this machine; prints a Markdown report",
    )
    add_bench_arguments(bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "token", "") is None:
        args.token = ["123456:TEST-token"]
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

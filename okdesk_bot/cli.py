"""`okdesk-bot` command line. Kept thin: parse arguments, load settings, call one function.

Heavy modules (aiogram, SQLAlchemy, the emulators) are imported inside the commands, so
`okdesk-bot --help` answers at once and a settings error is reported before anything loads.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from okdesk_bot import __version__
from okdesk_bot.config import ConfigError, Settings, load_database_settings, load_settings
from okdesk_bot.logging import setup_logging

EXIT_CONFIG = 2

Command = Callable[[argparse.Namespace], int]


def _configured(verbose: bool = True) -> Settings:
    settings = load_settings()
    if verbose:
        setup_logging(
            settings.log_level,
            settings.log_format,
            secrets=[
                settings.bot_token.get_secret_value(),
                settings.okdesk_api_token.get_secret_value(),
                *([settings.webhook_secret.get_secret_value()] if settings.webhook_secret else []),
            ],
        )
    return settings


def _serve(*components: str) -> Command:
    def command(_: argparse.Namespace) -> int:
        from okdesk_bot.app import Component, serve  # noqa: PLC0415 - heavy import, see module doc

        settings = _configured()
        asyncio.run(serve(settings, frozenset(Component(c) for c in components)))
        return 0

    return command


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
    add("bot", _serve("bot"), "run only the Telegram half (long polling)")
    add("webhook", _serve("web"), "run only the HTTP half (Okdesk webhooks, /health)")
    add("check", _check, "check the configuration, Okdesk, Telegram and the database")

    db = commands.add_parser("db", help="database maintenance", description="database maintenance")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply migrations", description="apply all database migrations"
    )
    upgrade.set_defaults(handler=_db_upgrade)

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

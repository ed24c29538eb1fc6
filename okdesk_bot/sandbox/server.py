"""The sandbox: the whole product in one process, wired exactly as in production.

:func:`open_sandbox` starts, inside the current event loop:

1. the Telegram emulator, with Telegram's flood limits on;
2. the Okdesk emulator with its bundled demo account (company «Ромашка» with INN 7701234560 in
   the ``inn`` parameter, contacts, employees, the usual statuses);
3. the real service (:func:`okdesk_bot.app.running_service`, the bot and the HTTP half) with
   settings pointing at both emulators and a SQLite database in a temporary directory;
4. Okdesk's webhooks pointed at the service's webhook URL with its secret, the URL an admin
   pastes into Okdesk;
5. the page server (:mod:`.web`) and the live feed (:mod:`.feed`) behind it.

Leaving the block stops everything in reverse order and removes the temporary directory.
Nothing is read from the environment or a ``.env`` file: the sandbox needs no configuration.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from typing_extensions import override

from okdesk_bot.app import Application, Component, running_service
from okdesk_bot.config import Settings
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import TelegramEmulator
from okdesk_bot.sandbox.feed import LiveFeed
from okdesk_bot.sandbox.web import PageConfig, Upstreams, create_page_app
from okdesk_bot.services.webhook_secret import webhook_endpoint_url

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080
INTERNAL_HOST: Final = "127.0.0.1"
"""Where the emulators and the bot's HTTP server listen: never beyond this machine."""

BOT_TOKEN: Final = "100200300:sandbox-bot-token"  # noqa: S105 - the emulator's own fake token
OKDESK_TOKEN: Final = "sandbox-okdesk-token"  # noqa: S105 - the emulator's own fake key
BOT_NAME: Final = "Поддержка Ромашки"
BOT_USERNAME: Final = "romashka_support_bot"

CLIENT_ID: Final = 700_100_200
CLIENT: Final[Mapping[str, object]] = {
    "id": CLIENT_ID,
    "first_name": "Мария",
    "last_name": "Иванова",
    "language_code": "ru",
    "phone_number": "+79161234567",  # unknown to the demo account: registration creates a contact
}
"""The Telegram user the page plays."""

READY_TIMEOUT_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class Sandbox:
    """A running sandbox: the page's URL and the parts behind it."""

    url: str
    okdesk: OkdeskEmulator
    telegram: TelegramEmulator
    service: Application
    client_id: int


class _SandboxSettings(Settings):
    """Settings from the arguments only: a developer's environment or `.env` cannot leak in."""

    @classmethod
    @override
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def sandbox_settings(
    *, okdesk: OkdeskEmulator, telegram: TelegramEmulator, database: Path, port: int, secret: str
) -> Settings:
    """The service's settings as an admin would write them, pointing at the emulators."""
    return _SandboxSettings(
        bot_token=SecretStr(BOT_TOKEN),
        telegram_api_url=telegram.base_url,
        okdesk_api_url=okdesk.api_url,
        okdesk_api_token=SecretStr(OKDESK_TOKEN),
        database_url=f"sqlite:///{database}",
        webhook_url=f"http://{INTERNAL_HOST}:{port}",
        webhook_secret=SecretStr(secret),
        host=INTERNAL_HOST,
        port=port,
    )


@asynccontextmanager
async def open_sandbox(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, stop: asyncio.Event | None = None
) -> AsyncIterator[Sandbox]:
    """Run the sandbox in this event loop while the block runs (port 0: any free port).

    ``stop`` is set if the bot's polling dies on its own. Raises :class:`OSError` when the
    page's port is taken.
    """
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="okdesk-sandbox-")))
        telegram, okdesk = await _start_emulators(stack)
        settings = _wire(okdesk, telegram, database=workdir / "sandbox.db")
        service = await stack.enter_async_context(
            running_service(settings, frozenset({Component.BOT, Component.WEB}), stop=stop)
        )
        url = await stack.enter_async_context(_page_server(okdesk, telegram, host, port))
        yield Sandbox(
            url=url, okdesk=okdesk, telegram=telegram, service=service, client_id=CLIENT_ID
        )


async def _start_emulators(stack: AsyncExitStack) -> tuple[TelegramEmulator, OkdeskEmulator]:
    """Both emulators on free local ports, stopped when ``stack`` closes."""
    telegram = TelegramEmulator(tokens=())  # Telegram's flood limits: on, as in production
    telegram.add_bot(BOT_TOKEN, first_name=BOT_NAME, username=BOT_USERNAME)
    await telegram.start(INTERNAL_HOST)
    stack.push_async_callback(telegram.stop)
    okdesk = OkdeskEmulator(api_token=OKDESK_TOKEN)
    await okdesk.start(INTERNAL_HOST)
    stack.push_async_callback(okdesk.stop)
    return telegram, okdesk


def _wire(okdesk: OkdeskEmulator, telegram: TelegramEmulator, *, database: Path) -> Settings:
    """The service's settings, and Okdesk's webhooks pointed at the URL `check` would print."""
    secret = secrets.token_urlsafe(32)
    settings = sandbox_settings(
        okdesk=okdesk, telegram=telegram, database=database, port=_free_port(), secret=secret
    )
    okdesk.set_webhook_urls([webhook_endpoint_url(settings, secret)])
    return settings


@asynccontextmanager
async def _page_server(
    okdesk: OkdeskEmulator, telegram: TelegramEmulator, host: str, port: int
) -> AsyncIterator[str]:
    """The page, its live feed and the relay to the emulators; yields the page's URL."""
    async with aiohttp.ClientSession() as http:
        config = await _page_config(http, okdesk=okdesk, telegram=telegram)
        feed = LiveFeed(
            http,
            telegram_url=telegram.base_url,
            okdesk_url=okdesk.base_url,
            client_id=CLIENT_ID,
        )
        polling = asyncio.create_task(feed.run(), name="sandbox-feed")
        page = create_page_app(
            config=config,
            feed=feed,
            http=http,
            upstreams=Upstreams(telegram=telegram.base_url, okdesk=okdesk.base_url),
        )
        try:
            async with _serving(page, host, port) as url:
                yield url
        finally:
            await _cancel(polling)


async def serve(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, announce: Callable[[str], None]
) -> None:
    """Run the sandbox until SIGINT/SIGTERM; ``announce`` gets the page's URL once it is up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_sandbox(host, port, stop=stop) as sandbox:
            announce(sandbox.url)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _page_config(
    http: aiohttp.ClientSession, *, okdesk: OkdeskEmulator, telegram: TelegramEmulator
) -> PageConfig:
    """Create the page's Telegram user and read the bot and the statuses, all over HTTP."""
    async with asyncio.timeout(READY_TIMEOUT_SECONDS):
        client = await _call(http, "POST", f"{telegram.base_url}/_user/users", json=dict(CLIENT))
        bots = await _call(http, "GET", f"{telegram.base_url}/_user/bots")
        statuses = await _call(
            http, "GET", f"{okdesk.api_url}/issues/statuses", params={"api_token": OKDESK_TOKEN}
        )
    bot = {key: value for key, value in bots[0].items() if key != "commands"}
    return PageConfig(client=client, bot=bot, statuses=statuses)


async def _call(http: aiohttp.ClientSession, method: str, url: str, **options: Any) -> Any:
    """One JSON request to an emulator; its answer decoded."""
    async with http.request(method, url, **options) as response:
        response.raise_for_status()
        return await response.json()


@asynccontextmanager
async def _serving(app: web.Application, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``app``; yields the URL a browser on this machine opens."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield f"http://{_browser_host(bound_host)}:{bound_port}"
    finally:
        await runner.cleanup()


def _browser_host(host: str) -> str:
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _free_port() -> int:
    """A port nobody listens on now, for the bot's HTTP server (its settings need a number)."""
    with socket.socket() as sock:
        sock.bind((INTERNAL_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task

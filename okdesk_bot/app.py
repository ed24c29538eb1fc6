"""Composition root: builds every long-lived object from the settings and runs the service.

Nothing here runs at import time. `open_application` owns the resources (database engine,
Okdesk client, Telegram bot) and closes them in reverse order; `serve` wires them into the
Telegram intake, the HTTP server and the background workers of one process.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from okdesk_bot import __version__
from okdesk_bot.bot.commands import set_commands
from okdesk_bot.bot.factory import (
    POLLING_TIMEOUT,
    BotDependencies,
    create_bot,
    create_dispatcher,
)
from okdesk_bot.bot.middlewares import InFlightTracker
from okdesk_bot.bot.notifier import TelegramNotifier
from okdesk_bot.bot.storage import create_dialog_backend
from okdesk_bot.config import Settings
from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.migrate import upgrade_async
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services.inbox_worker import InboxWorker, notification_workers
from okdesk_bot.services.outbox_worker import DeliveryPolicy, DeliveryStats, OutboxWorker
from okdesk_bot.services.shared_pace import RedisSendGate
from okdesk_bot.services.webhook_secret import (
    TELEGRAM_STATE_KEY,
    ensure_webhook_secret,
    webhook_endpoint_url,
)
from okdesk_bot.texts import Texts
from okdesk_bot.web.app import create_web_app
from okdesk_bot.web.health import HealthRegistry
from okdesk_bot.web.metrics import MetricsEndpoint, outbox_probe, setup_metrics
from okdesk_bot.web.telegram_webhook import (
    TELEGRAM_NETWORKS,
    ClientAddressPolicy,
    TelegramWebhookEndpoint,
    create_telegram_web_app,
    webhook_registered,
)
from okdesk_bot.web.webhook import WebhookEndpoint
from okdesk_bot.workers import Worker, running_workers

log = logging.getLogger(__name__)

# How long shutdown waits for updates that are being handled.
SHUTDOWN_GRACE_SECONDS = 10.0


class Component(StrEnum):
    """The halves of the service; `run` starts both in one process."""

    BOT = "bot"
    WEB = "web"


@dataclass(frozen=True, slots=True)
class Application:
    """The long-lived objects of one process."""

    settings: Settings
    texts: Texts
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    okdesk: OkdeskClient
    bot: Bot
    delivery_stats: DeliveryStats = field(default_factory=DeliveryStats)
    redis: Redis | None = None
    """Shared by the instances when `REDIS_URL` is set (the send pace; see `_outbox_sender`)."""


@asynccontextmanager
async def open_application(settings: Settings) -> AsyncIterator[Application]:
    """Create the resources of the service and close them, in reverse order, on exit."""
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        okdesk = OkdeskClient(
            settings.okdesk_api_url,
            settings.okdesk_api_token.get_secret_value(),
            timeout=settings.okdesk_timeout,
            account_timezone=settings.okdesk_timezone,
        )
        stack.push_async_callback(okdesk.aclose)
        bot = create_bot(settings.bot_token.get_secret_value(), api_url=settings.telegram_api_url)
        stack.push_async_callback(bot.session.close)
        redis = None
        if settings.redis_url is not None:
            redis = Redis.from_url(settings.redis_url.get_secret_value())
            stack.push_async_callback(redis.aclose)
        yield Application(
            settings=settings,
            texts=Texts.load(),
            engine=engine,
            sessions=create_session_factory(engine),
            okdesk=okdesk,
            bot=bot,
            redis=redis,
        )


@dataclass(frozen=True, slots=True)
class Workers:
    """The background workers of the HTTP half (it receives the events they process)."""

    all: list[Worker]
    inbox: InboxWorker


def build_workers(app: Application) -> Workers:
    """Wired so that a recorded webhook wakes the inbox worker and new notices the sender."""
    sender = _outbox_sender(app)
    inbox, pipeline = notification_workers(
        app.settings,
        texts=app.texts,
        okdesk=app.okdesk,
        sessions=app.sessions,
        on_queued=sender.wake,
    )
    return Workers(all=[sender, *pipeline], inbox=inbox)


def _outbox_sender(app: Application) -> OutboxWorker:
    policy = DeliveryPolicy(
        rate=app.settings.notify_rate,
        max_attempts=app.settings.notify_max_attempts,
        lease=timedelta(seconds=app.settings.notify_lease),
    )
    notifier = TelegramNotifier(app.bot, app.okdesk)
    gate = None
    if app.redis is not None:  # one pace for every instance sending for this bot
        gate = RedisSendGate(
            app.redis,
            prefix=f"okdesk_bot:{app.bot.id}:send",
            rate=policy.rate,
            chat_interval=policy.chat_interval,
        )
    return OutboxWorker(app.sessions, notifier, policy=policy, stats=app.delivery_stats, gate=gate)


def build_health(app: Application) -> HealthRegistry:
    registry = HealthRegistry()

    async def database() -> Mapping[str, Any]:
        async with app.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"backend": app.engine.dialect.name}

    registry.add("database", database)
    registry.add("outbox", outbox_probe(app.sessions))
    return registry


async def serve(settings: Settings, components: frozenset[Component]) -> None:
    """Run the chosen components until SIGINT/SIGTERM, then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_service(settings, components, stop=stop):
            # What start-up built (modules, models, compiled statements) lives as long as the
            # process: keep the garbage collector from walking it again on every full pass,
            # which showed up as 100-200 ms pauses in the webhook answer's p99.
            gc.freeze()
            await stop.wait()
            log.info("Shutting down")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("Stopped")


@asynccontextmanager
async def running_service(
    settings: Settings, components: frozenset[Component], *, stop: asyncio.Event | None = None
) -> AsyncIterator[Application]:
    """The service running inside the current event loop until the block exits.

    `serve` uses it under signal handling; tests use it directly to drive the real service
    in their own loop. `stop` is set if a component dies on its own (e.g. polling).

    With `TELEGRAM_WEBHOOK_URL` the bot receives updates on the HTTP server instead of polling:
    on the Okdesk server when `web` runs too, otherwise on one serving only Telegram's path.
    """
    log.info("okdesk-bot %s starting: %s", __version__, ", ".join(sorted(components)))
    await upgrade_async(settings.database_url)
    async with open_application(settings) as app, AsyncExitStack() as running:
        dispatcher: Dispatcher | None = None
        telegram_webhook: TelegramWebhookEndpoint | None = None
        if Component.BOT in components:
            dispatcher = await running.enter_async_context(_telegram_bot(app))
            if settings.telegram_webhook_url is not None:
                telegram_webhook = await _telegram_webhook_endpoint(app, dispatcher)
        if Component.WEB in components:
            workers = build_workers(app)
            await running.enter_async_context(
                _web_server(app, on_webhook=workers.inbox.wake, telegram=telegram_webhook)
            )
            await running.enter_async_context(running_workers(workers.all))
        elif telegram_webhook is not None:
            await running.enter_async_context(
                _http_server(settings, create_telegram_web_app(telegram_webhook))
            )
        if dispatcher is not None:
            await running.enter_async_context(
                _telegram_intake(app, dispatcher, telegram_webhook, stop or asyncio.Event())
            )
        log.info("Service is up")
        yield app


@asynccontextmanager
async def _web_server(
    app: Application,
    *,
    on_webhook: Callable[[], None],
    telegram: TelegramWebhookEndpoint | None,
) -> AsyncIterator[None]:
    secret = await ensure_webhook_secret(app.sessions, app.settings.webhook_secret)
    webhook = WebhookEndpoint(
        path=app.settings.webhook_path,
        secret=secret,
        sessions=app.sessions,
        on_recorded=on_webhook,
    )
    web_app = create_web_app(health_registry=build_health(app), webhook=webhook, telegram=telegram)
    setup_metrics(web_app, MetricsEndpoint(app.sessions, webhook.stats, app.delivery_stats))
    async with _http_server(app.settings, web_app):
        log.info(
            "Okdesk webhook URL: %s (the full URL with the secret: `okdesk-bot check`)",
            webhook_endpoint_url(app.settings, None),
        )
        yield


@asynccontextmanager
async def _http_server(settings: Settings, web_app: web.Application) -> AsyncIterator[None]:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("HTTP server listening on %s:%s", settings.host, settings.port)
    try:
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _telegram_bot(app: Application) -> AsyncIterator[Dispatcher]:
    """The Dispatcher; on exit, waits for the updates being handled and closes dialog storage."""
    me = await app.bot.get_me()
    log.info("Telegram bot @%s (id %s)", me.username, me.id)
    await set_commands(app.bot, app.texts)
    tracker = InFlightTracker()
    redis_url = app.settings.redis_url.get_secret_value() if app.settings.redis_url else None
    dialog = create_dialog_backend(app.sessions, redis_url)
    deps = BotDependencies(
        settings=app.settings, texts=app.texts, okdesk=app.okdesk, sessions=app.sessions
    )
    try:
        yield create_dispatcher(deps, dialog, tracker=tracker)
    finally:
        if not await tracker.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning("Some updates were still being handled at shutdown")
        await dialog.close()


async def _telegram_webhook_endpoint(
    app: Application, dispatcher: Dispatcher
) -> TelegramWebhookEndpoint:
    settings = app.settings
    secret = await ensure_webhook_secret(
        app.sessions, settings.telegram_webhook_secret, key=TELEGRAM_STATE_KEY
    )
    addresses = ClientAddressPolicy(
        trusted_proxies=settings.trusted_proxies,
        allowed_networks=TELEGRAM_NETWORKS if settings.telegram_webhook_check_ip else None,
    )
    return TelegramWebhookEndpoint(
        path=settings.telegram_webhook_path,
        secret=secret,
        bot=app.bot,
        dispatcher=dispatcher,
        sessions=app.sessions,
        addresses=addresses,
    )


def _telegram_intake(
    app: Application,
    dispatcher: Dispatcher,
    webhook: TelegramWebhookEndpoint | None,
    stop: asyncio.Event,
) -> AbstractAsyncContextManager[None]:
    """Updates by webhook (once the HTTP server listens) or else by long polling."""
    url = app.settings.telegram_webhook_endpoint
    if webhook is None or url is None:
        return _telegram_polling(app, dispatcher, stop)
    return webhook_registered(
        webhook, bot=app.bot, dispatcher=dispatcher, url=url, grace=SHUTDOWN_GRACE_SECONDS
    )


@asynccontextmanager
async def _telegram_polling(
    app: Application, dispatcher: Dispatcher, stop: asyncio.Event
) -> AsyncIterator[None]:
    # A webhook left by webhook mode (it is kept on stop) would make every getUpdates a 409.
    await app.bot.delete_webhook(drop_pending_updates=False)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            app.bot,
            polling_timeout=POLLING_TIMEOUT,
            handle_signals=False,
            close_bot_session=False,
        ),
        name="telegram-polling",
    )
    # If polling dies on its own, the whole service stops rather than running deaf.
    polling.add_done_callback(lambda _: stop.set())
    try:
        yield
    finally:
        if not polling.done():
            try:
                await dispatcher.stop_polling()
            except RuntimeError:  # stopped before the Dispatcher got to start polling
                polling.cancel()
        with suppress(asyncio.CancelledError):
            await polling

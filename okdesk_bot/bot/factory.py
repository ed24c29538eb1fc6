"""Building the aiogram `Bot` and `Dispatcher`; routers are created per Dispatcher."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.bot.errors import handle_error
from okdesk_bot.bot.handlers import build_routers
from okdesk_bot.bot.middlewares import InFlightTracker, TranslatorMiddleware, UnitOfWorkMiddleware
from okdesk_bot.bot.session import FloodWaitMiddleware
from okdesk_bot.bot.storage import DialogBackend
from okdesk_bot.config import Settings
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services.tickets import StatusCatalog
from okdesk_bot.texts import Texts

# Telegram holds a long poll up to this many seconds; the HTTP timeout must exceed it.
POLLING_TIMEOUT = 25


@dataclass(frozen=True, slots=True)
class BotDependencies:
    """What handlers receive by name from the Dispatcher's workflow data."""

    settings: Settings
    texts: Texts
    okdesk: OkdeskClient
    sessions: async_sessionmaker[AsyncSession]


def create_bot(token: str, *, api_url: str) -> Bot:
    """A Bot talking HTML to the Bot API server at `api_url` (Telegram's, a local one, a fake)."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(api_url), timeout=POLLING_TIMEOUT + 15
    )
    session.middleware(FloodWaitMiddleware())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(
    deps: BotDependencies, dialog: DialogBackend, *, tracker: InFlightTracker | None = None
) -> Dispatcher:
    """A fresh Dispatcher with its own routers (a Router can belong to one Dispatcher only).

    Handlers also receive `statuses`, the Dispatcher's one cached reference of Okdesk statuses.
    """
    dispatcher = Dispatcher(
        storage=dialog.storage,
        events_isolation=dialog.isolation,
        settings=deps.settings,
        texts=deps.texts,
        okdesk=deps.okdesk,
        statuses=StatusCatalog(),
    )
    dispatcher.update.outer_middleware(tracker or InFlightTracker())
    dispatcher.update.middleware(TranslatorMiddleware(deps.texts))
    dispatcher.update.middleware(UnitOfWorkMiddleware(deps.sessions))
    dispatcher.errors.register(handle_error)
    dispatcher.include_routers(*build_routers())
    return dispatcher

"""Notifications: the whole service in the test's loop, both emulators over HTTP, both databases.

The service runs both halves: the webhook endpoint, the background workers and Telegram
polling. The Okdesk emulator delivers its webhooks to the service (except in poll mode, which
needs none). Seed data (bundled with the Okdesk emulator): ticket 1 «Не печатает принтер в
бухгалтерии» of contact 1 (Анна), status «В работе» (`in_progress`), with public comments 1
(hers) and 2, and private comment 3; ticket 2 belongs to contact 2, whom nobody here is bound
to. Employee 2 is Петров Сергей Андреевич.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from okdesk_bot.app import Application, Component, running_service
from okdesk_bot.bot.callbacks import TicketCallback
from okdesk_bot.config import NotifyMode, Settings
from okdesk_bot.db.models import InboxEvent, OutboxMessage, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from okdesk_bot.emulators.telegram.text import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, parse_html
from tests.support import BOT_TOKEN, OKDESK_TOKEN, free_port

WEBHOOK_SECRET = "notifications-webhook-secret"
POLL_INTERVAL = 0.2
ANNA_TELEGRAM_ID = 7_100_000_001
JOHN_TELEGRAM_ID = 7_100_000_002

_T = TypeVar("_T")


@pytest.fixture
def notify_mode() -> NotifyMode:
    """Webhooks only, so each test knows which source reports a change; the reconciliation
    tests override it."""
    return NotifyMode.WEBHOOK


@pytest.fixture
def settings(
    okdesk: OkdeskEmulator,
    telegram: TelegramEmulator,
    empty_database_url: str,
    notify_mode: NotifyMode,
) -> Settings:
    return Settings(
        _env_file=None,  # only what the test says, never a developer's .env
        bot_token=SecretStr(BOT_TOKEN),
        okdesk_api_url=okdesk.api_url,
        okdesk_api_token=SecretStr(OKDESK_TOKEN),
        telegram_api_url=telegram.base_url,
        database_url=empty_database_url,
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        host="127.0.0.1",
        port=free_port(),
        notify_mode=notify_mode,
        notify_poll_interval=POLL_INTERVAL,
        notify_confirm_retry_delay=0.05,
    )


@pytest.fixture
async def service(settings: Settings, okdesk: OkdeskEmulator) -> AsyncIterator[Application]:
    """The whole service; Okdesk sends it webhooks unless the mode does without them."""
    async with running_service(settings, frozenset({Component.BOT, Component.WEB})) as app:
        if settings.notify_mode is not NotifyMode.POLL:
            okdesk.set_webhook_urls([webhook_url(settings)])
        yield app


@pytest.fixture
async def anna(service: Application, telegram: TelegramEmulator) -> EmulatedUser:
    """Анна, bound to Okdesk contact 1, Russian-speaking, has written to the bot."""
    person = telegram.user(ANNA_TELEGRAM_ID, "Анна", last_name="Смирнова", language_code="ru")
    await bind(service, person, contact_id=1, language_code="ru")
    return person


@pytest.fixture
async def john(service: Application, telegram: TelegramEmulator) -> EmulatedUser:
    """Анна's English-speaking colleague, bound to the same contact 1."""
    person = telegram.user(JOHN_TELEGRAM_ID, "John", language_code="en")
    await bind(service, person, contact_id=1, language_code="en")
    return person


async def bind(
    app: Application, person: EmulatedUser, *, contact_id: int, language_code: str
) -> None:
    """Store a finished registration, and open the chat (Telegram lets a bot write only to
    people who wrote to it first)."""
    async with UnitOfWork(app.sessions) as uow:
        await uow.users.get_or_create(
            person.id, chat_id=person.chat_id, language_code=language_code
        )
        await uow.users.save_binding(
            person.id,
            kind=UserKind.INDIVIDUAL,
            phone="+79991234567",
            okdesk_contact_id=contact_id,
            registered_at=datetime.now(UTC),
        )
        await uow.commit()
    await person.send_command("/help")
    await person.wait_for_bot_message()


def webhook_url(settings: Settings, secret: str = WEBHOOK_SECRET) -> str:
    return f"http://127.0.0.1:{settings.port}{settings.webhook_path}?secret={secret}"


async def post_webhook(settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    """Deliver a webhook the way Okdesk does; returns the service's JSON answer."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(webhook_url(settings), json=payload) as response,
    ):
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


async def eventually(
    check: Callable[[], Awaitable[_T | None]], *, timeout: float = 10.0, what: str = "a condition"
) -> _T:
    """Poll ``check`` until it returns something other than None (or fail after ``timeout``)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = await check()
                if result is not None:
                    return result
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"no {what} within {timeout} s")


async def inbox(app: Application) -> list[InboxEvent]:
    async with app.sessions() as session:
        return list(await session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


async def outbox(app: Application) -> list[OutboxMessage]:
    async with app.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def processed_inbox(app: Application, *, events: int = 1) -> list[InboxEvent]:
    """The inbox once it holds ``events`` events or more and has none left to process."""

    async def check() -> list[InboxEvent] | None:
        rows = await inbox(app)
        settled = len(rows) >= events and all(row.processed_at is not None for row in rows)
        return rows if settled else None

    return await eventually(check, what=f"{events} processed inbox event(s)")


async def notices_for(app: Application, person: EmulatedUser) -> list[dict[str, Any]]:
    """The payloads queued for the person's chat, in queue order."""
    return [row.payload for row in await outbox(app) if row.chat_id == person.chat_id]


def shown_text(payload: dict[str, Any]) -> str:
    """What Telegram shows for a payload, parsed as Telegram parses it (a markup or length
    error fails the test as Telegram would refuse the message)."""
    caption = payload["method"] == "sendDocument"
    text, _ = parse_html(payload["caption"] if caption else payload["text"])
    assert len(text.encode("utf-16-le")) // 2 <= (
        MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
    )
    return text


def ticket_buttons(payload: dict[str, Any]) -> tuple[TicketCallback, str]:
    """The reply button's callback data and the open button's URL."""
    [[reply, open_ticket]] = payload["reply_markup"]["inline_keyboard"]
    return TicketCallback.unpack(reply["callback_data"]), open_ticket["url"]

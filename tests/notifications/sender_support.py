"""What the sender's tests share: the real sender over HTTP to the emulators, and helpers.

`running_sender` runs the `OutboxWorker` with the real `TelegramNotifier` (aiogram talking to
the Telegram emulator, the Okdesk client to the Okdesk emulator), supervised as the service
supervises it. Its notifier records when each send started and ended and how it ended, so
tests can check pacing and pauses from the sender's side.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.bot.factory import create_bot
from okdesk_bot.bot.notifier import TelegramNotifier
from okdesk_bot.db.base import utcnow
from okdesk_bot.db.models import OutboxMessage
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services.outbox_worker import DeliveryPolicy, Notifier, OutboxWorker, SendOutcome
from okdesk_bot.workers import running_workers
from tests.support import BOT_TOKEN, OKDESK_TOKEN

FAST = DeliveryPolicy(
    rate=200.0,
    chat_interval=0.0,
    max_attempts=8,
    first_retry_delay=0.05,
    max_retry_delay=0.2,
    idle_interval=0.02,
)
"""Fast enough for tests; Telegram's pace is tested where it is the point."""

FIRST_CHAT = 7_200_000_001  # clear of the people of conftest.py


@dataclass(frozen=True, slots=True)
class SendRecord:
    chat_id: int
    text: str | None
    started: float
    ended: float
    outcome: SendOutcome


@dataclass(slots=True)
class RecordingNotifier:
    """Wraps a notifier and keeps a `SendRecord` per send (monotonic times)."""

    inner: Notifier
    records: list[SendRecord] = field(default_factory=list)

    async def send(self, chat_id: int, payload: Mapping[str, Any]) -> SendOutcome:
        started = time.monotonic()
        outcome = await self.inner.send(chat_id, payload)
        text = payload.get("text")
        self.records.append(SendRecord(chat_id, text, started, time.monotonic(), outcome))
        return outcome


@asynccontextmanager
async def running_sender(
    sessions: async_sessionmaker[AsyncSession],
    telegram: TelegramEmulator,
    okdesk: OkdeskEmulator,
    *,
    policy: DeliveryPolicy = FAST,
    message_timeout: int = 10,
) -> AsyncIterator[tuple[OutboxWorker, RecordingNotifier]]:
    """The sender running in the background while the block runs."""
    bot = create_bot(BOT_TOKEN, api_url=telegram.base_url)
    async with OkdeskClient(okdesk.api_url, OKDESK_TOKEN, backoff_base=0.01) as client:
        notifier = RecordingNotifier(
            TelegramNotifier(bot, client, message_timeout=message_timeout)
        )
        worker = OutboxWorker(sessions, notifier, policy=policy)
        try:
            async with running_workers([worker], restart_delay=0.1):
                yield worker, notifier
        finally:
            await bot.session.close()


async def people(telegram: TelegramEmulator, count: int) -> list[EmulatedUser]:
    """`count` people who have started the bot (Telegram lets a bot write to them)."""
    persons = [telegram.user(FIRST_CHAT + n, f"Person {n}") for n in range(count)]
    for person in persons:
        await person.send_command("start")
    return persons


def text_notice(text: str, *, buttons: Sequence[str] = ()) -> dict[str, Any]:
    """A `sendMessage` payload as the pipeline writes it."""
    markup = None
    if buttons:
        row = [{"text": label, "callback_data": f"t:c:{n}"} for n, label in enumerate(buttons)]
        markup = {"inline_keyboard": [row]}
    return {"method": "sendMessage", "text": text, "parse_mode": "HTML", "reply_markup": markup}


async def enqueue(
    sessions: async_sessionmaker[AsyncSession],
    chat_id: int,
    payload: dict[str, Any],
    *,
    key: str,
) -> None:
    async with UnitOfWork(sessions) as uow:
        await uow.outbox.enqueue(
            dedup_key=key, chat_id=chat_id, payload=payload, now=utcnow(), okdesk_issue_id=1
        )
        await uow.commit()


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    """Every outbox row, in queue order."""
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 10.0,
    what: str = "the condition",
) -> None:
    """Wait until `check()` is true, polling; fails the test after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.02)  # the database has no change notifications
    except TimeoutError:
        msg = f"not true within {timeout} s: {what}"
        raise AssertionError(msg) from None


def texts_in(telegram: TelegramEmulator, chat_id: int) -> list[str | None]:
    """What the bot has sent to `chat_id`, in order."""
    return [message.text for message in telegram.sent_messages(chat_id)]

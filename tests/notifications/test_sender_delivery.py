"""The outbox sender against the Telegram emulator over HTTP, on SQLite and PostgreSQL: order,
Telegram's pace, 429 storms, outages, blocked chats, markup errors, dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.models import OutboxStatus
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import TelegramEmulator
from okdesk_bot.services.outbox_worker import (
    FloodWait,
    OutboxWorker,
    SendOutcome,
    Sent,
    release_unblocked_chat,
)
from okdesk_bot.workers import running_workers
from tests.notifications.sender_support import (
    FAST,
    enqueue,
    eventually,
    outbox,
    people,
    running_sender,
    text_notice,
    texts_in,
)

Sessions = async_sessionmaker[AsyncSession]


async def all_sent(sessions: Sessions, count: int) -> bool:
    rows = await outbox(sessions)
    return len(rows) == count and all(row.status is OutboxStatus.SENT for row in rows)


async def test_each_chat_gets_its_messages_in_order_at_its_pace(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    # Telegram tolerates a burst of 2 per chat here, then 10/s: only paced sends get through.
    telegram.flood.configure(per_chat_rate=10.0, per_chat_burst=2.0, global_rate=None)
    persons = await people(telegram, 3)
    for n in range(4):
        for person in persons:
            await enqueue(
                session_factory, person.chat_id, text_notice(f"№{n}"), key=f"{person.id}:{n}"
            )

    policy = replace(FAST, chat_interval=0.12)
    async with running_sender(session_factory, telegram, okdesk, policy=policy):
        await eventually(lambda: all_sent(session_factory, 12), what="12 messages sent")

    for person in persons:
        assert texts_in(telegram, person.chat_id) == ["№0", "№1", "№2", "№3"]
    assert telegram.stats.too_many_requests == 0


async def test_the_global_rate_is_kept_across_chats(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    # Telegram tolerates a burst of 2 here, then 10/s: only paced sends get through.
    telegram.flood.configure(per_chat_rate=None, global_rate=10.0, global_burst=2.0)
    persons = await people(telegram, 12)
    for person in persons:
        await enqueue(session_factory, person.chat_id, text_notice("Статус"), key=str(person.id))

    rate = 8.0
    policy = replace(FAST, rate=rate)
    async with running_sender(session_factory, telegram, okdesk, policy=policy) as (_, sent):
        await eventually(lambda: all_sent(session_factory, 12), what="12 messages sent")

    assert telegram.stats.too_many_requests == 0
    starts = sorted(record.started for record in sent.records)
    busiest_second = max(sum(start <= later < start + 1.0 for later in starts) for start in starts)
    assert busiest_second <= rate + 1
    assert (
        (len(starts) - 1) / rate * 0.98 <= starts[-1] - starts[0] <= (len(starts) - 1) / rate * 1.5
    )


async def test_a_429_storm_pauses_all_sending_and_delivers_each_message_once(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    persons = await people(telegram, 6)
    telegram.faults.flood_next(2, retry_after=1, methods=["sendMessage"])
    for person in persons:
        await enqueue(session_factory, person.chat_id, text_notice("Статус"), key=str(person.id))

    async with running_sender(session_factory, telegram, okdesk) as (worker, sent):
        await eventually(lambda: all_sent(session_factory, 6), what="6 messages sent")

    for person in persons:
        assert texts_in(telegram, person.chat_id) == ["Статус"]
    assert telegram.stats.too_many_requests == 2
    assert worker.stats.flood_waits == 2
    pauses = [record.ended for record in sent.records if isinstance(record.outcome, FloodWait)]
    for pause_start in pauses:
        during = [r for r in sent.records if pause_start < r.started < pause_start + 0.95]
        assert during == [], "a message went out while Telegram asked to wait"


class ScriptedNotifier:
    """Answers with the scripted outcomes first, then `Sent`."""

    def __init__(self, *outcomes: SendOutcome) -> None:
        self._outcomes = list(outcomes)
        self.calls = 0

    async def send(self, chat_id: int, payload: Mapping[str, Any]) -> SendOutcome:
        self.calls += 1
        return self._outcomes.pop(0) if self._outcomes else Sent()


async def test_waiting_out_429s_spends_no_delivery_attempt(session_factory: Sessions) -> None:
    notifier = ScriptedNotifier(*[FloodWait(0.02)] * 5)
    await enqueue(session_factory, 1, text_notice("Статус"), key="only")

    worker = OutboxWorker(session_factory, notifier, policy=replace(FAST, max_attempts=1))
    async with running_workers([worker]):
        await eventually(lambda: all_sent(session_factory, 1), what="the message sent")

    assert notifier.calls == 6
    [row] = await outbox(session_factory)
    assert row.attempts == 1


async def test_a_429_pause_longer_than_the_lease_gives_the_message_back(
    session_factory: Sessions,
) -> None:
    notifier = ScriptedNotifier(FloodWait(100.0))
    await enqueue(session_factory, 1, text_notice("Статус"), key="only")

    async def given_back() -> bool:
        [row] = await outbox(session_factory)
        return row.status is OutboxStatus.PENDING and row.last_error is not None

    policy = replace(FAST, lease=timedelta(seconds=1))
    worker = OutboxWorker(session_factory, notifier, policy=policy)
    async with running_workers([worker]):
        await eventually(given_back, what="the message given back")

    [row] = await outbox(session_factory)
    assert row.locked_until is None
    assert row.next_attempt_at - utcnow() > timedelta(seconds=90)
    assert notifier.calls == 1


async def test_server_errors_are_retried_until_delivered_without_duplicates(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    [person] = await people(telegram, 1)
    telegram.faults.fail_next(4, status=502, methods=["sendMessage"])
    for n in range(2):
        await enqueue(session_factory, person.chat_id, text_notice(f"№{n}"), key=str(n))

    async with running_sender(session_factory, telegram, okdesk) as (worker, _):
        await eventually(lambda: all_sent(session_factory, 2), what="2 messages sent")

    assert texts_in(telegram, person.chat_id) == ["№0", "№1"]
    assert worker.stats.retried == 4
    first, second = await outbox(session_factory)
    assert (first.attempts, second.attempts) == (5, 1)


async def test_a_timed_out_send_is_retried_so_the_message_arrives_at_least_once(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    [person] = await people(telegram, 1)
    telegram.faults.timeout_next(1, delay=1.5, methods=["sendMessage"])
    await enqueue(session_factory, person.chat_id, text_notice("Статус"), key="only")

    async with running_sender(session_factory, telegram, okdesk, message_timeout=1):
        await eventually(lambda: all_sent(session_factory, 1), what="the message sent")

    # The timed-out request may still have been carried out: a duplicate, never a loss.
    assert texts_in(telegram, person.chat_id) in (["Статус"], ["Статус", "Статус"])
    [row] = await outbox(session_factory)
    assert row.attempts == 2


async def test_messages_wait_out_a_telegram_outage_and_arrive_in_order(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    [person] = await people(telegram, 1)
    port = int(telegram.base_url.rsplit(":", 1)[1])
    policy = replace(FAST, max_attempts=50)
    async with running_sender(session_factory, telegram, okdesk, policy=policy) as (worker, _):
        await telegram.stop()  # connection refused from now on
        for n in range(3):
            await enqueue(session_factory, person.chat_id, text_notice(f"№{n}"), key=str(n))

        async def failing() -> bool:
            return worker.stats.retried >= 3

        await eventually(failing, what="sends failing while Telegram is away")
        await telegram.start(port=port)
        await eventually(lambda: all_sent(session_factory, 3), what="3 messages sent")

    assert texts_in(telegram, person.chat_id) == ["№0", "№1", "№2"]
    assert (await outbox(session_factory))[0].last_error is not None


async def test_a_blocked_chat_is_parked_not_retried_and_released_in_order(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    blocker, other = await people(telegram, 2)
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(blocker.id, chat_id=blocker.chat_id)
        await uow.commit()
    telegram.faults.block_chat(blocker.chat_id)
    for n in range(2):
        await enqueue(session_factory, blocker.chat_id, text_notice(f"№{n}"), key=f"b{n}")
    await enqueue(session_factory, other.chat_id, text_notice("Другому"), key="other")

    async def parked() -> bool:
        rows = await outbox(session_factory)
        return [row.status for row in rows] == [OutboxStatus.PARKED] * 2 + [OutboxStatus.SENT]

    async with running_sender(session_factory, telegram, okdesk) as (worker, _):
        await eventually(parked, what="the blocked chat parked")
        await asyncio.sleep(0.3)  # several polls: nothing knocks on the closed door again
        assert len([c for c in telegram.calls("sendMessage") if c.status == 403]) == 1
        async with UnitOfWork(session_factory) as uow:
            user = await uow.users.get_by_telegram_id(blocker.id)
            assert user is not None
            assert user.unreachable_since is not None

        telegram.faults.allow_chat(blocker.chat_id)  # the person unblocks the bot
        async with UnitOfWork(session_factory) as uow:
            assert await release_unblocked_chat(uow, blocker.chat_id, now=utcnow()) == 2
            await uow.commit()
        await eventually(lambda: all_sent(session_factory, 3), what="the parked messages sent")

    assert texts_in(telegram, blocker.chat_id) == ["№0", "№1"]
    assert texts_in(telegram, other.chat_id) == ["Другому"]
    assert worker.stats.parked == 1


async def test_a_message_telegram_rejects_is_a_dead_letter_with_the_reason(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    await enqueue(session_factory, 42, text_notice("Никому"), key="nobody")

    async def dead() -> bool:
        rows = await outbox(session_factory)
        return [row.status for row in rows] == [OutboxStatus.DEAD]

    async with running_sender(session_factory, telegram, okdesk) as (worker, _):
        await eventually(dead, what="a dead letter")

    [row] = await outbox(session_factory)
    assert row.last_error == "Telegram: Bad Request: chat not found"
    assert row.attempts == 1
    assert worker.stats.dead == 1


async def test_a_chat_whose_head_is_dead_gets_its_next_messages(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    [person] = await people(telegram, 1)
    await enqueue(session_factory, person.chat_id, {"method": "sendMessage"}, key="broken")
    await enqueue(session_factory, person.chat_id, text_notice("Следующее"), key="next")

    async def settled() -> bool:
        rows = await outbox(session_factory)
        return [row.status for row in rows] == [OutboxStatus.DEAD, OutboxStatus.SENT]

    async with running_sender(session_factory, telegram, okdesk):
        await eventually(settled, what="dead head, next sent")

    assert texts_in(telegram, person.chat_id) == ["Следующее"]


async def test_stopping_gives_back_the_messages_still_waiting_for_their_turn(
    session_factory: Sessions, telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> None:
    persons = await people(telegram, 3)
    for person in persons:
        await enqueue(session_factory, person.chat_id, text_notice("Статус"), key=str(person.id))

    slow = replace(FAST, rate=1.0)
    started = time.monotonic()
    async with running_sender(session_factory, telegram, okdesk, policy=slow):
        await eventually(lambda: all_sent_count(session_factory, 1), what="the first sent")
    assert time.monotonic() - started < 1.5, "the stop did not wait for the next slots"

    rows = await outbox(session_factory)
    assert sorted(row.status for row in rows) == [
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
        OutboxStatus.SENT,
    ]
    assert all(row.locked_until is None for row in rows)


async def all_sent_count(sessions: Sessions, count: int) -> bool:
    return sum(row.status is OutboxStatus.SENT for row in await outbox(sessions)) >= count

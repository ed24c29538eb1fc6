from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.models import OutboxMessage, OutboxStatus
from okdesk_bot.db.repositories import OutboxStats
from okdesk_bot.db.uow import UnitOfWork

LEASE = timedelta(minutes=1)
BIG_CHAT = 9_000_000_000_000
OTHER_CHAT = 42


async def _enqueue(uow: UnitOfWork, key: str, chat_id: int, now: datetime) -> bool:
    return await uow.outbox.enqueue(
        dedup_key=key,
        chat_id=chat_id,
        payload={
            "method": "sendMessage",
            "params": {"text": f"<b>{key}</b>", "parse_mode": "HTML"},
        },
        now=now,
        okdesk_issue_id=8_000_000_001,
    )


def _keys(messages: list[OutboxMessage]) -> list[str]:
    return [message.dedup_key for message in messages]


async def test_enqueue_is_idempotent_and_keeps_the_payload(uow: UnitOfWork, now: datetime) -> None:
    assert await _enqueue(uow, "status:1:opened", BIG_CHAT, now)
    assert not await _enqueue(uow, "status:1:opened", BIG_CHAT, now)

    [message] = await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)

    assert message.chat_id == BIG_CHAT
    assert message.payload == {
        "method": "sendMessage",
        "params": {"text": "<b>status:1:opened</b>", "parse_mode": "HTML"},
    }
    assert (message.status, message.attempts) == (OutboxStatus.SENDING, 1)
    assert message.locked_until == now + LEASE


async def test_a_chat_receives_its_messages_in_order(uow: UnitOfWork, now: datetime) -> None:
    await _enqueue(uow, "big-1", BIG_CHAT, now)
    await _enqueue(uow, "big-2", BIG_CHAT, now)
    await _enqueue(uow, "other-1", OTHER_CHAT, now)

    big_1, other_1 = await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)
    assert _keys([big_1, other_1]) == ["big-1", "other-1"]
    assert await uow.outbox.claim_due(limit=10, now=now, lease=LEASE) == [], "big-1 in flight"

    await uow.outbox.mark_sent(other_1.id, now=now)
    await uow.outbox.mark_retry(big_1.id, next_attempt_at=now + LEASE, error="timeout")
    assert await uow.outbox.claim_due(limit=10, now=now, lease=LEASE) == [], "big-1 waits"

    [retried] = await uow.outbox.claim_due(limit=10, now=now + LEASE, lease=LEASE)
    assert (retried.dedup_key, retried.attempts) == ("big-1", 2)
    await uow.outbox.mark_sent(retried.id, now=now + LEASE)
    assert _keys(await uow.outbox.claim_due(limit=10, now=now + LEASE, lease=LEASE)) == ["big-2"]


async def test_expired_lease_is_claimed_again(uow: UnitOfWork, now: datetime) -> None:
    await _enqueue(uow, "m", BIG_CHAT, now)
    [claimed] = await uow.outbox.claim_due(limit=1, now=now, lease=LEASE)

    assert await uow.outbox.claim_due(limit=1, now=now + LEASE / 2, lease=LEASE) == []
    [reclaimed] = await uow.outbox.claim_due(limit=1, now=now + LEASE, lease=LEASE)
    assert (reclaimed.id, reclaimed.attempts) == (claimed.id, 2)


async def test_two_workers_never_claim_the_same_message(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    async with UnitOfWork(session_factory) as uow:
        for chat_id in range(1, 41):
            await _enqueue(uow, f"m{chat_id}", chat_id, now)
        await uow.commit()
    barrier = asyncio.Barrier(2)

    async def worker() -> list[int]:
        async with UnitOfWork(session_factory) as uow:
            await barrier.wait()
            claimed = await uow.outbox.claim_due(limit=30, now=now, lease=LEASE)
            await uow.commit()
            return [message.id for message in claimed]

    first, second = await asyncio.gather(worker(), worker())

    assert not set(first) & set(second)
    assert len(first) + len(second) == 40


async def test_parked_chat_is_held_until_unparked(uow: UnitOfWork, now: datetime) -> None:
    await _enqueue(uow, "big-1", BIG_CHAT, now)
    await _enqueue(uow, "big-2", BIG_CHAT, now)
    [big_1] = await uow.outbox.claim_due(limit=1, now=now, lease=LEASE)

    assert await uow.outbox.park_chat(BIG_CHAT, reason="Forbidden: bot was blocked") == 2
    await _enqueue(uow, "big-3", BIG_CHAT, now)
    await _enqueue(uow, "other-1", OTHER_CHAT, now)
    [other_1] = await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)
    assert other_1.dedup_key == "other-1"
    await uow.outbox.mark_sent(other_1.id, now=now)
    assert (await uow.outbox.stats(now=now)).parked == 2

    later = now + timedelta(hours=1)
    assert await uow.outbox.unpark_chat(BIG_CHAT, now=later) == 2
    [resent] = await uow.outbox.claim_due(limit=10, now=later, lease=LEASE)
    assert resent.id == big_1.id


async def test_dead_letters_are_listed_and_retried(uow: UnitOfWork, now: datetime) -> None:
    await _enqueue(uow, "big-1", BIG_CHAT, now)
    await _enqueue(uow, "big-2", BIG_CHAT, now)
    await _enqueue(uow, "other-1", OTHER_CHAT, now)
    big_1, other_1 = await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)
    await uow.outbox.mark_dead(big_1.id, reason="message is too long")
    await uow.outbox.mark_dead(other_1.id, reason="chat not found")

    dead = await uow.outbox.list_dead()
    assert [(message.dedup_key, message.last_error) for message in dead] == [
        ("big-1", "message is too long"),
        ("other-1", "chat not found"),
    ]
    assert _keys(await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)) == ["big-2"], (
        "a dead letter does not block its chat"
    )

    assert await uow.outbox.retry_dead(now=now, message_ids=[other_1.id]) == 1
    [retried] = await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)
    assert (retried.id, retried.attempts) == (other_1.id, 1)
    assert _keys(await uow.outbox.list_dead()) == ["big-1"]
    assert await uow.outbox.retry_dead(now=now) == 1
    assert await uow.outbox.list_dead() == []


async def test_stats_report_depth_dead_and_age(uow: UnitOfWork, now: datetime) -> None:
    await _enqueue(uow, "old", BIG_CHAT, now - timedelta(minutes=10))
    await _enqueue(uow, "in-flight", OTHER_CHAT, now - timedelta(minutes=1))
    await _enqueue(uow, "sent", 7, now)
    await _enqueue(uow, "dead", 8, now)
    claimed = await uow.outbox.claim_due(limit=10, now=now, lease=LEASE)
    by_key = {message.dedup_key: message.id for message in claimed}
    await uow.outbox.mark_retry(by_key["old"], next_attempt_at=now, error="5xx")
    await uow.outbox.mark_sent(by_key["sent"], now=now)
    await uow.outbox.mark_dead(by_key["dead"], reason="400")

    assert await uow.outbox.stats(now=now) == OutboxStats(
        depth=2, parked=0, dead=1, oldest_pending_age=timedelta(minutes=10)
    )

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from okdesk_bot.db.models import InboxStatus
from okdesk_bot.db.repositories import InboxStats
from okdesk_bot.db.uow import UnitOfWork

LEASE = timedelta(minutes=1)


async def _add(
    uow: UnitOfWork, key: str, now: datetime, issue_id: int | None = 8_000_000_001
) -> bool:
    return await uow.inbox.add(
        dedup_key=key,
        event_type="new_ticket_status",
        payload={"event": {"event_type": "new_ticket_status"}, "issue": {"id": str(issue_id)}},
        received_at=now,
        okdesk_issue_id=issue_id,
    )


async def test_same_webhook_twice_is_recorded_once(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    async with UnitOfWork(session_factory) as uow:
        assert await _add(uow, "new_ticket_status:1:opened", now)
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        assert not await _add(uow, "new_ticket_status:1:opened", now)
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        stats = await uow.inbox.stats(now=now)

    assert stats == InboxStats(pending=1, failed=0, oldest_pending_age=timedelta(0))


async def test_concurrent_deliveries_of_one_webhook_record_it_once(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    barrier = asyncio.Barrier(2)

    async def deliver() -> bool:
        async with UnitOfWork(session_factory) as uow:
            await barrier.wait()
            added = await _add(uow, "new_comment:1:77", now)
            await uow.commit()
            return added

    results = await asyncio.gather(deliver(), deliver())
    async with UnitOfWork(session_factory) as uow:
        claimed = await uow.inbox.claim_due(limit=10, now=now, lease=LEASE)

    assert sorted(results) == [False, True]
    assert [event.dedup_key for event in claimed] == ["new_comment:1:77"]


async def test_events_about_one_issue_are_processed_in_order(
    uow: UnitOfWork, now: datetime
) -> None:
    await _add(uow, "a1", now, issue_id=1)
    await _add(uow, "a2", now, issue_id=1)
    await _add(uow, "b1", now, issue_id=2)
    await _add(uow, "x1", now, issue_id=None)
    await _add(uow, "x2", now, issue_id=None)

    first = await uow.inbox.claim_due(limit=10, now=now, lease=LEASE)
    assert [event.dedup_key for event in first] == ["a1", "b1", "x1", "x2"]
    assert all(event.status is InboxStatus.PROCESSING for event in first)
    assert all(event.attempts == 1 for event in first)
    assert await uow.inbox.claim_due(limit=10, now=now, lease=LEASE) == []

    a1 = first[0]
    await uow.inbox.mark_done(a1.id, now=now)
    second = await uow.inbox.claim_due(limit=10, now=now, lease=LEASE)
    assert [event.dedup_key for event in second] == ["a2"]


async def test_retry_waits_and_failure_releases_the_issue(uow: UnitOfWork, now: datetime) -> None:
    await _add(uow, "a1", now, issue_id=1)
    await _add(uow, "a2", now, issue_id=1)
    [a1] = await uow.inbox.claim_due(limit=1, now=now, lease=LEASE)

    later = now + timedelta(seconds=30)
    await uow.inbox.mark_retry(a1.id, next_attempt_at=later, error="Okdesk timeout")
    assert await uow.inbox.claim_due(limit=10, now=now, lease=LEASE) == []
    [retried] = await uow.inbox.claim_due(limit=10, now=later, lease=LEASE)
    assert (retried.id, retried.attempts, retried.last_error) == (a1.id, 2, "Okdesk timeout")

    await uow.inbox.mark_failed(a1.id, now=later, error="gave up")
    [a2] = await uow.inbox.claim_due(limit=10, now=later, lease=LEASE)
    assert a2.dedup_key == "a2"
    await uow.inbox.mark_ignored(a2.id, now=later)

    assert await uow.inbox.stats(now=later) == InboxStats(
        pending=0, failed=1, oldest_pending_age=None
    )


async def test_expired_lease_is_claimed_again(uow: UnitOfWork, now: datetime) -> None:
    await _add(uow, "a1", now)
    [claimed] = await uow.inbox.claim_due(limit=1, now=now, lease=LEASE)

    assert await uow.inbox.claim_due(limit=1, now=now + LEASE / 2, lease=LEASE) == []
    [reclaimed] = await uow.inbox.claim_due(limit=1, now=now + LEASE, lease=LEASE)
    assert (reclaimed.id, reclaimed.attempts) == (claimed.id, 2)


async def test_stats_report_the_backlog(uow: UnitOfWork, now: datetime) -> None:
    await _add(uow, "old", now - timedelta(minutes=5), issue_id=1)
    await _add(uow, "new", now, issue_id=2)
    await uow.inbox.claim_due(limit=1, now=now, lease=LEASE)

    assert await uow.inbox.stats(now=now) == InboxStats(
        pending=2, failed=0, oldest_pending_age=timedelta(minutes=5)
    )


async def test_claiming_from_an_idle_queue_writes_nothing(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    async with UnitOfWork(session_factory) as uow:  # one event, already leased
        await _add(uow, "new_comment:1:1", now)
        [leased] = await uow.inbox.claim_due(limit=1, now=now, lease=LEASE)
        await uow.commit()
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with UnitOfWork(session_factory) as uow:
            assert await uow.inbox.claim_due(limit=5, now=now, lease=LEASE) == []
            await uow.commit()
        assert statements == ["SELECT"]  # the workers poll an idle queue without writing

        async with UnitOfWork(session_factory) as uow:  # its worker died: the lease expires
            [again] = await uow.inbox.claim_due(limit=5, now=now + 2 * LEASE, lease=LEASE)
            await uow.commit()
    finally:
        sqlalchemy_event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert again.id == leased.id
    assert again.attempts == 2

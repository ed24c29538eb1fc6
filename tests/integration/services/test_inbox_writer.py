"""Group commit of webhooks: shared transactions, per-request outcomes, isolated failures."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.repositories import NewInboxEvent
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.services.inbox_writer import InboxWriter


def _entry(key: str, now: datetime, payload: dict[str, object] | None = None) -> NewInboxEvent:
    return NewInboxEvent(
        dedup_key=key,
        event_type="new_ticket_status",
        payload={"event": {"event_type": "new_ticket_status"}} if payload is None else payload,
        received_at=now,
        okdesk_issue_id=7,
    )


async def test_webhooks_arriving_together_are_committed_in_one_transaction(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    writer = InboxWriter(session_factory)
    keys = [f"status:{number}" for number in range(50)]

    results = await asyncio.gather(*(writer.record(_entry(key, now)) for key in keys))

    assert results == [True] * 50
    assert writer.flushes == 1
    async with UnitOfWork(session_factory) as uow:
        assert (await uow.inbox.stats(now=now)).pending == 50


async def test_a_lone_webhook_is_committed_without_waiting_for_company(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    writer = InboxWriter(session_factory)

    assert await asyncio.wait_for(writer.record(_entry("status:1", now)), timeout=5)
    assert await asyncio.wait_for(writer.record(_entry("status:2", now)), timeout=5)
    assert writer.flushes == 2


async def test_duplicates_are_told_apart_within_a_batch_and_across_batches(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    writer = InboxWriter(session_factory)
    assert await writer.record(_entry("comment:1", now))

    results = await asyncio.gather(
        writer.record(_entry("comment:1", now)),  # recorded before
        writer.record(_entry("comment:2", now)),
        writer.record(_entry("comment:2", now)),  # the same redelivery, in the same batch
    )

    assert list(results) == [False, True, False]


async def test_one_unstorable_event_fails_alone(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    writer = InboxWriter(session_factory)
    bad = _entry("status:bad", now, payload={"not json": object()})

    results = await asyncio.gather(
        writer.record(_entry("status:1", now)),
        writer.record(bad),
        writer.record(_entry("status:2", now)),
        return_exceptions=True,
    )

    assert results[0] is True
    assert results[2] is True
    assert isinstance(results[1], Exception)
    async with UnitOfWork(session_factory) as uow:
        assert (await uow.inbox.stats(now=now)).pending == 2


async def test_an_unavailable_database_fails_every_waiting_webhook(
    tmp_path: Path, now: datetime
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")  # no inbox table
    writer = InboxWriter(create_session_factory(engine))
    try:
        results = await asyncio.gather(
            *(writer.record(_entry(f"status:{number}", now)) for number in range(3)),
            return_exceptions=True,
        )
    finally:
        await engine.dispose()

    assert all(isinstance(result, OperationalError) for result in results)
    assert writer.flushes == 0


async def test_a_webhook_whose_wait_is_cancelled_is_still_recorded(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    writer = InboxWriter(session_factory)
    waiting = asyncio.ensure_future(writer.record(_entry("status:1", now)))
    await asyncio.sleep(0)  # queued, and the flush has started
    waiting.cancel()

    await writer.close()

    assert waiting.cancelled()
    assert await writer.record(_entry("status:1", now)) is False  # a redelivery: a duplicate


def test_the_batch_limit_must_fit_one_statement(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(ValueError, match="batch_limit"):
        InboxWriter(session_factory, batch_limit=10_000)

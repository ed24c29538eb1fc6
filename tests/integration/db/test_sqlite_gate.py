"""SQLite writers of one process queue for the write lock, first come first served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from okdesk_bot.db.engine import create_engine
from okdesk_bot.db.migrate import upgrade_async
from okdesk_bot.db.sqlite_gate import WriteGate

CREATE = "CREATE TABLE notes (id INTEGER PRIMARY KEY, author TEXT NOT NULL)"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The service's engine on a new SQLite file, with one table to write to."""
    engine = create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    async with engine.begin() as connection:
        await connection.execute(text(CREATE))
    yield engine
    await engine.dispose()


async def _insert(engine: AsyncEngine, author: str, *, hold: asyncio.Event | None = None) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (author) VALUES (:a)"), {"a": author})
        if hold is not None:
            await hold.wait()


async def _authors(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT author FROM notes ORDER BY id"))
    return [author for (author,) in rows]


async def test_writers_take_turns_in_the_order_they_came(engine: AsyncEngine) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(_insert(engine, "first", hold=release))
    await asyncio.sleep(0.2)  # "first" holds the write turn
    waiting = []
    for number in range(8):
        waiting.append(asyncio.create_task(_insert(engine, f"writer {number}")))
        await asyncio.sleep(0.05)  # each one queued before the next comes

    release.set()
    await asyncio.gather(holder, *waiting)

    assert await _authors(engine) == ["first", *(f"writer {number}" for number in range(8))]


async def test_reads_do_not_wait_for_a_writer(engine: AsyncEngine) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(_insert(engine, "slow writer", hold=release))
    await asyncio.sleep(0.2)
    try:
        async with asyncio.timeout(2):
            assert await _authors(engine) == []  # the uncommitted row is not seen
    finally:
        release.set()
        await holder
    assert await _authors(engine) == ["slow writer"]


async def test_a_failed_transaction_gives_the_turn_back(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO notes (id, author) VALUES (1, 'a')"))
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO notes (id, author) VALUES (1, 'b')"))

    async with asyncio.timeout(2):
        await _insert(engine, "next")
    assert await _authors(engine) == ["next"]


async def test_a_writer_that_cannot_get_a_turn_in_time_fails_as_locked(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'short.db'}")
    WriteGate(timeout=0.3).install(engine)
    async with engine.begin() as connection:
        await connection.execute(text(CREATE))
    release = asyncio.Event()
    holder = asyncio.create_task(_insert(engine, "holder", hold=release))
    await asyncio.sleep(0.2)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with asyncio.timeout(3):
                await _insert(engine, "impatient")
    finally:
        release.set()
        await holder
        await engine.dispose()


async def test_the_service_engine_serves_many_concurrent_writers_on_a_file(
    tmp_path: Path, now: datetime
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(_note_webhook(engine, number, now) for number in range(200)))
        async with engine.connect() as connection:
            count = await connection.scalar(text("SELECT count(*) FROM inbox_events"))
    finally:
        await engine.dispose()
    assert count == 200


async def _note_webhook(engine: AsyncEngine, number: int, now: datetime) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO inbox_events (dedup_key, event_type, payload, received_at, status,"
                " attempts, next_attempt_at) VALUES (:k, 'x', '{}', :t, 'pending', 0, :t)"
            ),
            {"k": f"key:{number}", "t": now},
        )

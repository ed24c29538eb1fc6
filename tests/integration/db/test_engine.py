from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from okdesk_bot.db.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine
from okdesk_bot.db.uow import UnitOfWork


async def _pragmas(engine: AsyncEngine, *names: str) -> dict[str, object]:
    async with engine.connect() as connection:
        return {name: await connection.scalar(text(f"PRAGMA {name}")) for name in names}


async def test_sqlite_file_connections_use_wal_foreign_keys_and_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        pragmas = await _pragmas(
            engine, "journal_mode", "foreign_keys", "busy_timeout", "synchronous"
        )
    finally:
        await engine.dispose()

    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "synchronous": 1,  # NORMAL
    }


async def test_in_memory_sqlite_works_without_wal() -> None:
    engine = create_engine("sqlite://")
    try:
        pragmas = await _pragmas(engine, "journal_mode", "foreign_keys")
    finally:
        await engine.dispose()

    assert pragmas == {"journal_mode": "memory", "foreign_keys": 1}


async def test_foreign_keys_are_enforced(uow: UnitOfWork) -> None:
    with pytest.raises(IntegrityError):
        await uow.tickets.create_draft(
            user_id=424242, dedup_key="1:1", title="Printer is on fire", payload={}
        )

"""Database fixtures: every test using `database_url` runs on SQLite and on PostgreSQL.

PostgreSQL: one fresh, uniquely named database per test session, created through the server at
`TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`) and dropped at the
end; each test starts from an empty `public` schema. When the server is unreachable the
PostgreSQL variants are skipped, or fail when `CI` is set.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_raw_async_engine
from sqlalchemy.pool import NullPool

from okdesk_bot.db.engine import create_engine, create_session_factory, to_async_url
from okdesk_bot.db.migrate import upgrade_async
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import TelegramEmulator
from tests.support import BOT_TOKEN, OKDESK_TOKEN

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _admin_engine(server_url: str) -> AsyncEngine:
    """A connection outside transactions (CREATE/DROP DATABASE refuse to run inside one)."""
    return create_raw_async_engine(
        to_async_url(server_url),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"timeout": 5},
    )


async def _execute(server_url: str, *statements: str) -> None:
    engine = _admin_engine(server_url)
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    server_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"okdesk_bot_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_execute(server_url, f'CREATE DATABASE "{name}"'))
    except (OSError, OperationalError, TimeoutError) as error:
        reason = f"PostgreSQL at TEST_POSTGRES_URL is unreachable: {type(error).__name__}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn: a new SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def empty_database_url(backend_url: str) -> str:
    """A database with nothing in it."""
    if make_url(backend_url).get_backend_name() == "postgresql":
        await _execute(backend_url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
    return backend_url


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """A database migrated to the newest revision."""
    await upgrade_async(empty_database_url)
    return empty_database_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def uow(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[UnitOfWork]:
    """An open unit of work, for tests that need only one session."""
    async with UnitOfWork(session_factory) as unit:
        yield unit


@pytest.fixture
def now() -> datetime:
    return datetime(2030, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)


@pytest.fixture
async def okdesk() -> AsyncIterator[OkdeskEmulator]:
    """The Okdesk emulator with its bundled seed data, serving on a free port."""
    emulator = OkdeskEmulator(api_token=OKDESK_TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    """The Telegram emulator, flood limits off (tests that need them turn them on)."""
    emulator = TelegramEmulator(tokens=[BOT_TOKEN], per_chat_rate=None, global_rate=None)
    await emulator.start()
    yield emulator
    await emulator.stop()

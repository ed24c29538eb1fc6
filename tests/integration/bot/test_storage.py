"""Dialog state survives a restart: stored in the database, or in Redis when configured."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from okdesk_bot.bot.storage import DatabaseStorage, create_dialog_backend
from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.models import FsmState

REDIS_URL = "redis://127.0.0.1:6379/0"


class Registration(StatesGroup):
    phone = State()


def key(user_id: int = 9_000_000_000_001) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=user_id, user_id=user_id)


async def test_state_and_data_survive_a_new_engine(database_url: str, engine: AsyncEngine) -> None:
    storage = create_dialog_backend(create_session_factory(engine), None).storage
    assert isinstance(storage, DatabaseStorage)
    await storage.set_state(key(), Registration.phone)
    await storage.set_data(key(), {"full_name": "Иванов Иван", "kind": "individual"})

    restarted = create_engine(database_url)  # a new process would build a new engine
    try:
        again = DatabaseStorage(create_session_factory(restarted))
        assert await again.get_state(key()) == Registration.phone.state
        assert await again.get_data(key()) == {"full_name": "Иванов Иван", "kind": "individual"}
        assert await again.get_state(key(user_id=1)) is None
        assert await again.get_data(key(user_id=1)) == {}
    finally:
        await restarted.dispose()


async def test_clearing_keeps_users_apart(engine: AsyncEngine) -> None:
    storage = DatabaseStorage(create_session_factory(engine))
    await storage.set_state(key(1), Registration.phone)
    await storage.set_state(key(2), Registration.phone)
    await storage.set_state(key(1), None)
    await storage.set_data(key(1), {})
    assert await storage.get_state(key(1)) is None
    assert await storage.get_state(key(2)) == Registration.phone.state
    await storage.update_data(key(2), {"step": 2})
    assert await storage.get_data(key(2)) == {"step": 2}


async def test_setting_what_is_already_stored_writes_nothing(engine: AsyncEngine) -> None:
    storage = DatabaseStorage(create_session_factory(engine))
    await storage.set_state(key(3), None)  # clearing a dialog that is not there
    await storage.set_data(key(3), {})
    assert await _stored_keys(engine) == []

    await storage.set_state(key(3), Registration.phone)
    await storage.set_data(key(3), {"step": 1})
    written = await _updated_at(engine)
    await storage.set_state(key(3), Registration.phone)
    await storage.set_data(key(3), {"step": 1})
    assert await _updated_at(engine) == written
    assert await storage.get_state(key(3)) == Registration.phone.state


async def _stored_keys(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(await connection.scalars(select(FsmState.key)))


async def _updated_at(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as connection:
        return list(await connection.scalars(select(FsmState.updated_at)))


@pytest.fixture
async def redis_storage(engine: AsyncEngine) -> AsyncIterator[BaseStorage]:
    backend = create_dialog_backend(create_session_factory(engine), REDIS_URL)
    yield backend.storage
    await backend.close()


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
async def test_redis_is_used_when_configured(
    redis_storage: BaseStorage, engine: AsyncEngine
) -> None:
    assert isinstance(redis_storage, RedisStorage)
    user = key(int(uuid.uuid4().int % 10**12))
    await redis_storage.set_state(user, Registration.phone)
    await redis_storage.set_data(user, {"a": 1})
    again = create_dialog_backend(create_session_factory(engine), REDIS_URL).storage
    try:
        assert await again.get_state(user) == Registration.phone.state
        assert await again.get_data(user) == {"a": 1}
    finally:
        await redis_storage.set_state(user, None)
        await redis_storage.set_data(user, {})
        await again.close()

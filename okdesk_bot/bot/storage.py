"""Where dialog state lives: the database by default, Redis when `REDIS_URL` is set.

Either way a user who is halfway through a dialog continues after the bot restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.uow import UnitOfWork


class DatabaseStorage(BaseStorage):
    """aiogram FSM storage in the `fsm_states` table, one short transaction per call."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with UnitOfWork(self._sessions) as uow:
            await uow.fsm.set_state(self._keys.build(key), value)
            await uow.commit()

    async def get_state(self, key: StorageKey) -> str | None:
        async with UnitOfWork(self._sessions) as uow:
            row = await uow.fsm.get(self._keys.build(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with UnitOfWork(self._sessions) as uow:
            await uow.fsm.set_data(self._keys.build(key), data)
            await uow.commit()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with UnitOfWork(self._sessions) as uow:
            row = await uow.fsm.get(self._keys.build(key))
            return dict(row.data) if row and row.data else {}

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""


def create_storage(
    sessions: async_sessionmaker[AsyncSession], redis_url: str | None
) -> BaseStorage:
    if redis_url:
        return RedisStorage.from_url(
            redis_url, key_builder=DefaultKeyBuilder(prefix="okdesk_bot", with_destiny=True)
        )
    return DatabaseStorage(sessions)

"""Where dialog state lives: the database by default, Redis when `REDIS_URL` is set.

Either way a user who is halfway through a dialog continues after the bot restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.uow import UnitOfWork


class DatabaseStorage(BaseStorage):
    """aiogram FSM storage in the `fsm_states` table, one short transaction per call.

    A write that would change nothing is skipped after a read: reads cost no turn at SQLite's
    single write lock, and menu navigation clears (state and data) a dialog that usually is not
    there, two writes per update that queued behind every other writer.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        storage_key = self._keys.build(key)
        async with UnitOfWork(self._sessions) as uow:
            row = await uow.fsm.get(storage_key)
            if (row.state if row else None) == value:
                return  # unchanged (`/menu` clears a dialog that usually is not there)
            await uow.fsm.set_state(storage_key, value)
            await uow.commit()

    async def get_state(self, key: StorageKey) -> str | None:
        async with UnitOfWork(self._sessions) as uow:
            row = await uow.fsm.get(self._keys.build(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        storage_key = self._keys.build(key)
        async with UnitOfWork(self._sessions) as uow:
            row = await uow.fsm.get(storage_key)
            if (dict(row.data) if row and row.data else {}) == dict(data):
                return
            await uow.fsm.set_data(storage_key, data)
            await uow.commit()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with UnitOfWork(self._sessions) as uow:
            row = await uow.fsm.get(self._keys.build(key))
            return dict(row.data) if row and row.data else {}

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""


@dataclass(frozen=True, slots=True)
class DialogBackend:
    """Dialog state plus the per-chat lock that serialises one person's updates.

    Without the lock, two quick messages from one person are handled concurrently and race on
    the same state (two tickets from a double tap, a lost registration step).
    """

    storage: BaseStorage
    isolation: BaseEventIsolation

    async def close(self) -> None:
        await self.storage.close()
        await self.isolation.close()


def create_dialog_backend(
    sessions: async_sessionmaker[AsyncSession], redis_url: str | None
) -> DialogBackend:
    """Redis (shared by every instance) when configured, else the database and local locks."""
    if redis_url:
        keys = DefaultKeyBuilder(prefix="okdesk_bot", with_destiny=True)
        return DialogBackend(
            storage=RedisStorage.from_url(redis_url, key_builder=keys),
            isolation=RedisEventIsolation.from_url(redis_url, key_builder=keys),
        )
    return DialogBackend(storage=DatabaseStorage(sessions), isolation=SimpleEventIsolation())

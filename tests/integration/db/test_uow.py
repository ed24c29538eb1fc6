from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.uow import UnitOfWork


async def _user_exists(
    session_factory: async_sessionmaker[AsyncSession], telegram_id: int
) -> bool:
    async with UnitOfWork(session_factory) as uow:
        return await uow.users.get_by_telegram_id(telegram_id) is not None


async def test_committed_work_is_kept(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(1, chat_id=1)
        await uow.commit()

    assert await _user_exists(session_factory, 1)


async def test_work_not_committed_is_discarded_on_exit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(1, chat_id=1)
        await uow.commit()
        await uow.users.get_or_create(2, chat_id=2)

    assert await _user_exists(session_factory, 1)
    assert not await _user_exists(session_factory, 2)


async def test_an_exception_discards_the_work(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async def register_then_fail() -> None:
        async with UnitOfWork(session_factory) as uow:
            await uow.users.get_or_create(1, chat_id=1)
            raise RuntimeError("Okdesk is down")

    with pytest.raises(RuntimeError, match="Okdesk is down"):
        await register_then_fail()

    assert not await _user_exists(session_factory, 1)


async def test_rollback_discards_the_work_so_far(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(1, chat_id=1)
        await uow.rollback()
        await uow.users.get_or_create(2, chat_id=2)
        await uow.commit()

    assert not await _user_exists(session_factory, 1)
    assert await _user_exists(session_factory, 2)


async def test_a_unit_of_work_serves_one_block(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    uow = UnitOfWork(session_factory)
    with pytest.raises(RuntimeError, match="inside `async with`"):
        await uow.commit()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="already in use"):
        async with uow:
            pass

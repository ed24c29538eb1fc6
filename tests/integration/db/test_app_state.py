from __future__ import annotations

import asyncio
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.uow import UnitOfWork


async def test_set_overwrites_and_get_reads(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        assert await uow.app_state.get("reconcile.watermark") is None
        await uow.app_state.set("reconcile.watermark", "2030-01-01T00:00:00Z")
        await uow.app_state.set("reconcile.watermark", "2030-01-02T00:00:00Z")
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        assert await uow.app_state.get("reconcile.watermark") == "2030-01-02T00:00:00Z"


async def test_get_or_create_keeps_the_first_value(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        first = await uow.app_state.get_or_create("webhook_secret", lambda: "first")
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        second = await uow.app_state.get_or_create("webhook_secret", lambda: "second")

    assert (first, second) == ("first", "first")


async def test_concurrent_get_or_create_agrees_on_one_value(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    barrier = asyncio.Barrier(2)

    async def generate() -> str:
        async with UnitOfWork(session_factory) as uow:
            await barrier.wait()
            value = await uow.app_state.get_or_create("webhook_secret", secrets.token_urlsafe)
            await uow.commit()
            return value

    first, second = await asyncio.gather(generate(), generate())

    assert first == second

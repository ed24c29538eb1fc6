from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from okdesk_bot.db.models import UserKind
from okdesk_bot.db.repositories import UserNotFoundError
from okdesk_bot.db.uow import UnitOfWork

BIG_TELEGRAM_ID = 9_000_000_000_000  # beyond 32 bits, as real Telegram ids are


async def test_get_or_create_is_idempotent_and_keeps_64_bit_ids(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        created = await uow.users.get_or_create(
            BIG_TELEGRAM_ID, chat_id=BIG_TELEGRAM_ID, language_code="ru"
        )
        await uow.commit()

    async with UnitOfWork(session_factory) as uow:
        again = await uow.users.get_or_create(BIG_TELEGRAM_ID, chat_id=BIG_TELEGRAM_ID)
        found = await uow.users.get_by_telegram_id(BIG_TELEGRAM_ID)

    assert again.id == created.id
    assert found is not None
    assert (found.telegram_user_id, found.chat_id, found.language_code) == (
        BIG_TELEGRAM_ID,
        BIG_TELEGRAM_ID,
        "ru",
    )
    assert not found.is_registered


async def test_concurrent_first_contacts_create_one_user(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    barrier = asyncio.Barrier(2)

    async def first_contact() -> int:
        async with UnitOfWork(session_factory) as uow:
            await barrier.wait()
            user = await uow.users.get_or_create(BIG_TELEGRAM_ID, chat_id=BIG_TELEGRAM_ID)
            await uow.commit()
            return user.id

    first, second = await asyncio.gather(first_contact(), first_contact())

    assert first == second


async def test_unknown_user_is_none(uow: UnitOfWork) -> None:
    assert await uow.users.get_by_telegram_id(1) is None


async def test_save_binding_registers_the_user(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(BIG_TELEGRAM_ID, chat_id=BIG_TELEGRAM_ID)
        await uow.users.save_binding(
            BIG_TELEGRAM_ID,
            kind=UserKind.LEGAL,
            phone="+79161234567",
            okdesk_contact_id=8_000_000_001,
            okdesk_company_id=17,
            company_name="ООО «Ромашка»",
            full_name="Иванов Иван Иванович",
            last_name="Иванов",
            first_name="Иван",
            patronymic="Иванович",
            registered_at=now,
        )
        await uow.commit()

    async with UnitOfWork(session_factory) as uow:
        user = await uow.users.get_by_telegram_id(BIG_TELEGRAM_ID)

    assert user is not None
    assert user.is_registered
    assert user.registered_at == now
    assert user.kind is UserKind.LEGAL
    assert (user.phone, user.okdesk_contact_id, user.okdesk_company_id) == (
        "+79161234567",
        8_000_000_001,
        17,
    )
    assert (user.company_name, user.last_name, user.first_name, user.patronymic) == (
        "ООО «Ромашка»",
        "Иванов",
        "Иван",
        "Иванович",
    )
    async with engine.connect() as connection:
        stored_kind = await connection.scalar(text("SELECT kind FROM users"))
    assert stored_kind == "legal", "enums are stored as their values, readable in plain SQL"


async def test_save_binding_of_unknown_user_fails(uow: UnitOfWork, now: datetime) -> None:
    with pytest.raises(UserNotFoundError):
        await uow.users.save_binding(
            5,
            kind=UserKind.INDIVIDUAL,
            phone="+79160000000",
            okdesk_contact_id=1,
            registered_at=now,
        )


async def test_users_are_found_by_okdesk_contact(uow: UnitOfWork, now: datetime) -> None:
    for telegram_id in (101, 102, 103):
        await uow.users.get_or_create(telegram_id, chat_id=telegram_id)
    for telegram_id, contact_id in ((101, 7), (103, 7), (102, 8)):
        await uow.users.save_binding(
            telegram_id,
            kind=UserKind.INDIVIDUAL,
            phone=f"+7916000{telegram_id:04d}",
            okdesk_contact_id=contact_id,
            registered_at=now,
        )

    found = await uow.users.list_by_okdesk_contact_id(7)

    assert [user.telegram_user_id for user in found] == [101, 103]
    assert await uow.users.list_by_okdesk_contact_id(9) == []


async def test_unreachable_mark_keeps_first_time_and_clears(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(BIG_TELEGRAM_ID, chat_id=BIG_TELEGRAM_ID)
        await uow.users.mark_unreachable(BIG_TELEGRAM_ID, since=now)
        await uow.users.mark_unreachable(BIG_TELEGRAM_ID, since=now + timedelta(hours=1))
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        blocked = await uow.users.get_by_telegram_id(BIG_TELEGRAM_ID)
    async with UnitOfWork(session_factory) as uow:
        await uow.users.clear_unreachable(BIG_TELEGRAM_ID)
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        unblocked = await uow.users.get_by_telegram_id(BIG_TELEGRAM_ID)

    assert blocked is not None
    assert blocked.unreachable_since == now
    assert unblocked is not None
    assert unblocked.unreachable_since is None


async def test_timestamps_come_back_as_aware_utc(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    moscow_noon = datetime(2030, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(1, chat_id=1)
        await uow.users.mark_unreachable(1, since=moscow_noon)
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        user = await uow.users.get_by_telegram_id(1)

    assert user is not None
    assert user.unreachable_since == moscow_noon
    assert user.unreachable_since is not None
    assert user.unreachable_since.tzinfo is UTC
    assert user.created_at.tzinfo is UTC


async def test_naive_datetimes_are_rejected(uow: UnitOfWork) -> None:
    await uow.users.get_or_create(1, chat_id=1)

    with pytest.raises(StatementError, match="naive datetime"):
        await uow.users.mark_unreachable(1, since=datetime(2030, 1, 1))  # noqa: DTZ001


async def test_clearing_a_binding_unregisters_only_that_user(
    uow: UnitOfWork, now: datetime
) -> None:
    for telegram_id, contact_id in ((1, 10), (2, 10), (3, 30)):
        await uow.users.get_or_create(telegram_id, chat_id=telegram_id)
        await uow.users.save_binding(
            telegram_id,
            kind=UserKind.INDIVIDUAL,
            phone="+79990000000",
            okdesk_contact_id=contact_id,
            registered_at=now,
            last_name="Иванов",
        )
    await uow.users.get_or_create(4, chat_id=4)  # started, never registered
    assert await uow.users.list_bound_contact_ids() == {10, 30}

    await uow.users.clear_binding(3)
    await uow.commit()
    assert await uow.users.list_bound_contact_ids() == {10}
    cleared = await uow.users.get_by_telegram_id(3)
    assert cleared is not None
    assert (cleared.registered_at, cleared.okdesk_contact_id, cleared.phone) == (None, None, None)
    assert cleared.last_name is None
    kept = await uow.users.get_by_telegram_id(1)
    assert kept is not None
    assert kept.okdesk_contact_id == 10

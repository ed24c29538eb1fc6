"""Client journeys: the real service (Dispatcher, Okdesk client, database) in the test's loop.

The bot talks over real HTTP to the Telegram emulator (where `person` acts as a client) and to
the Okdesk emulator (where tests check what landed). Every journey runs on SQLite and on
PostgreSQL. Seed data (bundled with the Okdesk emulator): contact 1 Анна Смирнова
(+79991234567, company 1 «Ромашка», INN 7701234560) with ticket 1; contact 2 Алексей Сидоров
(89997654321, company 2) with ticket 2.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from okdesk_bot.app import Application, Component, running_service
from okdesk_bot.config import Settings
from okdesk_bot.db.models import UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from tests.support import BOT_TOKEN, OKDESK_TOKEN, free_port

# Telegram ids above 2**32: the schema must keep 64-bit ids.
ANNA_TELEGRAM_ID = 7_000_000_001
ALEXEY_TELEGRAM_ID = 7_000_000_002
STRANGER_TELEGRAM_ID = 7_000_000_003


@pytest.fixture
def settings(
    okdesk: OkdeskEmulator, telegram: TelegramEmulator, empty_database_url: str
) -> Settings:
    return Settings(
        _env_file=None,  # only what the test says, never a developer's .env
        bot_token=SecretStr(BOT_TOKEN),
        okdesk_api_url=okdesk.api_url,
        okdesk_api_token=SecretStr(OKDESK_TOKEN),
        telegram_api_url=telegram.base_url,
        database_url=empty_database_url,
        webhook_secret=SecretStr("journeys-webhook-secret"),
        host="127.0.0.1",
        port=free_port(),
    )


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Application]:
    """The bot half of the real service, polling the Telegram emulator."""
    async with running_service(settings, frozenset({Component.BOT})) as app:
        yield app


@pytest.fixture
def anna(telegram: TelegramEmulator) -> EmulatedUser:
    """A person who has not registered yet (Okdesk knows her as contact 1)."""
    return telegram.user(ANNA_TELEGRAM_ID, "Анна", last_name="Смирнова", language_code="ru")


@pytest.fixture
def stranger(telegram: TelegramEmulator) -> EmulatedUser:
    return telegram.user(STRANGER_TELEGRAM_ID, "Eve", language_code="en")


async def bind(
    app: Application,
    person: EmulatedUser,
    *,
    contact_id: int,
    company_id: int | None,
    phone: str,
    kind: UserKind = UserKind.INDIVIDUAL,
) -> None:
    """Store a finished registration directly (for journeys that start after it)."""
    async with UnitOfWork(app.sessions) as uow:
        await uow.users.get_or_create(person.id, chat_id=person.chat_id, language_code="ru")
        await uow.users.save_binding(
            person.id,
            kind=kind,
            phone=phone,
            okdesk_contact_id=contact_id,
            okdesk_company_id=company_id,
            registered_at=datetime.now(UTC),
        )
        await uow.commit()


@pytest.fixture
async def registered_anna(service: Application, anna: EmulatedUser) -> EmulatedUser:
    """Анна, bound to Okdesk contact 1 of company 1, as registration would leave her."""
    await bind(service, anna, contact_id=1, company_id=1, phone="+79991234567")
    return anna


@pytest.fixture
async def registered_alexey(service: Application, telegram: TelegramEmulator) -> EmulatedUser:
    """Алексей, bound to Okdesk contact 2 of company 2."""
    alexey = telegram.user(ALEXEY_TELEGRAM_ID, "Алексей", language_code="ru")
    await bind(service, alexey, contact_id=2, company_id=2, phone="+79997654321")
    return alexey

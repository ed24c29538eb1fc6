"""Nothing is lost when the service dies: a webhook answered 200 is delivered after a restart.

The service is killed with SIGKILL right after it answered Okdesk's webhook, while it still
waits for Okdesk to confirm the event (the emulator's API is made slow), so the event exists
only in the database. The restarted service takes it over once the dead one's lease expires.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.models import UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from tests.e2e.conftest import WEBHOOK_SECRET, StartService

ANNA = 7_100_000_001


async def bind_anna(database_url: str, anna: EmulatedUser) -> None:
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(create_session_factory(engine)) as uow:
            await uow.users.get_or_create(anna.id, chat_id=anna.chat_id, language_code="ru")
            await uow.users.save_binding(
                anna.id,
                kind=UserKind.INDIVIDUAL,
                phone="+79991234567",
                okdesk_contact_id=1,
                okdesk_company_id=1,
                registered_at=datetime.now(UTC),
            )
            await uow.commit()
    finally:
        await engine.dispose()


async def test_a_webhook_answered_before_a_crash_is_delivered_after_restart(
    service_env: dict[str, str],
    okdesk: OkdeskEmulator,
    telegram: TelegramEmulator,
    start_service: StartService,
) -> None:
    env = {**service_env, "NOTIFY_MODE": "webhook", "NOTIFY_LEASE": "10"}
    first = await start_service("run", env=env)
    await first.wait_healthy()
    anna = telegram.user(ANNA, "Анна")
    await anna.send_command("/help")  # she has talked to the bot, so it may write to her
    await anna.wait_for_bot_message(timeout=20)
    await bind_anna(env["DATABASE_URL"], anna)
    okdesk.set_webhook_urls([f"{env['WEBHOOK_URL']}/webhook?secret={WEBHOOK_SECRET}"])

    okdesk.faults.configure(latency=60)  # the service cannot confirm the event in time
    await okdesk.change_status(1, "completed", comment="Картридж заменён")
    (delivery,) = await okdesk.wait_for_webhooks(1, timeout=10)
    first.process.send_signal(signal.SIGKILL)  # right after the 200
    assert delivery.delivered, delivery
    await first.process.wait()
    okdesk.faults.configure(latency=0)
    assert not [m for m in anna.bot_messages() if "Решена" in (m.text or "")]

    second = await start_service("run", env=env)
    await second.wait_healthy()
    notice = await anna.wait_for_bot_message(
        predicate=lambda message: "Решена" in (message.text or ""), timeout=40
    )
    assert "Картридж заменён" in (notice.text or "")
    await asyncio.sleep(1)  # a second copy would come right after the first
    assert len([m for m in anna.bot_messages() if "Решена" in (m.text or "")]) == 1
    assert await second.stop() == 0

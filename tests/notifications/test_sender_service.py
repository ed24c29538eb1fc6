"""The sender inside the whole service: a person blocks and unblocks the bot (`my_chat_member`),
and an admin reads `/metrics` and `/health`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from okdesk_bot.app import Application
from okdesk_bot.config import Settings
from okdesk_bot.db.models import OutboxStatus
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from tests.notifications.conftest import webhook_url
from tests.notifications.sender_support import enqueue, eventually, outbox, text_notice


async def statuses(app: Application) -> list[OutboxStatus]:
    return [row.status for row in await outbox(app.sessions)]


async def unreachable(app: Application, person: EmulatedUser) -> bool:
    async with UnitOfWork(app.sessions) as uow:
        user = await uow.users.get_by_telegram_id(person.id)
    assert user is not None
    return user.unreachable_since is not None


async def test_a_person_who_blocks_the_bot_gets_the_notices_after_unblocking_it(
    service: Application, anna: EmulatedUser, telegram: TelegramEmulator
) -> None:
    await anna.block()
    await eventually(lambda: unreachable(service, anna), what="Анна marked unreachable")

    for n in range(2):
        await enqueue(service.sessions, anna.chat_id, text_notice(f"Заявка №{n}"), key=str(n))

    async def parked() -> bool:
        return await statuses(service) == [OutboxStatus.PARKED] * 2

    await eventually(parked, what="Анна's notices parked")
    await asyncio.sleep(0.3)  # the sender does not knock again and again
    assert [call.status for call in telegram.calls("sendMessage")][-1:] == [403]
    assert len([call for call in telegram.calls("sendMessage") if call.status == 403]) == 1

    await anna.unblock()

    async def delivered() -> bool:
        return await statuses(service) == [OutboxStatus.SENT] * 2

    await eventually(delivered, what="the parked notices sent")
    assert [message.text for message in anna.bot_messages()][-2:] == ["Заявка №0", "Заявка №1"]
    assert not await unreachable(service, anna)


async def test_writing_to_the_bot_releases_notices_when_the_unblock_update_was_missed(
    service: Application, anna: EmulatedUser, telegram: TelegramEmulator
) -> None:
    telegram.faults.block_chat(anna.chat_id)  # 403s, and Telegram says nothing about it
    await enqueue(service.sessions, anna.chat_id, text_notice("Заявка №7"), key="7")

    async def parked() -> bool:
        return await statuses(service) == [OutboxStatus.PARKED]

    await eventually(parked, what="the notice parked")
    telegram.faults.allow_chat(anna.chat_id)  # unblocked, but no my_chat_member arrives

    await anna.send_command("/help")

    async def delivered() -> bool:
        return await statuses(service) == [OutboxStatus.SENT]

    await eventually(delivered, what="the held-back notice sent")
    assert "Заявка №7" in [message.text for message in anna.bot_messages()]
    assert not await unreachable(service, anna)


async def fetch(settings: Settings, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{settings.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def figures(exposition: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def test_metrics_and_health_show_the_delivery_figures(
    service: Application, settings: Settings, anna: EmulatedUser
) -> None:
    await enqueue(service.sessions, anna.chat_id, text_notice("Заявка решена"), key="sent")
    await enqueue(service.sessions, 42, text_notice("Никому"), key="dead")
    async with aiohttp.ClientSession() as session:
        wrong = webhook_url(settings, secret="wrong")
        async with session.post(wrong, json={"event": {"event_type": "new_comment"}}) as answer:
            assert answer.status == 401

    async def settled() -> bool:
        return sorted(await statuses(service)) == [OutboxStatus.DEAD, OutboxStatus.SENT]

    await eventually(settled, what="one notice sent, one dead")

    status, exposition = await fetch(settings, "/metrics")
    assert status == 200
    shown = figures(exposition)
    expected: dict[str, Any] = {
        "okdesk_bot_webhooks_received_total": 1,
        "okdesk_bot_webhooks_rejected_total": 1,
        "okdesk_bot_webhooks_duplicates_total": 0,
        "okdesk_bot_notices_sent_total": 1,
        "okdesk_bot_notices_retried_total": 0,
        "okdesk_bot_notices_dead_total": 1,
        "okdesk_bot_telegram_flood_waits_total": 0,
        "okdesk_bot_database_up": 1,
        "okdesk_bot_outbox_depth": 0,
        "okdesk_bot_outbox_dead": 1,
        "okdesk_bot_outbox_lag_seconds": 0,
        "okdesk_bot_inbox_pending": 0,
    }
    assert {name: shown.get(name) for name in expected} == expected

    status, body = await fetch(settings, "/health")
    assert status == 200
    assert json.loads(body)["components"]["outbox"] == {
        "status": "ok",
        "depth": 0,
        "parked": 0,
        "dead": 1,
        "oldest_undelivered_seconds": None,
    }

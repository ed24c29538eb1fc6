"""Reconciliation: lost webhooks are caught, poll mode needs none, and nothing is sent twice."""

from __future__ import annotations

import asyncio
import json

import pytest

from okdesk_bot.app import Application
from okdesk_bot.config import NotifyMode, Settings
from okdesk_bot.db.models import InboxStatus, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.domain.identity import PersonName
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from okdesk_bot.services.reconciliation import FOLLOWED_CONTACTS_KEY, Reconciler
from okdesk_bot.services.registration import Applicant, register
from tests.notifications.conftest import (
    ANNA_TELEGRAM_ID,
    POLL_INTERVAL,
    eventually,
    inbox,
    notices_for,
    post_webhook,
    processed_inbox,
    shown_text,
)

SEVERAL_RUNS = 4 * POLL_INTERVAL


@pytest.fixture
def notify_mode() -> NotifyMode:
    return NotifyMode.BOTH


async def followed_by_reconciliation(app: Application, contact_id: int) -> None:
    """Wait until reconciliation has taken the contact's tickets as they are."""

    async def check() -> bool | None:
        async with UnitOfWork(app.sessions) as uow:
            stored = await uow.app_state.get(FOLLOWED_CONTACTS_KEY)
        return True if stored is not None and contact_id in json.loads(stored) else None

    await eventually(check, what=f"reconciliation following contact {contact_id}")


async def test_a_status_change_whose_webhook_was_lost_is_notified_once(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await followed_by_reconciliation(service, 1)
    okdesk.drop_next_webhooks(1)

    await okdesk.change_status(1, "completed")

    [event] = await processed_inbox(service)
    await asyncio.sleep(SEVERAL_RUNS)  # later runs overlap the change: nothing new
    [notice] = await notices_for(service, anna)
    assert event.payload["origin"] == "reconciliation"
    assert event.status is InboxStatus.DONE
    assert "Статус: В работе → Решена" in shown_text(notice)
    assert len(await inbox(service)) == 1


@pytest.mark.parametrize("notify_mode", [NotifyMode.WEBHOOK])
async def test_a_webhook_and_reconciliation_reporting_one_change_give_one_notice(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator, settings: Settings
) -> None:
    reconciler = Reconciler(service.okdesk, service.sessions, interval=POLL_INTERVAL)
    await reconciler.run_once()  # the first run follows contact 1
    okdesk.drop_next_webhooks(1)
    await okdesk.change_status(1, "completed")
    [late_webhook] = await okdesk.wait_for_webhooks(1)

    caught = await reconciler.run_once()
    await processed_inbox(service)
    answer = await post_webhook(settings, late_webhook.payload)  # it arrives after all
    events = await processed_inbox(service, events=2)
    again = await reconciler.run_once()

    assert (caught.events_added, again.events_added) == (1, 0)
    assert answer == {"status": "accepted"}
    assert [event.status for event in events] == [InboxStatus.DONE, InboxStatus.DONE]
    assert len(await notices_for(service, anna)) == 1


@pytest.mark.parametrize("notify_mode", [NotifyMode.WEBHOOK])
async def test_a_change_right_after_registration_is_caught_though_its_webhook_was_lost(
    service: Application, okdesk: OkdeskEmulator, telegram: TelegramEmulator
) -> None:
    """Reconciliation first sees a contact up to a poll interval after someone registers;
    registration itself records the statuses, so a change in between is still news."""
    anna = telegram.user(ANNA_TELEGRAM_ID, "Анна", language_code="ru")
    async with UnitOfWork(service.sessions) as uow:  # what the dialog's last step calls
        await register(
            service.okdesk,
            uow,
            Applicant(
                telegram_user_id=anna.id,
                chat_id=anna.chat_id,
                language_code="ru",
                kind=UserKind.INDIVIDUAL,
                name=PersonName("Смирнова", "Анна", "Викторовна"),
                phone="+79991234567",
                phone_verified=True,
            ),
        )
    await anna.send_command("/help")  # opens the chat: a bot may write only after that
    await anna.wait_for_bot_message()
    okdesk.drop_next_webhooks(1)
    await okdesk.change_status(1, "completed")

    reconciler = Reconciler(service.okdesk, service.sessions, interval=POLL_INTERVAL)
    first = await reconciler.run_once()  # the contact is new to reconciliation
    caught = await reconciler.run_once()
    await processed_inbox(service)

    assert (first.contacts_followed, caught.events_added) == (1, 1)
    [notice] = await notices_for(service, anna)
    assert "Статус: В работе → Решена" in shown_text(notice)


@pytest.mark.parametrize("notify_mode", [NotifyMode.WEBHOOK])
async def test_tickets_created_later_are_news_only_once_their_status_changes(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    okdesk.set_webhook_urls([])  # nothing reaches the service but what reconciliation reads
    reconciler = Reconciler(service.okdesk, service.sessions, interval=POLL_INTERVAL)
    await reconciler.run_once()
    quiet = await okdesk.create_issue("Сканер не сканирует", contact_id=1)
    changed = await okdesk.create_issue("Роутер перезагружается", contact_id=1)
    await okdesk.change_status(changed.id, "in_progress")

    await reconciler.run_once()
    await processed_inbox(service)
    await okdesk.change_status(quiet.id, "in_progress")
    await reconciler.run_once()
    await processed_inbox(service, events=2)

    texts = [shown_text(notice) for notice in await notices_for(service, anna)]
    assert texts == [
        f"🔔 Заявка №{changed.id}: Роутер перезагружается\nСтатус: Открыта → В работе",
        f"🔔 Заявка №{quiet.id}: Сканер не сканирует\nСтатус: Открыта → В работе",
    ]


@pytest.mark.parametrize("notify_mode", [NotifyMode.POLL])
async def test_poll_mode_forwards_new_public_comments_without_any_webhook(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await followed_by_reconciliation(service, 1)

    await okdesk.add_comment(1, "<p>Внутренняя заметка</p>", public=False)
    await okdesk.add_comment(1, "<p>Спасибо!</p>", contact_id=1)
    await okdesk.add_comment(1, "<p>Картридж заменён &#128578;</p>")

    [event] = await processed_inbox(service)
    await asyncio.sleep(SEVERAL_RUNS)
    [notice] = await notices_for(service, anna)
    assert okdesk.webhook_log == []
    assert event.dedup_key.startswith("comment:")
    assert shown_text(notice).endswith(
        "Новый комментарий от Петров Сергей Андреевич:\nКартридж заменён 🙂"
    )
    assert len(await inbox(service)) == 1

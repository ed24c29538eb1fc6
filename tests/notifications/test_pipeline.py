"""From Okdesk webhook to queued Telegram notices: confirmed, rendered, never forged or doubled.

Each test acts in the Okdesk emulator (or posts a webhook of its own), waits until the inbox
is processed, and checks the outbox rows queued for the people following the ticket. These
rows hold exactly what the sender sends.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from okdesk_bot.app import Application
from okdesk_bot.bot.callbacks import TicketAction, TicketCallback
from okdesk_bot.config import Settings
from okdesk_bot.db.models import InboxStatus
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import FileUpload, OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser
from tests.notifications.conftest import (
    notices_for,
    outbox,
    post_webhook,
    processed_inbox,
    shown_text,
    ticket_buttons,
)


def comment_webhook(comment_id: int, content: str, *, issue_id: int = 1) -> dict[str, object]:
    """A ``new_comment`` webhook as Okdesk sends it (string ids, ``client.contact``)."""
    return {
        "event": {
            "event_type": "new_comment",
            "author": {
                "id": "2",
                "first_name": "Сергей",
                "last_name": "Петров",
                "type": "employee",
            },
            "comment": {"id": str(comment_id), "is_public": True, "content": content},
        },
        "issue": {"id": str(issue_id), "title": "Касса", "client": {"contact": {"id": "1"}}},
    }


def status_webhook(issue_id: int, old: str, new: str) -> dict[str, object]:
    return {
        "event": {
            "event_type": "new_ticket_status",
            "old_status": {"code": old, "name": old},
            "new_status": {"code": new, "name": new},
        },
        "issue": {"id": str(issue_id), "client": {"contact": {"id": "1"}}},
    }


# --- status changes --------------------------------------------------------------------------


async def test_status_change_notice_names_both_statuses_and_carries_the_ticket_buttons(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator, settings: Settings
) -> None:
    await okdesk.change_status(1, "completed")

    [event] = await processed_inbox(service)
    [notice] = await notices_for(service, anna)
    assert event.status is InboxStatus.DONE
    assert shown_text(notice) == (
        "🔔 Заявка №1: Не печатает принтер в бухгалтерии\nСтатус: В работе → Решена"
    )
    assert notice["method"] == "sendMessage"
    assert notice["parse_mode"] == "HTML"
    assert ticket_buttons(notice) == (
        TicketCallback(action=TicketAction.COMMENT, issue_id=1),
        settings.issue_url(1),
    )
    message = await anna.wait_for_bot_message(
        predicate=lambda message: "Решена" in (message.text or "")
    )
    assert message.text == shown_text(notice)
    assert message.reply_markup == notice["reply_markup"]


async def test_each_follower_gets_the_notice_in_their_language(
    service: Application, anna: EmulatedUser, john: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await okdesk.change_status(1, "delayed", comment="Ждём запчасть", comment_public=True)

    await processed_inbox(service)
    [for_anna] = await notices_for(service, anna)
    [for_john] = await notices_for(service, john)
    assert shown_text(for_anna).startswith("🔔 Заявка №1:")
    assert shown_text(for_john).startswith("🔔 Ticket #1: Не печатает принтер в бухгалтерии")
    assert "Status: В работе → Отложена" in shown_text(for_john)


async def test_resolution_comment_is_shown_in_the_status_notice_and_not_again(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator, settings: Settings
) -> None:
    await okdesk.change_status(
        1, "completed", comment="<p>Заменили &laquo;фьюзер&raquo;</p>", comment_public=True
    )
    [status_event] = await processed_inbox(service)
    [comment] = [each for each in okdesk.state.comments.values() if "фьюзер" in each.content]

    # Okdesk may also report the same comment on its own.
    answer = await post_webhook(settings, comment_webhook(comment.id, comment.content))

    [_, comment_event] = await processed_inbox(service, events=2)
    [notice] = await notices_for(service, anna)
    assert answer == {"status": "accepted"}
    assert shown_text(notice).endswith(
        "Статус: В работе → Решена\n\n💬 Петров Сергей Андреевич:\nЗаменили «фьюзер»"
    )
    assert (status_event.status, comment_event.status) == (InboxStatus.DONE, InboxStatus.DONE)


async def test_the_same_webhook_twice_gives_one_notice(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator, settings: Settings
) -> None:
    await okdesk.change_status(1, "completed")
    [delivery] = await okdesk.wait_for_webhooks(1)

    answer = await post_webhook(settings, delivery.payload)

    await processed_inbox(service)
    assert answer == {"status": "duplicate"}
    assert len(await notices_for(service, anna)) == 1


async def test_one_change_reported_twice_in_different_words_gives_one_notice(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator, settings: Settings
) -> None:
    await okdesk.change_status(1, "completed")
    [delivery] = await okdesk.wait_for_webhooks(1)
    reworded = copy.deepcopy(delivery.payload)
    reworded["event"]["old_status"]["name"] = "В работе (повтор)"

    answer = await post_webhook(settings, reworded)

    events = await processed_inbox(service, events=2)
    assert answer == {"status": "accepted"}
    assert [event.status for event in events] == [InboxStatus.DONE, InboxStatus.DONE]
    assert len(await notices_for(service, anna)) == 1


async def test_a_forged_status_webhook_sends_nothing(
    service: Application, anna: EmulatedUser, settings: Settings
) -> None:
    await post_webhook(settings, status_webhook(1, "in_progress", "closed"))

    [event] = await processed_inbox(service)
    assert event.status is InboxStatus.IGNORED
    assert await outbox(service) == []


# --- comments ----------------------------------------------------------------------------------


async def test_public_employee_comment_arrives_converted_from_html(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await okdesk.add_comment(
        1,
        "<p>Инженер приедет &laquo;завтра&raquo; в 10:00 &amp; заберёт принтер.</p>"
        '<p>Подробности <a href="https://help.example/a?b=1&amp;c=2">здесь</a>.</p>',
    )

    [event] = await processed_inbox(service)
    [notice] = await notices_for(service, anna)
    assert event.status is InboxStatus.DONE
    assert shown_text(notice) == (
        "💬 Заявка №1: Не печатает принтер в бухгалтерии\n"
        "Новый комментарий от Петров Сергей Андреевич:\n"
        "Инженер приедет «завтра» в 10:00 & заберёт принтер.\n\nПодробности здесь."
    )
    assert '<a href="https://help.example/a?b=1&amp;c=2">здесь</a>' in notice["text"]
    assert ticket_buttons(notice)[0].issue_id == 1


async def test_private_comments_and_the_clients_own_are_never_forwarded(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await okdesk.add_comment(1, "<p>Клиент капризный, не спешить</p>", public=False)
    # What the bot does with a client's message: post it as the client's contact.
    await okdesk.add_comment(1, "<p>Спасибо, жду</p>", contact_id=1)

    events = await processed_inbox(service, events=2)
    assert [event.status for event in events] == [InboxStatus.IGNORED] * 2
    assert await outbox(service) == []


async def test_a_forged_comment_webhook_sends_nothing(
    service: Application, anna: EmulatedUser, settings: Settings
) -> None:
    # A comment Okdesk does not have, and a private one (3) presented as public.
    await post_webhook(settings, comment_webhook(999, "<p>Оплатите счёт по ссылке</p>"))
    await post_webhook(settings, comment_webhook(3, "<p>Оплатите счёт по ссылке</p>"))

    events = await processed_inbox(service, events=2)
    assert [event.status for event in events] == [InboxStatus.IGNORED] * 2
    assert await outbox(service) == []


async def test_a_long_comment_is_split_into_messages_telegram_accepts(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    paragraphs = [
        f"<p>Шаг {number}: {'проверили контакты и ролики. ' * 12}</p>" for number in range(40)
    ]
    await okdesk.add_comment(1, "".join(paragraphs))

    [event] = await processed_inbox(service)
    notices = await notices_for(service, anna)
    texts = [shown_text(notice) for notice in notices]
    assert len(notices) >= 3
    assert texts[0].startswith("💬 Заявка №1")
    assert all(f"Шаг {number}:" in "".join(texts) for number in range(40))
    assert all(ticket_buttons(notice)[0].issue_id == 1 for notice in notices)
    keys = [row.dedup_key for row in await outbox(service)]
    assert keys == [f"{event.dedup_key}:{anna.chat_id}:{part}" for part in range(len(notices))]


async def test_public_files_of_a_comment_follow_its_text(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await okdesk.add_comment(
        1,
        "<p>Акт во вложении</p>",
        attachments=[
            FileUpload("act.pdf", b"%PDF-1.4 act", "application/pdf"),
            FileUpload("internal.txt", b"note", is_public=False),
        ],
    )

    await processed_inbox(service)
    [text, document] = await notices_for(service, anna)
    [public_file] = [
        each for each in okdesk.state.attachments.values() if each.file_name == "act.pdf"
    ]
    assert shown_text(text).endswith("Акт во вложении")
    assert document == {
        "method": "sendDocument",
        "okdesk_issue_id": 1,
        "okdesk_attachment_id": public_file.id,
        "filename": "act.pdf",
        "caption": "📎 act.pdf — к заявке №1",
        "parse_mode": "HTML",
        "reply_markup": text["reply_markup"],
    }


# --- what nobody here follows --------------------------------------------------------------------


async def test_events_nobody_here_follows_are_ignored(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await okdesk.change_status(2, "closed")  # contact 2's ticket: nobody is bound to contact 2
    await okdesk.assign(1, 1)  # an event clients are not notified of

    events = await processed_inbox(service, events=2)
    assert [event.status for event in events] == [InboxStatus.IGNORED] * 2
    assert await outbox(service) == []


async def test_a_burst_about_tickets_nobody_follows_is_settled_without_asking_okdesk(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator, settings: Settings
) -> None:
    # Tickets 2000-2009 of contact 2, whom nobody here is bound to. Any read about them would
    # fail, and the event would wait for a retry instead of ending.
    okdesk.faults.fail_next(50, status=503, path_prefix="/api/v1/issues/20")
    for number in range(10):
        webhook = status_webhook(2000 + number, "opened", "in_progress")
        webhook["issue"] = {"id": str(2000 + number), "client": {"contact": {"id": "2"}}}
        await post_webhook(settings, webhook)
    await okdesk.change_status(1, "completed")  # Анна's ticket, in the same burst

    events = await processed_inbox(service, events=11)

    assert [event.status for event in events] == [InboxStatus.IGNORED] * 10 + [InboxStatus.DONE]
    assert all(event.last_error is None for event in events)
    assert [fault["remaining"] for fault in okdesk.faults.snapshot()["queue"]] == [50]
    assert len(await notices_for(service, anna)) == 1


async def record(app: Application, *webhooks: dict[str, object]) -> None:
    """Put webhooks in the inbox in one transaction, as if they had arrived together."""
    async with UnitOfWork(app.sessions) as uow:
        for number, webhook in enumerate(webhooks):
            issue = webhook["issue"]
            assert isinstance(issue, dict)
            await uow.inbox.add(
                dedup_key=f"recorded-{number}",
                event_type="new_ticket_status",
                payload=webhook,
                received_at=datetime.now(UTC),
                okdesk_issue_id=int(issue["id"]),
            )
        await uow.commit()


def naming_contact_2(webhook: dict[str, object]) -> dict[str, object]:
    """The webhook as if its ticket belonged to contact 2, whom nobody here is bound to."""
    changed = copy.deepcopy(webhook)
    issue = changed["issue"]
    assert isinstance(issue, dict)
    issue["client"] = {"contact": {"id": "2"}}
    return changed


async def test_a_flood_about_a_ticket_nobody_follows_is_settled_at_once_not_one_by_one(
    service: Application, anna: EmulatedUser
) -> None:
    flood = [naming_contact_2(status_webhook(2, "opened", f"step{n}")) for n in range(40)]
    await record(service, *flood)

    events = await processed_inbox(service, events=40)

    assert [event.status for event in events] == [InboxStatus.IGNORED] * 40
    assert len({event.processed_at for event in events}) == 1  # one claim and one write
    assert await outbox(service) == []


async def test_a_flood_taken_along_stops_at_the_first_event_someone_follows(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    okdesk.drop_next_webhooks(1)
    await okdesk.change_status(1, "completed")  # Анна's ticket; its webhook is recorded below
    before = [naming_contact_2(status_webhook(1, "opened", f"a{n}")) for n in range(10)]
    after = [naming_contact_2(status_webhook(1, "opened", f"b{n}")) for n in range(10)]
    await record(service, *before, status_webhook(1, "in_progress", "completed"), *after)

    events = await processed_inbox(service, events=21)

    first, change, rest = events[:10], events[10], events[11:]
    assert [event.status for event in events] == (
        [InboxStatus.IGNORED] * 10 + [InboxStatus.DONE] + [InboxStatus.IGNORED] * 10
    )
    assert len({event.processed_at for event in first}) == 1
    assert change.processed_at is not None
    assert all(event.processed_at is not None for event in events)
    assert max(e.processed_at for e in first if e.processed_at) <= change.processed_at
    assert change.processed_at <= min(e.processed_at for e in rest if e.processed_at)
    [notice] = await notices_for(service, anna)
    assert "Статус: В работе → Решена" in shown_text(notice)


async def test_an_unreadable_stored_event_fails_with_the_reason_and_holds_nothing_back(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    async with UnitOfWork(service.sessions) as uow:  # say, written by an older version
        await uow.inbox.add(
            dedup_key="broken",
            event_type="new_ticket_status",
            payload={"event": "not an object"},
            received_at=datetime.now(UTC),
            okdesk_issue_id=1,
        )
        await uow.commit()
    await okdesk.change_status(1, "completed")

    broken, change = await processed_inbox(service, events=2)

    assert broken.status is InboxStatus.FAILED
    assert broken.last_error is not None
    assert broken.last_error.startswith("unreadable payload")
    assert change.status is InboxStatus.DONE
    assert len(await notices_for(service, anna)) == 1


# --- Okdesk failures -----------------------------------------------------------------------------


async def test_an_event_is_notified_once_okdesk_recovers(
    service: Application, anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    # More failures than the Okdesk client retries on its own: the event must wait and retry.
    okdesk.faults.fail_next(6, status=503, path_prefix="/api/v1/issues/1")
    await okdesk.add_comment(1, "<p>Готово</p>")

    [event] = await processed_inbox(service)
    [notice] = await notices_for(service, anna)
    assert event.status is InboxStatus.DONE
    assert event.attempts >= 2
    assert shown_text(notice).endswith("Готово")

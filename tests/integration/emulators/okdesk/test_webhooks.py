"""Webhooks: payload shapes of the webhookdoc, delivery to a real receiver, skips and drops."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from okdesk_bot.emulators.okdesk import FileUpload, NotFoundError, OkdeskEmulator, ValidationError
from tests.integration.emulators.okdesk.support import WebhookReceiver


async def test_staff_status_change_sends_the_documented_envelope(
    emulator: OkdeskEmulator, receiver: WebhookReceiver
) -> None:
    await emulator.change_status(1, "completed", comment="Работы проверены")

    [delivery] = await emulator.wait_for_webhooks(1)
    assert delivery.status == 200
    assert delivery.url == receiver.url
    [body] = receiver.bodies
    event, issue = body["event"], body["issue"]
    assert event["event_type"] == "new_ticket_status"
    assert event["author"] == {
        "id": "2",
        "first_name": "Сергей",
        "last_name": "Петров",
        "patronymic": "Андреевич",
        "type": "employee",
    }
    assert event["old_status"] == {"code": "in_progress", "name": "В работе"}
    assert event["new_status"] == {"code": "completed", "name": "Решена"}
    assert event["comment"]["content"] == "Работы проверены"
    assert event["comment"]["is_public"] is True
    assert isinstance(event["comment"]["id"], str)
    assert issue["id"] == "1"
    assert issue["status"] == {"code": "completed", "name": "Решена"}
    assert issue["client"] == {
        "company": {"name": "ООО «Ромашка»", "id": "1"},
        "contact": {
            "first_name": "Анна",
            "last_name": "Смирнова",
            "patronymic": "Викторовна",
            "id": "1",
        },
    }
    assert issue["assignee"]["employee"]["id"] == "2"
    assert issue["author"]["type"] == "contact"
    assert issue["spent_time_total"] == "0"


async def test_webhook_is_plain_json_without_signature(
    emulator: OkdeskEmulator, receiver: WebhookReceiver
) -> None:
    await emulator.add_comment(1, "<p>Готово</p>")
    await emulator.wait_for_webhooks(1)

    headers = {key.lower(): value for key, value in receiver.headers[0].items()}
    assert headers["content-type"].startswith("application/json")
    assert not [key for key in headers if "signature" in key]


async def test_private_comment_webhook_has_is_public_false(
    emulator: OkdeskEmulator, receiver: WebhookReceiver
) -> None:
    comment = await emulator.add_comment(1, "<p>Внутренняя заметка</p>", public=False)

    await emulator.wait_for_webhooks(1)
    [body] = receiver.events("new_comment")
    assert body["event"]["comment"] == {
        "id": str(comment.id),
        "is_public": False,
        "content": "<p>Внутренняя заметка</p>",
    }
    assert body["event"]["author"]["type"] == "employee"


async def test_staff_comment_with_files_lists_them_in_the_event(
    emulator: OkdeskEmulator, receiver: WebhookReceiver
) -> None:
    await emulator.add_comment(
        1, "<p>Акт</p>", attachments=[FileUpload("act.pdf", b"%PDF", "application/pdf")]
    )

    await emulator.wait_for_webhooks(1)
    [attachment] = receiver.bodies[0]["event"]["attachments"]
    assert attachment["attachment_file_name"] == "act.pdf"
    assert attachment["attachment_file_size"] == "4"
    assert attachment["is_public"] is True


async def test_api_actions_fire_webhooks(
    emulator: OkdeskEmulator, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    created = (await api.post("/issues/", json={"title": "Новая", "contact_id": 2})).json()
    await api.post(
        f"/issues/{created['id']}/comments",
        json={"content": "Подробности", "author_id": 2, "author_type": "contact"},
    )
    await api.post(f"/issues/{created['id']}/statuses", json={"code": "in_progress"})

    deliveries = await emulator.wait_for_webhooks(3)
    assert sorted(d.event_type for d in deliveries) == [
        "new_comment",
        "new_ticket",
        "new_ticket_status",
    ]
    [new_ticket] = receiver.events("new_ticket")
    assert new_ticket["event"]["source"] == "from_employee"
    assert new_ticket["issue"]["client"]["contact"]["id"] == "2"
    [new_comment] = receiver.events("new_comment")
    assert new_comment["event"]["author"]["type"] == "contact"
    assert new_comment["event"]["comment"]["is_public"] is True


async def test_skip_webhooks_option_suppresses_the_status_webhook(
    emulator: OkdeskEmulator, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    await api.post(
        "/issues/1/statuses", json={"code": "completed", "skip_options": ["skip_webhooks"]}
    )
    await api.post(
        "/issues/1/statuses",
        data={"code": "closed", "skip_options[]": "skip_notifications"},
    )

    deliveries = await emulator.wait_for_webhooks(1)
    await asyncio.sleep(0.1)
    assert [d.payload["event"]["new_status"]["code"] for d in deliveries] == ["closed"]
    assert len(receiver.bodies) == 1


async def test_dropped_webhooks_are_logged_but_not_sent(
    emulator: OkdeskEmulator, receiver: WebhookReceiver
) -> None:
    emulator.drop_next_webhooks(1)
    await emulator.add_comment(1, "первый")
    await emulator.add_comment(1, "второй")

    deliveries = await emulator.wait_for_webhooks(2)
    assert [d.dropped for d in deliveries] == [True, False]
    assert [b["event"]["comment"]["content"] for b in receiver.bodies] == ["второй"]


async def test_failed_deliveries_are_logged_with_status_or_error(
    emulator: OkdeskEmulator, receiver: WebhookReceiver
) -> None:
    receiver.status = 500
    emulator.set_webhook_urls([receiver.url, "http://127.0.0.1:9/closed"])
    await emulator.add_comment(1, "x")

    deliveries = await emulator.wait_for_webhooks(2)
    by_url = {d.url: d for d in deliveries}
    assert by_url[receiver.url].status == 500
    assert not by_url[receiver.url].delivered
    assert by_url["http://127.0.0.1:9/closed"].status is None
    assert by_url["http://127.0.0.1:9/closed"].error


async def test_delivery_never_blocks_the_triggering_request(
    emulator: OkdeskEmulator, api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.hold = asyncio.Event()

    response = await asyncio.wait_for(
        api.post("/issues/1/comments", json={"content": "x", "author_id": 2}), timeout=1
    )
    pending = list(emulator.webhook_log)
    receiver.hold.set()

    assert response.status_code == 200
    assert pending == []
    [delivery] = await emulator.wait_for_webhooks(1)
    assert delivery.status == 200


async def test_wait_for_webhooks_times_out_with_a_count(emulator: OkdeskEmulator) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        await emulator.wait_for_webhooks(1, timeout=0.05)


async def test_other_staff_events(emulator: OkdeskEmulator, receiver: WebhookReceiver) -> None:
    await emulator.assign(1, 1)
    await emulator.attach_files(1, [FileUpload("scan.jpg", b"jpg")])
    issue = await emulator.create_issue("Письмо клиента", contact_id=2, source="from_email")
    await emulator.delete_issue(issue.id)

    await emulator.wait_for_webhooks(4)
    [assignee] = receiver.events("new_assignee")
    assert assignee["event"]["old_assignee"]["employee"]["id"] == "2"
    assert assignee["event"]["new_assignee"]["employee"]["id"] == "1"
    [files] = receiver.events("new_files")
    assert files["event"]["attachments"][0]["attachment_file_name"] == "scan.jpg"
    [ticket] = receiver.events("new_ticket")
    assert ticket["event"]["source"] == "from_email"
    assert ticket["event"]["author"] == {
        "id": "2",
        "first_name": "Алексей",
        "last_name": "Сидоров",
        "patronymic": "Владимирович",
        "type": "contact",
    }
    [deleted] = receiver.events("ticket_deleted")
    assert deleted["issue"]["id"] == str(issue.id)
    assert issue.id not in emulator.state.issues


async def test_staff_actions_raise_the_api_errors(emulator: OkdeskEmulator) -> None:
    with pytest.raises(NotFoundError):
        await emulator.change_status(404, "completed")
    with pytest.raises(ValidationError) as excinfo:
        await emulator.change_status(1, "in_progress")
    assert "code" in excinfo.value.errors
    with pytest.raises(NotFoundError):
        await emulator.add_comment(1, "x", employee_id=77)

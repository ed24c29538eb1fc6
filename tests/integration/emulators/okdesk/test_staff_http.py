"""The /_staff HTTP API and the issue web page."""

from __future__ import annotations

import base64

import httpx

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from tests.integration.emulators.okdesk.support import WebhookReceiver


async def test_staff_lists_issues_with_private_comments(web_client: httpx.AsyncClient) -> None:
    listed = (await web_client.get("/_staff/issues")).json()

    assert [entry["issue"]["id"] for entry in listed] == [1, 2]
    assert [c["public"] for c in listed[0]["comments"]] == [True, True, False]


async def test_staff_status_change_over_http_fires_webhook(
    emulator: OkdeskEmulator, web_client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    response = await web_client.post(
        "/_staff/issues/1/statuses",
        json={"code": "delayed", "comment": "Ждём запчасть", "comment_public": False},
    )

    assert response.status_code == 200
    assert response.json()["status"]["code"] == "delayed"
    await emulator.wait_for_webhooks(1)
    event = receiver.bodies[0]["event"]
    assert event["new_status"]["code"] == "delayed"
    assert event["comment"]["is_public"] is False


async def test_staff_comment_with_base64_file(
    emulator: OkdeskEmulator, web_client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    response = await web_client.post(
        "/_staff/issues/1/comments",
        json={
            "content": "<p>Счёт во вложении</p>",
            "attachments": [
                {
                    "file_name": "invoice.pdf",
                    "content_base64": base64.b64encode(b"%PDF-1").decode(),
                }
            ],
        },
    )

    comment = response.json()
    assert comment["public"] is True
    assert comment["author"]["id"] == 2
    assert comment["attachments"][0]["attachment_file_size"] == 6
    await emulator.wait_for_webhooks(1)
    assert receiver.bodies[0]["event"]["comment"]["content"] == "<p>Счёт во вложении</p>"


async def test_staff_validation_errors_are_422(web_client: httpx.AsyncClient) -> None:
    unknown_status = await web_client.post("/_staff/issues/1/statuses", json={"code": "nope"})
    bad_file = await web_client.post(
        "/_staff/issues/1/comments",
        json={"content": "x", "attachments": [{"file_name": "a", "content_base64": "%%%"}]},
    )
    missing = await web_client.post("/_staff/issues/99/comments", json={"content": "x"})

    assert unknown_status.status_code == 422
    assert bad_file.status_code == 422
    assert missing.status_code == 404


async def test_staff_creates_assigns_and_deletes(
    emulator: OkdeskEmulator, web_client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    created = (
        await web_client.post("/_staff/issues", json={"title": "По телефону", "contact_id": 1})
    ).json()
    assigned = (
        await web_client.post(f"/_staff/issues/{created['id']}/assignee", json={"assignee_id": 1})
    ).json()
    files = (
        await web_client.post(
            f"/_staff/issues/{created['id']}/attachments",
            json={"attachments": [{"file_name": "a.txt", "content_base64": "YQ=="}]},
        )
    ).json()
    deleted = await web_client.delete(f"/_staff/issues/{created['id']}")

    assert created["source"] == "from_employee"
    assert assigned["assignee"] == {"id": 1, "name": "Иванов Иван Иванович"}
    assert files[0]["attachment_file_name"] == "a.txt"
    assert deleted.status_code == 200
    assert (await web_client.get(f"/_staff/issues/{created['id']}")).status_code == 404
    deliveries = await emulator.wait_for_webhooks(4)
    assert sorted(d.event_type for d in deliveries) == [
        "new_assignee",
        "new_files",
        "new_ticket",
        "ticket_deleted",
    ]


async def test_staff_configures_webhooks_and_reads_the_log(
    emulator: OkdeskEmulator, web_client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    await web_client.put("/_staff/webhooks", json={"urls": [receiver.url]})
    await web_client.post("/_staff/webhooks/drop", json={"count": 1})
    await web_client.post("/_staff/issues/1/comments", json={"content": "потеряется"})
    await web_client.post("/_staff/issues/1/comments", json={"content": "дойдёт"})
    await emulator.wait_for_webhooks(2)

    urls = (await web_client.get("/_staff/webhooks")).json()
    log = (await web_client.get("/_staff/webhooks/log")).json()
    cleared = (await web_client.delete("/_staff/webhooks/log")).json()

    assert urls == {"urls": [receiver.url]}
    assert [(entry["dropped"], entry["status"]) for entry in log] == [(True, None), (False, 200)]
    assert all(entry["event_type"] == "new_comment" and entry["issue_id"] == "1" for entry in log)
    assert cleared == []
    assert emulator.webhook_log == []


async def test_staff_fault_endpoints(
    emulator: OkdeskEmulator, api: httpx.AsyncClient, web_client: httpx.AsyncClient
) -> None:
    queued = await web_client.post(
        "/_staff/faults/queue", json={"count": 1, "kind": "rate_limit", "path_prefix": "/api/v1"}
    )
    limited = await api.get("/issues/1")
    configured = await web_client.put(
        "/_staff/faults", json={"error_rate": 1, "error_status": 504}
    )
    failing = await api.get("/issues/1")
    refused = await web_client.put("/_staff/faults", json={"error_rate": 2})
    reset = await web_client.delete("/_staff/faults")
    healthy = await api.get("/issues/1")

    assert queued.json()["queue"][0]["kind"] == "rate_limit"
    assert limited.status_code == 429
    assert configured.json()["error_rate"] == 1.0
    assert failing.status_code == 504
    assert refused.status_code == 422
    assert reset.json()["error_rate"] == 0.0
    assert healthy.status_code == 200


async def test_issue_web_page_shows_the_ticket(web_client: httpx.AsyncClient) -> None:
    page = await web_client.get("/issues/1")
    missing = await web_client.get("/issues/999")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Не печатает принтер в бухгалтерии" in page.text
    assert "В работе" in page.text
    assert "Инженер приедет завтра" in page.text
    assert "картридж" not in page.text  # the private comment stays hidden
    assert missing.status_code == 404

"""The Okdesk emulator's real webhooks, sent over HTTP, reach the endpoint and are recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.okdesk.webhooks import NewCommentEvent, StatusChangedEvent, parse_webhook
from tests.integration.web.conftest import WebClient, hook_url, inbox_rows


@pytest.fixture
async def emulator(client: WebClient) -> AsyncIterator[OkdeskEmulator]:
    """An Okdesk emulator whose webhooks go to the endpoint, with the right secret."""
    emu = OkdeskEmulator()
    await emu.start()
    emu.set_webhook_urls([str(client.make_url(hook_url()))])
    yield emu
    await emu.stop()


async def test_status_change_webhook_is_accepted_and_stored_as_sent(
    emulator: OkdeskEmulator, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await emulator.change_status(1, "completed", comment="Работы проверены")

    [delivery] = await emulator.wait_for_webhooks(1)

    assert delivery.status == 200
    [row] = await inbox_rows(session_factory)
    assert row.payload == delivery.payload
    assert (row.event_type, row.okdesk_issue_id) == ("new_ticket_status", 1)
    event = parse_webhook(row.payload)
    assert isinstance(event, StatusChangedEvent)
    assert event.new_status.code == "completed"
    assert event.issue.contact_id is not None


async def test_every_staff_action_is_recorded_once(
    emulator: OkdeskEmulator, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    issue = await emulator.create_issue("Не работает касса", contact_id=1, company_id=1)
    comment = await emulator.add_comment(issue.id, "<p>Выезжаем</p>")
    await emulator.change_status(issue.id, "in_progress")

    deliveries = await emulator.wait_for_webhooks(3)

    assert [delivery.status for delivery in deliveries] == [200, 200, 200]
    rows = await inbox_rows(session_factory)
    assert sorted(row.event_type for row in rows) == [
        "new_comment",
        "new_ticket",
        "new_ticket_status",
    ]
    assert {row.okdesk_issue_id for row in rows} == {issue.id}
    [comment_row] = [row for row in rows if row.event_type == "new_comment"]
    assert comment_row.dedup_key == f"comment:{comment.id}"
    parsed = parse_webhook(comment_row.payload)
    assert isinstance(parsed, NewCommentEvent)
    assert parsed.comment.content == "<p>Выезжаем</p>"

"""`POST {WEBHOOK_PATH}`: authenticated, size-limited, recorded once, answered without a 500."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import shutil
import threading
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.models import InboxStatus
from okdesk_bot.web.webhook import MAX_BODY_BYTES, WebhookEndpoint
from tests.integration.web.conftest import (
    PATH,
    SECRET,
    WebClient,
    hook_url,
    inbox_rows,
    serve,
    unused_port,
)
from tests.unit.okdesk.test_webhooks import OFFICIAL_STATUS_EXAMPLE

Sessions = async_sessionmaker[AsyncSession]


def _comment(comment_id: int, content: str = "<p>Готово</p>") -> dict[str, Any]:
    return {
        "event": {
            "event_type": "new_comment",
            "author": {"id": "2", "first_name": "Сергей", "type": "employee"},
            "comment": {"id": str(comment_id), "is_public": True, "content": content},
        },
        "issue": {"id": "153", "title": "Касса", "client": {"contact": {"id": "21"}}},
    }


async def test_valid_webhook_is_stored_once_as_sent(
    client: WebClient, session_factory: Sessions, now: datetime
) -> None:
    response = await client.post(hook_url(), json=OFFICIAL_STATUS_EXAMPLE)

    assert response.status == 200
    assert await response.json() == {"status": "accepted"}
    [row] = await inbox_rows(session_factory)
    assert row.payload == OFFICIAL_STATUS_EXAMPLE
    assert row.event_type == "new_ticket_status"
    assert row.okdesk_issue_id == 153
    assert row.dedup_key.startswith("sha256:")
    assert row.status is InboxStatus.PENDING
    assert row.received_at == now


async def test_same_webhook_twice_is_one_row_and_a_duplicate(
    client: WebClient, session_factory: Sessions
) -> None:
    first = await client.post(hook_url(), json=_comment(5880))
    # The same content, encoded differently (key order, spacing), is the same delivery.
    reencoded = json.dumps(dict(reversed(list(_comment(5880).items()))), indent=2)
    second = await client.post(
        hook_url(), data=reencoded, headers={"Content-Type": "application/json"}
    )

    assert (first.status, await first.json()) == (200, {"status": "accepted"})
    assert (second.status, await second.json()) == (200, {"status": "duplicate"})
    [row] = await inbox_rows(session_factory)
    assert row.dedup_key == "comment:5880"


async def test_different_comments_are_different_rows(
    client: WebClient, session_factory: Sessions
) -> None:
    for comment_id in (1, 2):
        response = await client.post(hook_url(), json=_comment(comment_id))
        assert await response.json() == {"status": "accepted"}

    rows = await inbox_rows(session_factory)
    assert [row.dedup_key for row in rows] == ["comment:1", "comment:2"]


@pytest.mark.parametrize(
    "url",
    [
        hook_url(None),
        hook_url("wrong-secret"),
        hook_url(""),
        hook_url(SECRET[:-1]),
        hook_url("секрет"),
        f"{PATH}?token={SECRET}",
    ],
    ids=["missing", "wrong", "empty", "prefix", "non-ascii", "other-parameter"],
)
async def test_missing_or_wrong_secret_is_401_and_nothing_stored(
    client: WebClient,
    session_factory: Sessions,
    endpoint: WebhookEndpoint,
    caplog: pytest.LogCaptureFixture,
    url: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="okdesk_bot.web.webhook"):
        response = await client.post(url, json=OFFICIAL_STATUS_EXAMPLE)

    assert response.status == 401
    assert await response.json() == {"error": "unauthorized"}
    assert await inbox_rows(session_factory) == []
    assert endpoint.stats.rejected == 1
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "secret" in record.getMessage()
    presented = url.partition("=")[2]
    if presented:
        assert presented not in caplog.text


async def test_oversized_body_is_413_and_nothing_stored(
    client: WebClient, session_factory: Sessions
) -> None:
    body = json.dumps(_comment(1, content="x" * MAX_BODY_BYTES)).encode()

    response = await client.post(
        hook_url(), data=io.BytesIO(body), headers={"Content-Type": "application/json"}
    )

    assert response.status == 413
    assert "error" in await response.json()
    assert await inbox_rows(session_factory) == []


async def test_oversized_body_without_content_length_is_413(
    client: WebClient, session_factory: Sessions
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * (MAX_BODY_BYTES // 4)
        yield json.dumps(_comment(1)).encode()

    response = await client.post(hook_url(), data=chunks())

    assert response.status == 413
    assert await inbox_rows(session_factory) == []


async def test_body_of_exactly_the_limit_is_accepted(
    client: WebClient, session_factory: Sessions
) -> None:
    body = json.dumps(_comment(1)).encode()
    body = body.ljust(MAX_BODY_BYTES, b" ")  # trailing whitespace is valid JSON

    response = await client.post(
        hook_url(), data=io.BytesIO(body), headers={"Content-Type": "application/json"}
    )

    assert (response.status, await response.json()) == (200, {"status": "accepted"})
    assert len(await inbox_rows(session_factory)) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"event_type=new_ticket", "not JSON"),
        (b"", "not JSON"),
        (b'{"event": ', "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b'{"event": {"event_type": "new_ticket"}, "issue": {"id": NaN}}', "not JSON"),
        (b"[]", "must be a JSON object"),
        (b'"new_ticket"', "must be a JSON object"),
        (b'{"issue": {"id": "1"}}', "no `event` object"),
        (b'{"event": {"event_type": "new_comment"}, "issue": {"id": "1"}}', "event.comment"),
    ],
)
async def test_body_that_is_not_a_webhook_is_400_and_nothing_stored(
    client: WebClient, session_factory: Sessions, body: bytes, error: str
) -> None:
    response = await client.post(
        hook_url(), data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status == 400
    assert error in (await response.json())["error"]
    assert await inbox_rows(session_factory) == []


async def test_unknown_event_type_is_200_ignored_and_logged(
    client: WebClient,
    session_factory: Sessions,
    endpoint: WebhookEndpoint,
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {"event": {"event_type": "new_company"}, "company": {"id": "15", "name": "Ромашка"}}

    with caplog.at_level(logging.INFO, logger="okdesk_bot.web.webhook"):
        response = await client.post(hook_url(), json=payload)

    assert (response.status, await response.json()) == (200, {"status": "ignored"})
    assert "unknown type 'new_company'" in caplog.text
    # Kept for diagnostics, with no issue to hold back.
    [row] = await inbox_rows(session_factory)
    assert (row.event_type, row.okdesk_issue_id, row.payload) == ("new_company", None, payload)
    assert (endpoint.stats.ignored, endpoint.stats.accepted) == (1, 0)


async def test_wrong_method_is_405(client: WebClient) -> None:
    response = await client.get(hook_url())

    assert response.status == 405


def _unreachable_database(kind: str, tmp_path: Path) -> AsyncEngine:
    """SQLite: a file in a directory removed after start; PostgreSQL: nobody listening."""
    if kind == "sqlite":
        directory = tmp_path / "gone"
        directory.mkdir()
        engine = create_engine(f"sqlite:///{directory / 'bot.db'}")
        shutil.rmtree(directory)
        return engine
    return create_engine(f"postgresql://postgres@127.0.0.1:{unused_port()}/bot")


async def _join_aiosqlite_threads() -> None:
    """Let the worker threads of failed SQLite connections end while the loop still runs.

    aiosqlite (0.22) stops the thread of a connection that failed to open without awaiting
    it; if the test's loop closes first, the thread dies with "Event loop is closed".
    """
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_database_down_is_503_and_never_500(
    kind: str, tmp_path: Path, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _unreachable_database(kind, tmp_path)
    sessions = create_session_factory(engine)
    endpoint = WebhookEndpoint(path=PATH, secret=SECRET, sessions=sessions, clock=lambda: now)
    client = await serve(endpoint)
    try:
        with caplog.at_level(logging.ERROR, logger="okdesk_bot.web.webhook"):
            response = await client.post(hook_url(), json=OFFICIAL_STATUS_EXAMPLE)
            answer = await response.json()
        health = await client.get("/health")
        health_report = await health.json()
    finally:
        await client.close()
        await engine.dispose()
        await _join_aiosqlite_threads()

    assert response.status == 503
    assert answer == {"error": "unavailable"}
    assert "answered 503" in caplog.text
    assert "Traceback" not in caplog.text
    assert endpoint.stats.unavailable == 1
    assert endpoint.stats.last_webhook_at is None
    assert health.status == 503
    assert health_report["components"]["webhooks"]["status"] == "error"


async def test_health_reports_the_last_webhook_and_the_backlog(
    client: WebClient, now: datetime
) -> None:
    before = await (await client.get("/health")).json()
    await client.post(hook_url(), json=_comment(1))
    await client.post(hook_url(), json=_comment(1))
    await client.post(hook_url("wrong"), json=_comment(2))

    response = await client.get("/health")

    assert before["components"]["webhooks"]["last_webhook_at"] is None
    assert response.status == 200
    webhooks = (await response.json())["components"]["webhooks"]
    assert webhooks["status"] == "ok"
    assert webhooks["last_webhook_at"] == now.isoformat()
    assert webhooks["last_accepted_at"] == now.isoformat()
    assert (webhooks["received"], webhooks["accepted"]) == (3, 1)
    assert (webhooks["duplicates"], webhooks["rejected"]) == (1, 1)
    assert (webhooks["inbox_pending"], webhooks["inbox_failed"]) == (1, 0)
    assert webhooks["inbox_oldest_pending_seconds"] == 0


async def test_alias_and_official_name_of_one_comment_are_one_row(
    client: WebClient, session_factory: Sessions
) -> None:
    aliased = copy.deepcopy(_comment(7))
    aliased["event"]["event_type"] = "comment.created"

    first = await client.post(hook_url(), json=aliased)
    second = await client.post(hook_url(), json=_comment(7))

    assert await first.json() == {"status": "accepted"}
    assert await second.json() == {"status": "duplicate"}
    [row] = await inbox_rows(session_factory)
    assert (row.event_type, row.payload) == ("new_comment", aliased)

"""The sandbox without a browser: it starts, serves its page, and the page's APIs work.

Everything goes over HTTP to the sandbox's page server, as the page's scripts do.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import make_url

from okdesk_bot.sandbox import Sandbox, open_sandbox
from okdesk_bot.sandbox.server import CLIENT, CLIENT_ID

STATIC = Path(__file__).resolve().parents[2] / "okdesk_bot" / "sandbox" / "static"
EVENT_TIMEOUT = 15.0
JAVASCRIPT = {"text/javascript", "application/javascript"}
CSS = {"text/css"}


class EventStream:
    """Reads Server-Sent Events from `/api/events`."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def next(self) -> tuple[str, Any]:
        """The next event's name and decoded data (comments and `retry:` are skipped)."""
        name, data = "message", ""
        async with asyncio.timeout(EVENT_TIMEOUT):
            async for raw in self._response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data += line.removeprefix("data: ")
                elif not line and data:
                    return name, json.loads(data)
        raise AssertionError("the event stream ended")

    async def until(self, name: str, predicate: Any) -> Any:
        """The data of the first `name` event that satisfies `predicate`."""
        while True:
            event, data = await self.next()
            if event == name and predicate(data):
                return data


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield session


@pytest.fixture
async def events(http: aiohttp.ClientSession) -> AsyncIterator[EventStream]:
    async with http.get("/api/events") as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        yield EventStream(response)


def client_url(action: str) -> str:
    return f"/telegram/_user/users/{CLIENT_ID}/{action}"


async def test_the_page_and_everything_it_loads_come_from_the_sandbox(
    http: aiohttp.ClientSession,
) -> None:
    async with http.get("/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        page = await response.text()
    assert '<script type="module" src="/static/main.js"></script>' in page
    referenced = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert referenced == ["data:,", "/static/sandbox.css", "/static/main.js"]

    scripts = sorted(path.name for path in STATIC.glob("*.js"))
    for name in [*scripts, "sandbox.css"]:
        async with http.get(f"/static/{name}") as response:
            assert response.status == 200, name
            expected = CSS if name.endswith(".css") else JAVASCRIPT  # modules need these
            assert response.content_type in expected, name
            body = await response.text()
        imports = re.findall(r'^import .* from "([^"]+)";$', body, flags=re.MULTILINE)
        assert all(re.fullmatch(r"\./[a-z]+\.js", target) for target in imports), imports
        assert "url(" not in body
        assert "@import" not in body


async def test_the_page_learns_who_it_plays_and_the_okdesk_statuses(
    http: aiohttp.ClientSession,
) -> None:
    async with http.get("/api/sandbox") as response:
        config = await response.json()
    assert config["client"]["id"] == CLIENT_ID
    assert config["client"]["phone_number"] == CLIENT["phone_number"]
    assert config["bot"]["username"] == "romashka_support_bot"
    assert [status["code"] for status in config["statuses"]] == [
        "opened",
        "in_progress",
        "delayed",
        "completed",
        "closed",
    ]


async def test_the_stream_starts_with_everything_and_brings_the_bots_answer(
    http: aiohttp.ClientSession, events: EventStream
) -> None:
    first = {}
    for _ in range(3):
        name, data = await events.next()
        first[name] = data
    assert first["chat"] == {"messages": [], "keyboard": None}
    assert [entry["issue"]["id"] for entry in first["tickets"]] == [1, 2]
    assert first["webhooks"] == []

    async with http.post(client_url("text"), json={"text": "/start"}) as response:
        assert response.status == 200
        assert (await response.json())["text"] == "/start"

    def greeted(chat: dict[str, Any]) -> bool:
        return any(message["from_bot"] for message in chat["messages"])

    chat = await events.until("chat", greeted)
    greeting = chat["messages"][-1]
    assert "Мария" in greeting["text"]
    buttons = [b["text"] for row in greeting["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["👤 Физическое лицо", "🏢 Юридическое лицо"]


async def test_support_actions_reach_okdesk_and_its_webhook_reaches_the_bot(
    sandbox: Sandbox, http: aiohttp.ClientSession, events: EventStream
) -> None:
    note = "<p>Проверить картридж.</p>"
    async with http.post(
        "/okdesk/_staff/issues/1/comments", json={"content": note, "public": False}
    ) as response:
        assert response.status == 200
        comment = await response.json()
    assert comment["public"] is False
    assert sandbox.okdesk.state.comments[comment["id"]].content == note

    def answered(log: list[dict[str, Any]]) -> bool:
        return bool(log) and log[0]["status"] is not None

    [delivery] = await events.until("webhooks", answered)
    assert delivery["event_type"] == "new_comment"
    assert delivery["status"] == 200  # the bot's webhook endpoint accepted it
    settings = sandbox.service.settings
    assert delivery["url"] == f"http://{settings.host}:{settings.port}/webhook?secret=***"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() not in json.dumps(delivery)


async def test_the_emulators_refusals_reach_the_page_unchanged(
    http: aiohttp.ClientSession,
) -> None:
    async with http.post(client_url("text"), json={"text": "   "}) as response:
        assert response.status == 400
        assert "empty message" in (await response.json())["error"]
    async with http.post("/okdesk/_staff/issues/999/comments", json={"content": "x"}) as response:
        assert response.status == 404
    async with http.post(
        "/okdesk/_staff/issues/1/statuses", json={"code": "no_such_status"}
    ) as response:
        assert response.status == 422
        assert "errors" in await response.json()


async def test_leaving_stops_everything_and_removes_the_database() -> None:
    async with open_sandbox(port=0) as sandbox:
        database = make_url(sandbox.service.settings.database_url).database
        assert database is not None
        workdir = Path(database).parent
        assert workdir.is_dir()
        url = sandbox.url
    assert not workdir.exists()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)

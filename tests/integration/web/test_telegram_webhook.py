"""The Telegram webhook endpoint over real HTTP, feeding a real Dispatcher, on both databases.

The Dispatcher's one handler records what it handled; its behaviour (fail, be slow) is set per
test. Nothing here talks to Telegram: the handlers never call the Bot API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.web.telegram_webhook import (
    CLAIM_LEASE,
    SECRET_HEADER,
    TELEGRAM_NETWORKS,
    ClientAddressPolicy,
    TelegramWebhookEndpoint,
    create_telegram_web_app,
)
from tests.support import BOT_TOKEN

SECRET = "tg-Secret_token-123"
PATH = "/telegram"
LOCALHOST = (ip_network("127.0.0.1/32"),)

WebClient = TestClient[web.Request, web.Application]
Behaviour = Callable[[int], Awaitable[None]]


class Recorder:
    """The handler: records each update it finishes, after `behaviour` (if set) lets it."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.handled: list[int] = []
        self.behaviour: Behaviour | None = None

    async def handle(self, message: Message, event_update: Update) -> None:
        update_id = event_update.update_id
        self.started.append(update_id)
        if self.behaviour is not None:
            await self.behaviour(update_id)
        self.handled.append(update_id)


def update(update_id: int, text: str = "hello") -> dict[str, Any]:
    person = {"id": 42, "is_bot": False, "first_name": "Ann"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": 42, "type": "private", "first_name": "Ann"},
            "from": person,
            "text": text,
        },
    }


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    telegram_bot = Bot(BOT_TOKEN)
    yield telegram_bot
    await telegram_bot.session.close()


@pytest.fixture
def dispatcher(recorder: Recorder) -> Dispatcher:
    router = Router()
    router.message.register(recorder.handle)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def serve(endpoint: TelegramWebhookEndpoint) -> WebClient:
    client = TestClient(TestServer(create_telegram_web_app(endpoint)))
    await client.start_server()
    return client


def make_endpoint(
    bot: Bot,
    dispatcher: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    *,
    answer_timeout: float = 5.0,
    **policy: Any,
) -> TelegramWebhookEndpoint:
    return TelegramWebhookEndpoint(
        path=PATH,
        secret=SECRET,
        bot=bot,
        dispatcher=dispatcher,
        sessions=sessions,
        addresses=ClientAddressPolicy(**policy),
        answer_timeout=answer_timeout,
    )


@pytest.fixture
def endpoint(
    bot: Bot, dispatcher: Dispatcher, session_factory: async_sessionmaker[AsyncSession]
) -> TelegramWebhookEndpoint:
    return make_endpoint(bot, dispatcher, session_factory)


@pytest.fixture
async def client(endpoint: TelegramWebhookEndpoint) -> AsyncIterator[WebClient]:
    web_client = await serve(endpoint)
    yield web_client
    await web_client.close()


async def post(
    client: WebClient, body: Any, *, secret: str | None = SECRET, **headers: str
) -> tuple[int, dict[str, Any]]:
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with client.post(PATH, json=body, headers=headers) as response:
        answer: dict[str, Any] = await response.json()
        return response.status, answer


async def post_once(
    endpoint: TelegramWebhookEndpoint, body: Any, **headers: str
) -> tuple[int, dict[str, Any]]:
    """Serve the endpoint for one delivery (a process that starts, answers and stops)."""
    client = await serve(endpoint)
    try:
        return await post(client, body, **headers)
    finally:
        await client.close()


async def test_an_update_is_handled_before_the_answer(
    client: WebClient, recorder: Recorder
) -> None:
    status, answer = await post(client, update(1))
    assert (status, answer) == (200, {"status": "handled"})
    assert recorder.handled == [1]


@pytest.mark.parametrize("secret", [None, "", "tg-Secret_token-12", SECRET + "4", "x" * 300])
async def test_missing_or_wrong_secret_is_401_and_nothing_handled(
    client: WebClient, recorder: Recorder, secret: str | None
) -> None:
    status, answer = await post(client, update(1), secret=secret)
    assert (status, answer) == (401, {"error": "unauthorized"})
    assert recorder.started == []


@pytest.mark.parametrize("body", [[1, 2], {"message": {}}, {"update_id": "one"}])
async def test_a_body_that_is_not_an_update_is_400(
    client: WebClient, recorder: Recorder, body: Any
) -> None:
    status, _ = await post(client, body)
    assert status == 400
    assert recorder.started == []


async def test_a_failed_update_is_500_and_handled_when_delivered_again(
    client: WebClient, recorder: Recorder
) -> None:
    attempts = 0

    async def fail_once(_: int) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            msg = "the database went away"
            raise RuntimeError(msg)

    recorder.behaviour = fail_once
    assert (await post(client, update(7)))[0] == 500
    assert recorder.handled == []
    assert await post(client, update(7)) == (200, {"status": "handled"})
    assert recorder.handled == [7]


async def test_an_update_delivered_again_after_success_is_not_handled_twice(
    client: WebClient, recorder: Recorder
) -> None:
    await post(client, update(3))
    assert await post(client, update(3)) == (200, {"status": "duplicate"})
    assert recorder.started == [3]


async def test_a_slow_update_is_answered_in_time_and_finishes_once(
    bot: Bot,
    dispatcher: Dispatcher,
    recorder: Recorder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    release = asyncio.Event()

    async def wait_for_release(_: int) -> None:
        await release.wait()

    recorder.behaviour = wait_for_release
    endpoint = make_endpoint(bot, dispatcher, session_factory, answer_timeout=0.05)
    client = await serve(endpoint)
    try:
        assert await post(client, update(5)) == (200, {"status": "handling"})
        # Telegram gave up on the first answer and delivers the update again meanwhile.
        assert await post(client, update(5)) == (200, {"status": "handling"})
        release.set()
        assert await endpoint.close(grace=5)
    finally:
        await client.close()
    assert recorder.started == [5]
    assert recorder.handled == [5]


async def test_an_update_handled_by_another_instance_or_before_a_restart_is_a_duplicate(
    bot: Bot,
    dispatcher: Dispatcher,
    recorder: Recorder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = make_endpoint(bot, dispatcher, session_factory)
    assert await post_once(first, update(11)) == (200, {"status": "handled"})
    second = make_endpoint(bot, dispatcher, session_factory)  # or the first, restarted
    assert await post_once(second, update(11)) == (200, {"status": "duplicate"})
    assert recorder.started == [11]


async def test_an_update_another_instance_is_handling_waits_for_it(
    bot: Bot,
    dispatcher: Dispatcher,
    recorder: Recorder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(_: int) -> None:
        started.set()
        await release.wait()

    recorder.behaviour = slow
    busy = await serve(make_endpoint(bot, dispatcher, session_factory))
    other = await serve(make_endpoint(bot, dispatcher, session_factory))
    try:
        first_delivery = asyncio.create_task(post(busy, update(12)))
        await started.wait()
        # Telegram's retry reaches the other instance: refused, so Telegram tries again later.
        assert await post(other, update(12)) == (503, {"error": "being handled elsewhere"})
        release.set()
        assert await first_delivery == (200, {"status": "handled"})
        assert await post(other, update(12)) == (200, {"status": "duplicate"})
    finally:
        await busy.close()
        await other.close()
    assert recorder.handled == [12]


async def test_the_claim_of_an_instance_that_died_is_taken_over(
    client: WebClient, recorder: Recorder, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with UnitOfWork(session_factory) as uow:  # claimed long ago, never finished
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        await uow.telegram_updates.claim(13, now=long_ago, lease=CLAIM_LEASE)
        await uow.commit()

    assert await post(client, update(13)) == (200, {"status": "handled"})
    assert recorder.handled == [13]


async def test_an_update_that_cannot_be_recorded_is_503_and_not_handled(
    bot: Bot, dispatcher: Dispatcher, recorder: Recorder, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")  # no table
    client = await serve(make_endpoint(bot, dispatcher, create_session_factory(engine)))
    try:
        assert await post(client, update(14)) == (503, {"error": "unavailable"})
    finally:
        await client.close()
        await engine.dispose()
    assert recorder.started == []


async def test_closing_refuses_new_updates_and_waits_for_those_in_flight(
    client: WebClient, endpoint: TelegramWebhookEndpoint, recorder: Recorder
) -> None:
    started = asyncio.Event()

    async def slow(_: int) -> None:
        started.set()
        await asyncio.sleep(0.2)

    recorder.behaviour = slow
    in_flight = asyncio.create_task(post(client, update(1)))
    await started.wait()
    closing = asyncio.create_task(endpoint.close(grace=5))
    assert await post(client, update(2)) == (503, {"error": "shutting down"})
    assert await closing
    assert await in_flight == (200, {"status": "handled"})
    assert recorder.started == [1]


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    bot: Bot,
    dispatcher: Dispatcher,
    recorder: Recorder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    telegram = {"X-Forwarded-For": "149.154.167.99"}
    direct = make_endpoint(bot, dispatcher, session_factory, allowed_networks=TELEGRAM_NETWORKS)
    proxied = make_endpoint(
        bot,
        dispatcher,
        session_factory,
        allowed_networks=TELEGRAM_NETWORKS,
        trusted_proxies=LOCALHOST,
    )
    for endpoint, expected in ((direct, 403), (proxied, 200)):
        assert (await post_once(endpoint, update(expected), **telegram))[0] == expected
    assert recorder.handled == [200]


async def test_an_address_outside_telegram_is_403_and_logged(
    bot: Bot,
    dispatcher: Dispatcher,
    recorder: Recorder,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = make_endpoint(
        bot,
        dispatcher,
        session_factory,
        allowed_networks=TELEGRAM_NETWORKS,
        trusted_proxies=LOCALHOST,
    )
    client = await serve(endpoint)
    try:
        with caplog.at_level(logging.WARNING, logger="okdesk_bot.web.telegram_webhook"):
            status, _ = await post(
                client, update(1), **{"X-Forwarded-For": "149.154.167.99, 203.0.113.5"}
            )
    finally:
        await client.close()
    assert status == 403
    assert recorder.started == []
    assert "203.0.113.5" in caplog.text


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", [], "127.0.0.1"),
        ("198.51.100.1", ["203.0.113.5"], "198.51.100.1"),  # not a trusted proxy: ignored
        ("127.0.0.1", ["203.0.113.5, 10.0.0.2"], "10.0.0.2"),
        ("127.0.0.1", ["6.6.6.6, 203.0.113.5"], "203.0.113.5"),  # only the last hop counts
        ("127.0.0.1", ["127.0.0.9", "127.0.0.8"], "127.0.0.9"),  # all trusted: the first
        ("127.0.0.1", ["not-an-address"], "not-an-address"),
    ],
)
def test_client_address_policy(peer: str, forwarded: list[str], client: str) -> None:
    policy = ClientAddressPolicy(trusted_proxies=(ip_network("127.0.0.0/8"),))
    assert policy.client_of(peer, forwarded) == client


def test_allow_list_is_off_by_default_and_refuses_what_it_cannot_read() -> None:
    assert ClientAddressPolicy().allows("203.0.113.5")
    telegram_only = ClientAddressPolicy(allowed_networks=TELEGRAM_NETWORKS)
    assert telegram_only.allows("91.108.4.10")
    assert not telegram_only.allows("203.0.113.5")
    assert not telegram_only.allows("not-an-address")
    assert not telegram_only.allows(None)


def test_the_secret_is_not_in_the_repr(endpoint: TelegramWebhookEndpoint) -> None:
    assert SECRET not in repr(endpoint)

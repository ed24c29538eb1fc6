"""Updates: long polling with a real Dispatcher, offset semantics, webhooks and conflicts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramConflictError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator, WebhookPolicy

from .conftest import polling, wait_for

ALICE = 1001


def start_router() -> Router:
    router = Router()

    @router.message(Command("start"))
    async def start(message: Message, command: CommandObject) -> None:
        payload = f" ({command.args})" if command.args else ""
        name = message.chat.first_name
        await message.answer(f"Здравствуйте, <b>{name}</b>{payload}", parse_mode="HTML")

    return router


async def test_polling_delivers_start_and_the_user_sees_the_answer(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    bob = emulator.user(2002, "Bob")

    async with polling(emulator, bot, start_router()):
        await bob.send_command("/start", "invite-42")
        reply = await bob.wait_for_bot_message()

    assert reply.text == "Здравствуйте, Bob (invite-42)"
    assert reply.source == "Здравствуйте, <b>Bob</b> (invite-42)"


async def test_a_command_anywhere_in_the_text_gets_a_bot_command_entity(
    emulator: TelegramEmulator,
) -> None:
    message = await emulator.user(2002, "Bob").send_text("please /help me")

    assert message.entities == [{"type": "bot_command", "offset": 7, "length": 5}]


async def test_confirmed_updates_are_not_delivered_again(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    for text in ("two", "three"):
        await alice.send_text(text)

    first = await bot.get_updates()
    again = await bot.get_updates()
    after_two = await bot.get_updates(offset=first[1].update_id)
    drained = await bot.get_updates(offset=first[-1].update_id + 1)

    texts = [u.message.text for u in first if u.message]
    assert texts == ["/start", "two", "three"]
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert [u.update_id for u in after_two] == [u.update_id for u in first[1:]]
    assert drained == []


async def test_negative_offset_keeps_only_the_last_updates_and_limit_caps_the_batch(
    bot: Bot, alice: EmulatedUser
) -> None:
    for text in ("b", "c", "d"):
        await alice.send_text(text)

    last_two = await bot.get_updates(offset=-2)
    first_of_them = await bot.get_updates(limit=1)

    assert [u.message.text for u in last_two if u.message] == ["c", "d"]
    assert [u.message.text for u in first_of_them if u.message] == ["c"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=30))
    await wait_for(lambda: emulator.stats.calls["getUpdates"] == 1)
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await emulator.user(2002, "Bob").send_text("hello")

    async with asyncio.timeout(2):
        updates = await waiting
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_long_poll_without_updates_ends_after_its_timeout(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_allowed_updates_filters_new_updates(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    [start] = await bot.get_updates(allowed_updates=["my_chat_member"])

    await alice.send_text("ignored")
    await alice.block()

    [update] = await bot.get_updates(offset=start.update_id + 1)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_a_newer_get_updates_terminates_the_waiting_one(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=30))
    await wait_for(lambda: emulator.stats.calls["getUpdates"] == 1)

    assert await bot.get_updates() == []

    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await older


async def test_get_updates_conflicts_with_an_active_webhook(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=30))
    await wait_for(lambda: emulator.stats.calls["getUpdates"] == 1)

    await bot.set_webhook("http://127.0.0.1:9/telegram")

    with pytest.raises(TelegramConflictError, match="terminated by setWebhook request"):
        await waiting
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == []


@dataclass
class Receiver:
    """A real aiohttp webhook receiver that answers with scripted statuses."""

    statuses: list[int] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.updates.append(await request.json())
        return web.Response(status=status)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/telegram", hook.handle)
    async with serving(app) as base:
        hook.url = f"{base}/telegram"
        yield hook


async def test_webhook_posts_updates_in_order_with_the_secret_and_retries_failures(
    emulator: TelegramEmulator, bot: Bot, receiver: Receiver
) -> None:
    emulator.webhook_policy = WebhookPolicy(first_retry_delay=0.01, max_retry_delay=0.02)
    receiver.statuses = [500, 502]
    bob = emulator.user(2002, "Bob")

    await bot.set_webhook(receiver.url, secret_token="s3cr3t_-")
    await bob.send_text("first")
    await bob.send_text("second")
    await wait_for(lambda: len(receiver.updates) == 2)

    assert [u["message"]["text"] for u in receiver.updates] == ["first", "second"]
    assert receiver.secrets == ["s3cr3t_-"] * 4
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"


async def test_set_webhook_can_drop_pending_updates(
    emulator: TelegramEmulator, bot: Bot, receiver: Receiver, alice: EmulatedUser
) -> None:
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    await alice.send_text("after")
    await wait_for(lambda: len(receiver.updates) == 1)

    assert receiver.updates[0]["message"]["text"] == "after"


async def test_aiogram_webhook_handler_can_answer_with_a_method_call(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    dispatcher = Dispatcher()
    router = Router()

    @router.message()
    async def echo(message: Message) -> Any:
        return message.answer(f"echo: {message.text}")

    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False).register(app, "/hook")
    bob = emulator.user(2002, "Bob")

    async with serving(app) as base:
        await bot.set_webhook(f"{base}/hook")
        await bob.send_text("ping")
        reply = await bob.wait_for_bot_message()

    assert reply.text == "echo: ping"

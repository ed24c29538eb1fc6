"""Fixtures: a running emulator and real aiogram bots pointed at it over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from okdesk_bot.emulators.telegram import DEFAULT_TOKEN, EmulatedUser, TelegramEmulator

BotFactory = Callable[..., Bot]


class PlainHttpSession(AiohttpSession):
    """aiogram's session without the 250 ms pause its `close()` makes for TLS shutdown."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    """A running emulator with flood control off (flood tests build their own)."""
    telegram = TelegramEmulator(per_chat_rate=None, global_rate=None)
    await telegram.start()
    yield telegram
    await telegram.stop()


def connect(
    emulator: TelegramEmulator, token: str = DEFAULT_TOKEN, *, timeout: float = 10.0
) -> Bot:
    """A real aiogram Bot talking to `emulator` over HTTP."""
    api = TelegramAPIServer.from_base(emulator.base_url)
    return Bot(token, session=PlainHttpSession(api=api, timeout=timeout))


@pytest.fixture
async def make_bot(emulator: TelegramEmulator) -> AsyncIterator[BotFactory]:
    """Build real aiogram bots against the emulator; sessions are closed afterwards."""
    bots: list[Bot] = []

    def build(token: str = DEFAULT_TOKEN, *, timeout: float = 10.0) -> Bot:
        bot = connect(emulator, token, timeout=timeout)
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        await bot.session.close()


@pytest.fixture
def bot(make_bot: BotFactory) -> Bot:
    """The default bot."""
    return make_bot()


@pytest.fixture
async def alice(emulator: TelegramEmulator) -> EmulatedUser:
    """A person who has already started the default bot (so it may write to her)."""
    user = emulator.user(1001, "Alice", username="alice", phone_number="+79990000001")
    await user.send_command("/start")
    return user


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition the test cannot await directly."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - conditions of other components, no event
            await asyncio.sleep(0.01)


@asynccontextmanager
async def polling(
    emulator: TelegramEmulator, bot: Bot, *routers: Router
) -> AsyncIterator[Dispatcher]:
    """Run a real Dispatcher with `routers` in long-polling mode for the block's duration."""
    dispatcher = Dispatcher()
    for router in routers:
        dispatcher.include_router(router)
    polls_before = emulator.stats.calls["getUpdates"]
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    await wait_for(lambda: emulator.stats.calls["getUpdates"] > polls_before)
    try:
        yield dispatcher
    finally:
        await dispatcher.stop_polling()
        await task

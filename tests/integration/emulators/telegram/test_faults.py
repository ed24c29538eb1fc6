"""Flood control and injected faults, as aiogram sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from okdesk_bot.emulators.telegram import EmulatedUser, Fault, TelegramEmulator

from .conftest import BotFactory, connect, polling, wait_for

ALICE = 1001
BOB = 2002


@pytest.fixture
async def flood_limited() -> AsyncIterator[tuple[TelegramEmulator, Bot]]:
    """An emulator with the default limits (1/s per chat after a burst of 3, 30/s overall)."""
    telegram = TelegramEmulator()
    await telegram.start()
    bot = connect(telegram)
    yield telegram, bot
    await bot.session.close()
    await telegram.stop()


async def test_a_burst_to_one_chat_gets_429_with_retry_after(
    flood_limited: tuple[TelegramEmulator, Bot],
) -> None:
    telegram, bot = flood_limited
    await telegram.user(ALICE, "Alice").send_command("start")
    for number in range(3):
        await bot.send_message(ALICE, f"burst {number}")

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE, "one too many")

    assert caught.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in caught.value.message
    assert telegram.stats.too_many_requests == 1
    assert len(telegram.sent_messages(ALICE)) == 3


async def test_waiting_retry_after_lets_the_message_through(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    emulator.flood.configure(per_chat_rate=50.0, per_chat_burst=1, global_rate=None)
    await bot.send_message(ALICE, "first")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE, "second")

    await asyncio.sleep(1 / 50)

    assert (await bot.send_message(ALICE, "second")).text == "second"


async def test_the_global_limit_spans_chats(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    await emulator.user(BOB, "Bob").send_command("start")
    emulator.flood.configure(per_chat_rate=None, global_rate=2.0)
    await bot.send_message(ALICE, "a")
    await bot.send_message(BOB, "b")

    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE, "c")


async def test_queued_faults_hit_the_next_matching_calls_in_order(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    async with polling(emulator, bot):
        emulator.faults.fail_next(status=502)
        emulator.faults.flood_next(retry_after=7, methods=["sendMessage"])
        polls = emulator.stats.calls["getUpdates"]
        await alice.send_text("wake the poller")  # its getUpdates calls must not eat the faults
        await wait_for(lambda: emulator.stats.calls["getUpdates"] > polls)
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_chat_action(ALICE, "typing")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(ALICE, "hello")
        sent = await bot.send_message(ALICE, "hello")

    assert caught.value.retry_after == 7
    assert sent.text == "hello"
    assert emulator.faults.pending == 0
    assert (emulator.stats.server_errors, emulator.stats.too_many_requests) == (1, 1)


async def test_a_held_request_times_out_for_the_bot_but_still_happens(
    emulator: TelegramEmulator, make_bot: BotFactory, alice: EmulatedUser
) -> None:
    impatient = make_bot(timeout=0.1)
    emulator.faults.timeout_next(delay=0.3)

    with pytest.raises(TelegramNetworkError, match="timeout"):
        await impatient.send_message(ALICE, "did it arrive?")

    await wait_for(lambda: bool(emulator.sent_messages(ALICE)))
    assert [m.text for m in alice.bot_messages()] == ["did it arrive?"]


async def test_a_gateway_page_instead_of_json_is_a_decode_error(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    emulator.faults.push(Fault(status=502, raw_body="<html>502 Bad Gateway</html>"))

    with pytest.raises(ClientDecodeError):
        await bot.get_me()


async def test_per_chat_forbidden_faults(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    await emulator.user(BOB, "Bob").send_command("start")
    emulator.faults.block_chat(ALICE)
    emulator.faults.deactivate_chat(BOB)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(BOB, "hi")
    emulator.faults.allow_chat(ALICE)
    assert (await bot.send_message(ALICE, "hi")).text == "hi"
    assert emulator.stats.forbidden == 2


async def test_a_share_of_failures_is_reproducible(emulator: TelegramEmulator, bot: Bot) -> None:
    async def failures() -> list[bool]:
        outcomes = []
        for _ in range(20):
            try:
                await bot.get_me()
            except TelegramServerError:
                outcomes.append(True)
            else:
                outcomes.append(False)
        return outcomes

    emulator.faults.fail_share(0.5, seed=7)
    first = await failures()
    emulator.faults.fail_share(0.5, seed=7)
    second = await failures()

    assert first == second
    assert 0 < sum(first) < 20
    assert emulator.stats.server_errors == 2 * sum(first)

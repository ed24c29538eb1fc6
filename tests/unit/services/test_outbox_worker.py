"""The sender's pacing (`SendGate`) and retry policy, without a database or Telegram."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from okdesk_bot.services.outbox_worker import DeliveryPolicy, SendGate

TOLERANCE = 0.005  # the event loop may wake a timer a little early


async def turn_at(gate: SendGate, chat_id: int, stop: asyncio.Event | None = None) -> float:
    assert await gate.wait_turn(chat_id, stop or asyncio.Event())
    return time.monotonic()


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in pairwise(sorted(times))]


async def test_turns_across_chats_are_evenly_spaced_at_the_rate() -> None:
    gate = SendGate(20.0, chat_interval=0.0)

    times = await asyncio.gather(*(turn_at(gate, chat) for chat in range(6)))

    spacing = 0.05 - SendGate.LATENESS_TOLERANCE - TOLERANCE
    assert min(gaps(times)) >= spacing
    assert max(times) - min(times) < 0.35


async def test_a_stalled_event_loop_does_not_release_a_burst() -> None:
    gate = SendGate(20.0, chat_interval=0.0)
    waiting = [asyncio.create_task(turn_at(gate, chat)) for chat in range(4)]
    await asyncio.sleep(0.01)  # the first goes at once, the others wait for their turns

    time.sleep(0.3)  # noqa: ASYNC251 - the stall of the whole event loop under test

    spacing = 0.05 - SendGate.LATENESS_TOLERANCE - TOLERANCE
    assert min(gaps(await asyncio.gather(*waiting))) >= spacing


async def test_one_chat_waits_its_interval_while_others_go() -> None:
    gate = SendGate(1000.0, chat_interval=0.1)

    first = await turn_at(gate, 1)
    other = await turn_at(gate, 2)
    second = await turn_at(gate, 1)

    assert other - first < 0.05
    assert second - first >= 0.1 - TOLERANCE


async def test_a_pause_holds_back_even_those_already_waiting_for_a_slot() -> None:
    gate = SendGate(5.0, chat_interval=0.0)
    start = await turn_at(gate, 1)
    waiting = asyncio.create_task(turn_at(gate, 2))  # its slot comes 0.2 s after the first
    await asyncio.sleep(0.05)

    await gate.pause(0.3)  # a 429 arrives
    assert await gate.pause_left() > 0.25

    assert await waiting - start >= 0.35 - TOLERANCE


async def test_stopping_ends_the_wait_without_a_turn() -> None:
    gate = SendGate(10.0, chat_interval=0.0)
    await gate.pause(10.0)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)

    started = time.monotonic()
    assert not await gate.wait_turn(1, stop)
    assert time.monotonic() - started < 1.0


async def test_a_turn_that_would_come_too_late_is_refused_at_once() -> None:
    gate = SendGate(10.0, chat_interval=0.0)
    await gate.pause(10.0)

    started = time.monotonic()
    assert not await gate.wait_turn(1, asyncio.Event(), until=started + 1.0)
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"),
    [(1, 1.0, 5.0), (2, 1.0, 10.0), (3, 0.5, 10.0), (7, 1.0, 320.0), (8, 1.0, 600.0)],
)
def test_retries_back_off_exponentially_with_jitter_up_to_a_cap(
    attempt: int, jitter: float, delay: float
) -> None:
    assert DeliveryPolicy().retry_delay(attempt, jitter) == delay


def test_default_attempts_span_minutes_not_seconds() -> None:
    policy = DeliveryPolicy()
    attempts = range(1, policy.max_attempts)
    shortest = sum(policy.retry_delay(attempt, 0.5) for attempt in attempts)
    assert timedelta(seconds=shortest) > timedelta(minutes=5)


def test_enough_messages_are_in_hand_to_keep_the_rate() -> None:
    assert DeliveryPolicy(rate=25.0).concurrency == 50
    assert DeliveryPolicy(rate=0.5).concurrency == 4


@pytest.mark.parametrize("wrong", [{"rate": 0.0}, {"chat_interval": -1.0}, {"max_attempts": 0}])
def test_a_nonsensical_policy_is_refused(wrong: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        DeliveryPolicy(**wrong)

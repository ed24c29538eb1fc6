"""`RedisSendGate`: one Telegram send pace for several instances, on this machine's Redis.

Each "instance" is a gate with its own Redis client; the gates of one test share a fresh key
prefix, as the instances of one bot do.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from itertools import pairwise

import pytest
from redis.asyncio import Redis

from okdesk_bot.services.shared_pace import LATENESS_TOLERANCE, RedisSendGate
from tests.support import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
TIMER_TOLERANCE = 0.005  # the event loop may wake a timer a little early

GateFactory = Callable[..., RedisSendGate]


@pytest.fixture
async def gates() -> AsyncIterator[GateFactory]:
    """Builds gates sharing one fresh prefix, each on its own connection, like instances."""
    prefix = f"test:{uuid.uuid4().hex}"
    clients: list[Redis] = []

    def gate(
        *, rate: float = 20.0, chat_interval: float = 0.0, url: str = REDIS_URL
    ) -> RedisSendGate:
        client = Redis.from_url(url, socket_connect_timeout=0.2)
        clients.append(client)
        return RedisSendGate(client, prefix=prefix, rate=rate, chat_interval=chat_interval)

    yield gate
    async with Redis.from_url(REDIS_URL) as cleaner:
        keys = [key async for key in cleaner.scan_iter(match=f"{prefix}:*")]
        if keys:
            await cleaner.delete(*keys)
    for client in clients:
        await client.aclose()


async def turn_at(gate: RedisSendGate, chat_id: int) -> float:
    assert await gate.wait_turn(chat_id, asyncio.Event())
    return time.monotonic()


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in pairwise(sorted(times))]


async def test_two_instances_together_keep_one_evenly_spaced_rate(gates: GateFactory) -> None:
    first, second = gates(rate=20.0), gates(rate=20.0)

    times = await asyncio.gather(
        *(turn_at(gate, chat) for chat in range(8) for gate in (first, second))
    )

    spacing = 0.05 - LATENESS_TOLERANCE - TIMER_TOLERANCE
    assert min(gaps(times)) >= spacing  # 16 turns, never two closer than the rate allows
    assert max(times) - min(times) < 16 * 0.05  # and no slower than the rate either


async def test_a_chat_served_by_one_instance_waits_its_interval_on_the_other(
    gates: GateFactory,
) -> None:
    first, second = gates(rate=1000.0, chat_interval=0.2), gates(rate=1000.0, chat_interval=0.2)

    sent = await turn_at(first, 1)
    other_chat = await turn_at(second, 2)
    same_chat = await turn_at(second, 1)

    assert other_chat - sent < 0.1
    assert same_chat - sent >= 0.2 - TIMER_TOLERANCE


async def test_a_429_on_one_instance_pauses_every_instance(gates: GateFactory) -> None:
    first, second = gates(rate=5.0), gates(rate=5.0)
    start = await turn_at(first, 1)
    waiting = asyncio.create_task(turn_at(second, 2))  # its slot comes 0.2 s after the first
    await asyncio.sleep(0.05)

    await first.pause(0.4)  # a 429 arrives at the first instance

    assert await second.pause_left() > 0.3
    assert await waiting - start >= 0.45 - TIMER_TOLERANCE


async def test_a_pause_is_never_shortened(gates: GateFactory) -> None:
    first, second = gates(), gates()
    await first.pause(5.0)

    await second.pause(0.1)

    assert await first.pause_left() > 4.5


async def test_a_turn_that_would_come_too_late_is_refused_at_once(gates: GateFactory) -> None:
    first, second = gates(), gates()
    await first.pause(10.0)

    started = time.monotonic()
    assert not await second.wait_turn(1, asyncio.Event(), until=started + 1.0)
    assert time.monotonic() - started < 0.2


async def test_stopping_ends_the_wait_without_a_turn(gates: GateFactory) -> None:
    gate = gates()
    await gate.pause(10.0)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)

    started = time.monotonic()
    assert not await gate.wait_turn(1, stop)
    assert time.monotonic() - started < 1.0


async def test_without_redis_nothing_goes_and_a_429_still_pauses(gates: GateFactory) -> None:
    gate = gates(url=f"redis://127.0.0.1:{free_port()}/0")

    started = time.monotonic()
    assert not await gate.wait_turn(1, asyncio.Event(), until=started + 0.5)
    await gate.pause(3.0)

    assert await gate.pause_left() > 2.5


async def test_a_nonsensical_pace_is_refused() -> None:
    async with Redis.from_url(REDIS_URL) as client:
        with pytest.raises(ValueError, match="rate must be positive"):
            RedisSendGate(client, prefix="test", rate=0.0, chat_interval=1.0)

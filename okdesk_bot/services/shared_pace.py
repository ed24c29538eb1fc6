"""One Telegram send pace for every instance of the service, kept in Redis.

`RedisSendGate` does what `okdesk_bot.services.outbox_worker.SendGate` does in one process,
for all processes that share a Redis and a bot:

* at most `rate` messages per second across all chats and instances, evenly spaced: a GCRA
  (a token bucket holding one token) whose next free slot is one Redis key;
* at least `chat_interval` seconds between two messages to one chat: a key per chat that
  expires when the chat may get its next message;
* after a 429, nothing goes from any instance until `retry_after` has passed: a key that
  expires when the pause ends.

Each turn is taken by one Lua script, atomically, on the Redis server's clock, so instances
with drifting clocks still share one pace. Within an instance the senders queue for the
script one at a time (as in `SendGate`), so Redis sees one contender per instance.

If Redis is unreachable, sending waits (and retries every `REDIS_RETRY_SECONDS`) rather than
exceeding the limit; a 429 then still pauses this instance.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from okdesk_bot.workers import wait_or_stop

log = logging.getLogger(__name__)

REDIS_RETRY_SECONDS: Final = 1.0
LATENESS_TOLERANCE: Final = 0.01
"""As `SendGate.LATENESS_TOLERANCE`: a turn may be taken this much before its slot."""

# KEYS: pause, chat, slot. ARGV: slot interval (µs), tolerance (µs), chat interval (ms).
# Returns 0 when the turn is taken, else the microseconds to wait before asking again.
_TAKE_TURN: Final = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local chat_interval = tonumber(ARGV[3])
local wait = math.max(0, redis.call('PTTL', KEYS[1]) * 1000, redis.call('PTTL', KEYS[2]) * 1000)
local slot = tonumber(redis.call('GET', KEYS[3]) or '0')
wait = math.max(wait, slot - tolerance - now)
if wait > 0 then
  return wait
end
local next_slot = math.max(slot, now) + interval
redis.call('SET', KEYS[3], string.format('%d', next_slot), 'PX',
  math.ceil((next_slot - now) / 1000) + 1000)
if chat_interval > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', chat_interval)
end
return 0
"""

# KEYS: pause. ARGV: pause (ms). Never shortens a longer pause.
_PAUSE: Final = """
local pause = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < pause then
  redis.call('SET', KEYS[1], '1', 'PX', pause)
end
return 0
"""


class RedisSendGate:
    """The send pace (`outbox_worker.Pace`) shared through Redis by every instance.

    `prefix` names the keys; instances sending for the same bot must use the same prefix (and
    the same `rate`). The caller owns `redis` and closes it.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        rate: float,
        chat_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or chat_interval < 0:
            msg = "rate must be positive and chat_interval not negative"
            raise ValueError(msg)
        self._redis = redis
        self._prefix = prefix
        slot_interval = 1.0 / rate
        self._slot_us = max(1, round(slot_interval * 1_000_000))
        self._tolerance_us = round(min(LATENESS_TOLERANCE, slot_interval / 2) * 1_000_000)
        self._chat_interval_ms = math.ceil(chat_interval * 1000)
        self._clock = clock
        self._take_turn = redis.register_script(_TAKE_TURN)
        self._pause = redis.register_script(_PAUSE)
        self._local_pause_until = -math.inf  # a 429 seen while Redis failed
        self._turns = asyncio.Lock()

    @property
    def _pause_key(self) -> str:
        return f"{self._prefix}:pause"

    def _chat_key(self, chat_id: int) -> str:
        return f"{self._prefix}:chat:{chat_id}"

    async def pause(self, seconds: float) -> None:
        """Stop all sending, on every instance, for `seconds` from now."""
        self._local_pause_until = max(self._local_pause_until, self._clock() + seconds)
        try:
            await self._pause(keys=[self._pause_key], args=[math.ceil(seconds * 1000)])
        except RedisError as exc:
            log.warning("Could not share a 429 pause through Redis: %s", _describe(exc))

    async def pause_left(self) -> float:
        """Seconds until the shared pause ends (0 when sending is not paused)."""
        local = max(0.0, self._local_pause_until - self._clock())
        try:
            shared_ms = int(await self._redis.pttl(self._pause_key))
        except RedisError as exc:
            log.warning("Could not read the shared send pause from Redis: %s", _describe(exc))
            return local
        return max(local, shared_ms / 1000)

    async def wait_turn(
        self, chat_id: int, stop: asyncio.Event, *, until: float = math.inf
    ) -> bool:
        """Wait until a message to `chat_id` may go and take that turn.

        False, without a turn, if `stop` is set first or the turn would come after `until`
        (a time of the gate's clock).
        """
        if not await self._wait_for_chat(chat_id, stop, until):
            return False
        async with self._turns:
            while not stop.is_set():
                wait = await self._try_turn(chat_id)
                if wait == 0:
                    return True
                if self._clock() + wait > until:
                    return False
                await wait_or_stop(stop, wait)
        return False

    async def _wait_for_chat(self, chat_id: int, stop: asyncio.Event, until: float) -> bool:
        """Wait (without holding up other chats) until the chat may get a message."""
        while not stop.is_set():
            try:
                wait = max(0, int(await self._redis.pttl(self._chat_key(chat_id)))) / 1000
            except RedisError as exc:
                log.warning("Could not read a chat's send pace from Redis: %s", _describe(exc))
                wait = REDIS_RETRY_SECONDS
            if wait == 0:
                return True
            if self._clock() + wait > until:
                return False
            await wait_or_stop(stop, wait)
        return False

    async def _try_turn(self, chat_id: int) -> float:
        """Take the turn (0) or say how many seconds to wait before asking again."""
        local = self._local_pause_until - self._clock()
        if local > 0:
            return local
        keys = [self._pause_key, self._chat_key(chat_id), f"{self._prefix}:slot"]
        args = [self._slot_us, self._tolerance_us, self._chat_interval_ms]
        try:
            wait_us = int(await self._take_turn(keys=keys, args=args))
        except RedisError as exc:
            log.warning("Could not take a send turn in Redis: %s", _describe(exc))
            return REDIS_RETRY_SECONDS
        return wait_us / 1_000_000


def _describe(exc: RedisError) -> str:
    return f"{type(exc).__name__}: {exc}"

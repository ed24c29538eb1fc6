"""Flood control: token buckets per chat and per bot, answering 429 with `retry_after`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from okdesk_bot.emulators.telegram.errors import too_many_requests


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(slots=True)
class _Limit:
    rate: float | None
    burst: float

    def refill(self, bucket: _Bucket, now: float) -> None:
        assert self.rate is not None
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now

    def wait_for_token(self, bucket: _Bucket) -> float:
        """Seconds until the bucket holds one whole token again (0 if it already does)."""
        assert self.rate is not None
        return max(0.0, (1.0 - bucket.tokens) / self.rate)


class FloodControl:
    """About `per_chat_rate` messages/s per chat and `global_rate` messages/s per bot.

    Each limit is a token bucket that tolerates a short burst (`*_burst` messages at once) and
    then refills at its rate. A rate of None disables that limit.
    """

    def __init__(
        self,
        *,
        per_chat_rate: float | None,
        global_rate: float | None,
        per_chat_burst: float = 3.0,
        global_burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._buckets: dict[tuple[int, int | None], _Bucket] = {}
        self.configure(
            per_chat_rate=per_chat_rate,
            global_rate=global_rate,
            per_chat_burst=per_chat_burst,
            global_burst=global_burst,
        )

    def configure(
        self,
        *,
        per_chat_rate: float | None,
        global_rate: float | None,
        per_chat_burst: float = 3.0,
        global_burst: float | None = None,
    ) -> None:
        """Replace the limits and forget the buckets (every chat starts with a full burst)."""
        self._per_chat = _Limit(per_chat_rate, per_chat_burst)
        self._global = _Limit(global_rate, global_burst or global_rate or 1.0)
        self._buckets.clear()

    @property
    def enabled(self) -> bool:
        """Whether any limit is active."""
        return self._per_chat.rate is not None or self._global.rate is not None

    def acquire(self, bot_id: int, chat_id: int) -> None:
        """Spend one message of `chat_id`'s and the bot's budgets, or raise 429."""
        now = self._clock()
        checks = [
            (limit, self._bucket((bot_id, key), limit, now))
            for limit, key in ((self._per_chat, chat_id), (self._global, None))
            if limit.rate is not None
        ]
        wait = max((limit.wait_for_token(bucket) for limit, bucket in checks), default=0.0)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for _, bucket in checks:
            bucket.tokens -= 1.0

    def _bucket(self, key: tuple[int, int | None], limit: _Limit, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit.burst, now)
        limit.refill(bucket, now)
        return bucket

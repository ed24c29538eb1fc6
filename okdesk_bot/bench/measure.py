"""Latency statistics and the HTTP load generator (bounded request loops on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# Requests in flight at most; an open-loop run that needs more falls behind and says so.
MAX_IN_FLIGHT = 128


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(slots=True)
class LoadResult:
    """What one load phase achieved."""

    offered_rate: float | None
    elapsed: float
    latencies: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Successful answers per second."""
        return self.answered / self.elapsed if self.elapsed else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000


Payload = Callable[[int], dict[str, Any]]


async def post_load(
    urls: Sequence[str],
    payload: Payload,
    *,
    duration: float,
    rate: float | None,
    concurrency: int = MAX_IN_FLIGHT,
) -> LoadResult:
    """POST `payload(i)` as JSON, round-robin over `urls`, for `duration` seconds.

    With `rate`, request i starts at `i / rate` s (open loop; its latency counts from that
    moment, so a server that falls behind is charged for the wait); without it, `concurrency`
    loops send back to back (closed loop: the highest rate the server sustains).
    """
    counter = itertools.count()
    result = LoadResult(offered_rate=rate, elapsed=duration)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        deadline = start + duration

        async def loop() -> None:
            while True:
                index = next(counter)
                due = start + index / rate if rate else time.perf_counter()
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                try:
                    async with session.post(
                        urls[index % len(urls)], json=payload(index)
                    ) as answer:
                        await answer.read()
                        ok = answer.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    result.latencies.append(time.perf_counter() - due)
                else:
                    result.failures += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - start
    return result

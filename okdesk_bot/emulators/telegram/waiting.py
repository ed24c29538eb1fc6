"""A broadcast wake-up signal for long polls and test waiters on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signal:
    """Wakes every coroutine currently waiting on it; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        """Wake all current waiters."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self) -> None:
        """Wait for the next `notify`."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            self._waiters.discard(waiter)


async def wait_until(signal: Signal, probe: Callable[[], T | None], *, within: float) -> T | None:
    """The first non-None `probe()`, re-checked on every notify; None after `within` seconds."""
    try:
        async with asyncio.timeout(max(within, 0.0)):
            while (found := probe()) is None:
                await signal.wait()
    except TimeoutError:
        return None
    return found

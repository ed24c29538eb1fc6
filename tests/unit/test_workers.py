"""Workers keep running through failures and stop when the service stops."""

from __future__ import annotations

import asyncio

import pytest

from okdesk_bot.workers import running_workers, wait_or_stop


class Flaky:
    """Fails on its first two runs, then works until stopped."""

    name = "flaky"

    def __init__(self) -> None:
        self.runs = 0
        self.running = asyncio.Event()
        self.stopped_cleanly = False

    async def run(self, stop: asyncio.Event) -> None:
        self.runs += 1
        if self.runs <= 2:
            raise RuntimeError("boom")
        self.running.set()
        await stop.wait()
        self.stopped_cleanly = True


class Stubborn:
    """Ignores the stop request."""

    name = "stubborn"

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(3600)


async def test_a_failing_worker_is_restarted_and_stops_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Flaky()
    async with running_workers([worker], restart_delay=0.01):
        async with asyncio.timeout(5):
            await worker.running.wait()
    assert worker.stopped_cleanly
    assert caplog.text.count("Worker flaky failed") == 2


async def test_a_worker_that_ignores_stop_is_cancelled_after_the_grace_period() -> None:
    async with asyncio.timeout(5):
        async with running_workers([Stubborn()], grace=0.05):
            await asyncio.sleep(0)


async def test_wait_or_stop() -> None:
    stop = asyncio.Event()
    assert await wait_or_stop(stop, 0.01) is False
    stop.set()
    assert await wait_or_stop(stop, 10) is True

"""Background workers: long-running loops supervised for the lifetime of the service.

A worker's `run(stop)` returns soon after `stop` is set, finishing (or safely abandoning, with
its state persisted) the item in hand. If it raises, the supervisor logs the failure and starts
it again after a pause, so one bad item cannot silence notifications until a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Protocol

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 5.0
STOP_GRACE_SECONDS = 10.0


class Worker(Protocol):
    """A loop that runs until `stop` is set."""

    @property
    def name(self) -> str: ...

    async def run(self, stop: asyncio.Event) -> None: ...


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if `stop` was set meanwhile (so the caller returns)."""
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


async def _supervise(worker: Worker, stop: asyncio.Event, restart_delay: float) -> None:
    while not stop.is_set():
        try:
            await worker.run(stop)
        except Exception:
            log.exception("Worker %s failed; restarting in %.0f s", worker.name, restart_delay)
            if await wait_or_stop(stop, restart_delay):
                return
        else:
            return


@asynccontextmanager
async def running_workers(
    workers: Sequence[Worker],
    *,
    restart_delay: float = RESTART_DELAY_SECONDS,
    grace: float = STOP_GRACE_SECONDS,
) -> AsyncIterator[None]:
    """Run `workers` while the block runs; on exit ask them to stop and wait `grace` seconds."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_supervise(worker, stop, restart_delay), name=f"worker:{worker.name}")
        for worker in workers
    ]
    for worker in workers:
        log.info("Worker %s started", worker.name)
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                log.warning("Worker %s did not stop in %.0f s; cancelled", task.get_name(), grace)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

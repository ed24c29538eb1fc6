"""One leader among the instances: a lease row in `app_state`, on SQLite and PostgreSQL alike.

`LeaseElection` takes or renews a named lease in one guarded upsert; the row's value starts
with the lease's expiry (fixed-width UTC, so text order is time order) followed by the
holder's id. Whoever holds an unexpired lease keeps it by renewing it; anyone may take an
expired one. A holder that dies stops renewing, and the lease passes on after at most
`lease`. Instances compare expiry times with their own clocks: keep them synchronised (NTP)
to well within the lease.

`LeaderOnly` runs a worker only on the instance that holds the lease, renewing it every
third of the lease and stopping the worker as soon as a renewal fails.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.workers import Worker, wait_or_stop

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "lease:"
_STAMP: Final = "%Y-%m-%dT%H:%M:%S.%fZ"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


class LeaseElection:
    """Holds the lease `name` for this instance (`holder`, random by default) when it can."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        name: str,
        *,
        lease: timedelta,
        holder: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if lease <= timedelta(0):
            msg = "lease must be positive"
            raise ValueError(msg)
        self._sessions = sessions
        self._key = KEY_PREFIX + name
        self.lease = lease
        self.holder = holder or secrets.token_hex(8)
        self._clock = clock
        self._held: str | None = None  # the row's value while we hold the lease

    @property
    def is_leader(self) -> bool:
        """Whether the last `acquire` succeeded (and nothing was released since)."""
        return self._held is not None

    async def acquire(self) -> bool:
        """Take the lease, or renew it if held; True if this instance is the leader now."""
        now = self._clock()
        value = f"{_stamp(now + self.lease)}|{self.holder}"
        async with UnitOfWork(self._sessions) as uow:
            won = await uow.app_state.compare_and_set(
                self._key, value, expected=self._held, stale_below=_stamp(now)
            )
            await uow.commit()
        self._held = value if won else None
        return won

    async def release(self) -> None:
        """Give the lease up at once (if held), so another instance need not wait for it."""
        held, self._held = self._held, None
        if held is None:
            return
        async with UnitOfWork(self._sessions) as uow:
            await uow.app_state.delete_if(self._key, held)
            await uow.commit()


class LeaderOnly:
    """A worker that runs `worker` only while `election` makes this instance the leader."""

    def __init__(self, worker: Worker, election: LeaseElection) -> None:
        self._worker = worker
        self._election = election
        self._check_every = election.lease.total_seconds() / 3

    @property
    def name(self) -> str:
        return self._worker.name

    async def run(self, stop: asyncio.Event) -> None:
        """Campaign until `stop`; lead while the lease holds; release it on the way out."""
        try:
            while not stop.is_set():
                if await self._acquire():
                    log.info("This instance leads %s", self.name)
                    await self._lead(stop)
                    log.info("This instance no longer leads %s", self.name)
                if await wait_or_stop(stop, self._check_every):
                    return
        finally:
            with suppress(SQLAlchemyError, OSError):
                await self._election.release()

    async def _acquire(self) -> bool:
        try:
            return await self._election.acquire()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("Could not take or renew the lease of %s: %s", self.name, exc)
            return False

    async def _lead(self, stop: asyncio.Event) -> None:
        """Run the worker until `stop` or a failed renewal; a failure of the worker raises."""
        leading = asyncio.Event()
        task = asyncio.create_task(self._worker.run(leading), name=f"leader:{self.name}")
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                await asyncio.wait(
                    {task, stopping}, timeout=self._check_every, return_when=FIRST_COMPLETED
                )
                if task.done() or stop.is_set() or not await self._acquire():
                    break
        finally:
            stopping.cancel()
            leading.set()
            await task  # the worker's own failure propagates to the supervisor

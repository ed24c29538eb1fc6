"""Leader election by a lease row, on SQLite and PostgreSQL: one leader, and a successor when
the leader stops or dies."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.services.leadership import LeaderOnly, LeaseElection

LEASE = timedelta(seconds=30)


class Clock:
    """A settable clock shared by the elections of one test (instances with synced clocks)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def election(
    sessions: async_sessionmaker[AsyncSession],
    holder: str,
    clock: Clock,
    *,
    lease: timedelta = LEASE,
) -> LeaseElection:
    return LeaseElection(sessions, "reconciliation", lease=lease, holder=holder, clock=clock)


async def test_only_one_instance_leads_and_it_keeps_the_lease_by_renewing(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    clock = Clock(now)
    first, second = election(session_factory, "a", clock), election(session_factory, "b", clock)

    assert await first.acquire()
    assert not await second.acquire()
    clock.now += LEASE * 0.9
    assert await first.acquire()  # renewed: runs to 1.9 leases from the start
    clock.now += LEASE * 0.9
    assert not await second.acquire()
    assert first.is_leader
    assert not second.is_leader


async def test_a_silent_leader_is_replaced_when_its_lease_expires(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    clock = Clock(now)
    first, second = election(session_factory, "a", clock), election(session_factory, "b", clock)
    assert await first.acquire()

    clock.now += LEASE + timedelta(milliseconds=1)  # the first instance died without a word

    assert await second.acquire()
    assert not await first.acquire()  # back from a long stall, it must not lead as well
    assert not first.is_leader


async def test_a_released_lease_passes_on_at_once(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    clock = Clock(now)
    first, second = election(session_factory, "a", clock), election(session_factory, "b", clock)
    assert await first.acquire()

    await first.release()

    assert await second.acquire()
    await first.release()  # no longer held: must not free the successor's lease
    assert not await first.acquire()


@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)
async def test_concurrent_candidates_elect_exactly_one(
    session_factory: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    clock = Clock(now)
    candidates = [election(session_factory, f"instance-{n}", clock) for n in range(8)]

    won = await asyncio.gather(*(candidate.acquire() for candidate in candidates))

    assert sum(won) == 1


class Recording:
    """A worker that notes while it runs."""

    name = "recording"

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.runs = 0

    async def run(self, stop: asyncio.Event) -> None:
        self.runs += 1
        self.running.set()
        try:
            await stop.wait()
        finally:
            self.running.clear()


async def test_the_worker_runs_only_on_the_leader_and_moves_when_it_stops(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    lease = timedelta(seconds=0.3)
    workers = [Recording(), Recording()]
    stops = [asyncio.Event(), asyncio.Event()]
    instances = [
        LeaderOnly(worker, LeaseElection(session_factory, "reconciliation", lease=lease))
        for worker in workers
    ]
    first = asyncio.create_task(instances[0].run(stops[0]))
    await asyncio.wait_for(workers[0].running.wait(), 2)
    second = asyncio.create_task(instances[1].run(stops[1]))
    await asyncio.sleep(lease.total_seconds() * 2)  # several renewals and campaigns

    assert workers[0].running.is_set()
    assert workers[1].runs == 0

    stops[0].set()
    await asyncio.wait_for(first, 2)
    await asyncio.wait_for(workers[1].running.wait(), 2)  # released, so taken over at once
    assert not workers[0].running.is_set()

    stops[1].set()
    await asyncio.wait_for(second, 2)

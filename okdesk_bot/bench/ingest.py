"""1. Webhook ingest, and 6. its two-instance variant: answers/s with zero loss, p50/p99."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from okdesk_bot.bench.measure import LoadResult, post_load
from okdesk_bot.bench.options import BenchOptions
from okdesk_bot.bench.report import Section, number, verdict
from okdesk_bot.bench.rig import (
    SPREAD_TICKETS,
    UNFOLLOWED_ISSUE,
    StatusWebhooks,
    child_process,
    count_inbox,
    emulators,
    free_port,
    fresh_database,
    plain_environment,
    service,
)
from okdesk_bot.emulators.okdesk import OkdeskEmulator

FIXED_RATE = 200.0
TARGET_RATE = {"sqlite": 1000.0, "postgresql": 1500.0}
TARGET_P99_MS = 50.0
SUSTAINED_SHARE = 0.99
"""The share of an offered rate that must be answered for the rate to count as sustained."""
SATURATION_LOOPS = 32
SATURATED_PHASE = 2
"""The index, among `_phases`' results, of the highest rate sustained over many tickets."""
_LOSS_WAIT = 15.0
DRAIN_LIMIT = 30.0
"""How long the service may work off its backlog after the load before it is stopped."""

HEADER = ("Backend", "Server", "Load", "Answered/s", "p50 ms", "p99 ms", "Failed", "Lost")


def _row(backend: str, server: str, load: str, result: LoadResult, lost: str) -> tuple[str, ...]:
    return (
        backend,
        server,
        load,
        number(result.rate),
        number(result.p50_ms, 1),
        number(result.p99_ms, 1),
        str(result.failures),
        lost,
    )


async def _phases(
    urls: Sequence[str], okdesk: OkdeskEmulator, options: BenchOptions, target: float
) -> list[tuple[str, LoadResult]]:
    """Fixed 200/s, the target rate (open loop), then as fast as it goes (closed loop), over
    many tickets; then as fast as it goes about one ticket (the worst case, reported apart)."""
    payload = StatusWebhooks(okdesk, UNFOLLOWED_ISSUE, tickets=SPREAD_TICKETS)
    return [
        (
            f"{FIXED_RATE:.0f}/s offered",
            await post_load(urls, payload, duration=options.duration, rate=FIXED_RATE),
        ),
        (
            f"{target:.0f}/s offered",
            await post_load(urls, payload, duration=options.duration, rate=target),
        ),
        (
            f"max ({SATURATION_LOOPS} loops)",
            await post_load(
                urls, payload, duration=options.duration, rate=None, concurrency=SATURATION_LOOPS
            ),
        ),
        (
            f"max, one ticket ({SATURATION_LOOPS} loops)",
            await post_load(
                urls,
                StatusWebhooks(okdesk, UNFOLLOWED_ISSUE),
                duration=options.duration,
                rate=None,
                concurrency=SATURATION_LOOPS,
            ),
        ),
    ]


async def _stored(database_url: str, expected: int) -> int:
    """Inbox rows once they reach `expected` (or after a grace period)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _LOSS_WAIT
    stored = await count_inbox(database_url)
    while stored < expected and loop.time() < deadline:
        await asyncio.sleep(0.2)
        stored = await count_inbox(database_url)
    return stored


@dataclass(frozen=True, slots=True)
class Drain:
    """How the events left unprocessed when the load stopped were worked off."""

    backlog: int
    left: int
    seconds: float

    @property
    def rate(self) -> float:
        return (self.backlog - self.left) / self.seconds if self.seconds else math.nan

    def describe(self, backend: str) -> str:
        if not self.backlog:
            return f"{backend}: every event was processed by the time the load stopped."
        done = (
            f"all processed in {self.seconds:.1f} s"
            if not self.left
            else f"{self.left:,} still unprocessed after {self.seconds:.0f} s"
        )
        return (
            f"{backend}: {self.backlog:,} events were still unprocessed when the load stopped; "
            f"{done} ({number(self.rate)} events/s)."
        )


@dataclass(frozen=True, slots=True)
class IngestRun:
    """What `measure_service` measured."""

    results: list[tuple[str, LoadResult]]
    lost: int
    drain: Drain


async def _drain(database_url: str) -> Drain:
    """Wait (up to `DRAIN_LIMIT` s) for the running service to process the inbox's backlog."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    backlog = left = await count_inbox(database_url, unprocessed_only=True)
    while left and loop.time() - start < DRAIN_LIMIT:
        await asyncio.sleep(0.5)
        left = await count_inbox(database_url, unprocessed_only=True)
    return Drain(backlog=backlog, left=left, seconds=loop.time() - start)


async def measure_service(
    backend: str,
    database_url: str,
    options: BenchOptions,
    *,
    instances: int,
    section: Section,
    extra: dict[str, str] | None = None,
) -> IngestRun:
    """Load `instances` webhook servers sharing one database, then let them work off what is
    left; adds the rows to `section`."""
    async with emulators() as (okdesk, telegram, _):
        async with service("webhook", okdesk, telegram, database_url, extra=extra) as first:
            urls = [first.webhook_url]
            if instances == 1:
                results = await _phases(urls, okdesk, options, TARGET_RATE[backend])
                drain = await _drain(database_url)
            else:
                async with service(
                    "webhook", okdesk, telegram, database_url, extra=extra
                ) as second:
                    urls.append(second.webhook_url)
                    results = await _phases(urls, okdesk, options, TARGET_RATE[backend])
                    drain = await _drain(database_url)
        answered = sum(result.answered for _, result in results)
        stored = await _stored(database_url, answered)
    lost = max(0, answered - stored)
    server = "okdesk-bot" if instances == 1 else f"okdesk-bot ×{instances}"
    for index, (load, result) in enumerate(results):
        section.add(
            *_row(backend, server, load, result, "—" if index < len(results) - 1 else str(lost))
        )
    return IngestRun(results, lost, drain)


async def measure_baseline(
    backend: str, options: BenchOptions, section: Section
) -> list[tuple[str, LoadResult]]:
    """The same phases against a bare aiohttp handler answering 200."""
    port = free_port()
    async with (
        emulators() as (okdesk, _telegram, _),
        child_process(["okdesk_bot.bench.baseline", "http", str(port)], plain_environment(), port),
    ):
        url = f"http://127.0.0.1:{port}/webhook"
        results = await _phases([url], okdesk, options, TARGET_RATE[backend])
    for load, result in results:
        section.add(*_row(backend, "bare aiohttp (baseline)", load, result, "—"))
    return results


def sustains(result: LoadResult, rate: float) -> bool:
    """Whether an open-loop phase offered at `rate` was carried: (nearly) every request
    answered 200 in time, none failed, and the p99 (counted from when each was due) under
    the target."""
    return (
        result.failures == 0
        and result.rate >= SUSTAINED_SHARE * rate
        and result.p99_ms < TARGET_P99_MS
    )


def judge(
    backend: str,
    service: Sequence[tuple[str, LoadResult]],
    baseline: Sequence[tuple[str, LoadResult]],
    *,
    lost: int,
) -> list[str]:
    """The notes that hold a backend's ingest figures against issue 6's targets."""
    target = TARGET_RATE[backend]
    _, fixed = service[0]
    _, at_target = service[1]
    _, saturated = service[SATURATED_PHASE]
    _, bare = baseline[SATURATED_PHASE]
    failed = sum(result.failures for _, result in service)
    ratio = saturated.rate / bare.rate if bare.rate else math.nan
    return [
        f"{backend}: p99 at {FIXED_RATE:.0f}/s = {number(fixed.p99_ms, 1)} ms "
        f"(target < {TARGET_P99_MS:.0f} ms: {verdict(fixed.p99_ms < TARGET_P99_MS)}).",
        f"{backend}: {target:,.0f}/s offered → {number(at_target.rate)}/s answered, p99 "
        f"{number(at_target.p99_ms, 1)} ms (target ≥ {target:,.0f}/s with p99 < "
        f"{TARGET_P99_MS:.0f} ms: {verdict(sustains(at_target, target))}); the most carried "
        f"in closed loop {number(saturated.rate)}/s at p99 {number(saturated.p99_ms, 1)} ms, "
        f"{number(ratio, 2)}× the bare handler's {number(bare.rate)}/s.",
        f"{backend}: {failed} failed and {lost} lost over all phases "
        f"(target: none: {verdict(failed == 0 and lost == 0)}).",
    ]


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    section = Section(
        "1. Webhook ingest",
        "Status-change webhooks (each with its own dedup key) about "
        f"{SPREAD_TICKETS} tickets of a contact nobody here follows, POSTed to one "
        f"`okdesk-bot webhook` process (its workers processing them meanwhile) for "
        f"{options.duration:g} s per phase: {FIXED_RATE:.0f}/s offered, the target rate "
        "offered (open loop: latency counts from the moment a request was due), then closed "
        f"loop with {SATURATION_LOOPS} concurrent connections (the most it carries). "
        "The target rate counts as sustained when at least "
        f"{SUSTAINED_SHARE:.0%} of it is answered 200 with a p99 under {TARGET_P99_MS:.0f} ms "
        "and nothing fails. "
        "The last phase sends every webhook about one ticket, whose events the service "
        "must process in order (the worst case; not judged against the target). *Lost* = "
        "answered 2xx but not in the inbox table afterwards (counted over all phases). "
        f"After the last phase the service gets up to {DRAIN_LIMIT:.0f} s to process what "
        "is left. "
        "The baseline is a bare aiohttp handler that parses the JSON and answers 200, in its "
        "own process, loaded the same way.",
        HEADER,
    )
    for backend in options.backends:
        async with fresh_database(backend, workdir, options.postgres_url) as url:
            run = await measure_service(backend, url, options, instances=1, section=section)
        baseline = await measure_baseline(backend, options, section)
        section.notes.extend(judge(backend, run.results, baseline, lost=run.lost))
        section.notes.append(run.drain.describe(backend))
    return [section]

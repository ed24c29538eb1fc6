"""1. Webhook ingest, and 6. its two-instance variant: answers/s with zero loss, p50/p99."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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
SATURATION_LOOPS = 32
SATURATED_PHASE = 2
"""The index, among `_phases`' results, of the highest rate sustained over many tickets."""
_LOSS_WAIT = 15.0

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


async def measure_service(
    backend: str,
    database_url: str,
    options: BenchOptions,
    *,
    instances: int,
    section: Section,
    extra: dict[str, str] | None = None,
) -> list[tuple[str, LoadResult]]:
    """Load `instances` webhook servers sharing one database; adds rows, returns the results."""
    async with emulators() as (okdesk, telegram, _):
        async with service("webhook", okdesk, telegram, database_url, extra=extra) as first:
            urls = [first.webhook_url]
            if instances == 1:
                results = await _phases(urls, okdesk, options, TARGET_RATE[backend])
            else:
                async with service(
                    "webhook", okdesk, telegram, database_url, extra=extra
                ) as second:
                    urls.append(second.webhook_url)
                    results = await _phases(urls, okdesk, options, TARGET_RATE[backend])
        answered = sum(result.answered for _, result in results)
        stored = await _stored(database_url, answered)
    server = "okdesk-bot" if instances == 1 else f"okdesk-bot ×{instances}"
    for index, (load, result) in enumerate(results):
        lost = str(max(0, answered - stored)) if index == len(results) - 1 else "—"
        section.add(*_row(backend, server, load, result, lost))
    return results


async def measure_baseline(backend: str, options: BenchOptions, section: Section) -> None:
    """The same phases against a bare aiohttp handler answering 200."""
    port = free_port()
    async with (
        emulators() as (okdesk, _telegram, _),
        child_process(["okdesk_bot.bench.baseline", "http", str(port)], plain_environment(), port),
    ):
        url = f"http://127.0.0.1:{port}/webhook"
        for load, result in await _phases([url], okdesk, options, TARGET_RATE[backend]):
            section.add(*_row(backend, "bare aiohttp (baseline)", load, result, "—"))


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    section = Section(
        "1. Webhook ingest",
        "Status-change webhooks (each with its own dedup key) about "
        f"{SPREAD_TICKETS} tickets of a contact nobody here follows, POSTed to one "
        f"`okdesk-bot webhook` process (its workers processing them meanwhile) for "
        f"{options.duration:g} s per phase: {FIXED_RATE:.0f}/s offered, the target rate "
        "offered (open loop: latency counts from the moment a request was due), then closed "
        f"loop with {SATURATION_LOOPS} concurrent connections (the highest rate sustained). "
        "The last phase sends every webhook about one ticket, whose events the service "
        "processes one at a time (the worst case; not judged against the target). *Lost* = "
        "answered 2xx but not in the inbox table afterwards (counted over all phases). "
        "The baseline is a bare aiohttp handler that parses the JSON and answers 200, in its "
        "own process, loaded the same way.",
        HEADER,
    )
    for backend in options.backends:
        async with fresh_database(backend, workdir, options.postgres_url) as url:
            results = await measure_service(backend, url, options, instances=1, section=section)
        await measure_baseline(backend, options, section)
        _, fixed = results[0]
        _, saturated = results[SATURATED_PHASE]
        target = TARGET_RATE[backend]
        section.notes.append(
            f"{backend}: p99 at {FIXED_RATE:.0f}/s = {number(fixed.p99_ms, 1)} ms "
            f"(target < {TARGET_P99_MS:.0f} ms: {verdict(fixed.p99_ms < TARGET_P99_MS)}); "
            f"max sustained {number(saturated.rate)}/s "
            f"(target ≥ {target:,.0f}/s: {verdict(saturated.rate >= target)})."
        )
    return [section]

"""6. Scaling: webhook ingest and fan-out with one and two instances on PostgreSQL and Redis."""

from __future__ import annotations

import os
from pathlib import Path

from okdesk_bot.bench import fanout, ingest
from okdesk_bot.bench.options import BenchOptions
from okdesk_bot.bench.report import Section, number
from okdesk_bot.bench.rig import fresh_database


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    environment = {"REDIS_URL": options.redis_url}
    count = options.fanout
    section = Section(
        "6. Scaling (PostgreSQL + Redis)",
        "The ingest phases of benchmark 1 spread round-robin over one and over two "
        "`okdesk-bot webhook` processes sharing one PostgreSQL database and Redis, then the "
        f"fan-out of benchmark 5 ({count:,} notices) with one and with two processes. Both "
        "instances run every worker; the second one shares the queue through "
        "`FOR UPDATE SKIP LOCKED`.",
        ingest.HEADER,
    )
    saturated: dict[int, float] = {}
    for instances in (1, 2):
        async with fresh_database("postgresql", workdir, options.postgres_url) as url:
            run = await ingest.measure_service(
                "postgresql", url, options, instances=instances, section=section, extra=environment
            )
        saturated[instances] = run.results[ingest.SATURATED_PHASE][1].rate
        label = "one instance" if instances == 1 else f"{instances} instances"
        section.notes.append(run.drain.describe(label))
    section.notes.append(
        f"Max ingest: {number(saturated[1])}/s with one instance, {number(saturated[2])}/s "
        f"with two ({saturated[2] / saturated[1]:.2f}×) — on {os.cpu_count()} CPU shared with the "
        "load generator and the database."
    )
    fan = Section(
        "6b. Fan-out with one and two instances",
        f"The fan-out of benchmark 5 on PostgreSQL + Redis, NOTIFY_RATE={fanout.NOTIFY_RATE:g} "
        "configured on each instance; the Telegram emulator's global limit is "
        f"{fanout.GLOBAL_LIMIT:g}/s.",
        fanout.HEADER,
    )
    rates: dict[int, tuple[int, float, int]] = {}
    for instances in (1, 2):
        async with fresh_database("postgresql", workdir, options.postgres_url) as url:
            rates[instances] = await fanout.deliver(
                url, count, instances=instances, extra=environment
            )
        fanout.add_row(fan, "postgresql", instances, count, rates[instances])
    _, two_rate, two_rejected = rates[2]
    if two_rate > fanout.NOTIFY_RATE * 1.05 or two_rejected:
        fan.notes.append(
            f"With two instances the global send rate reached {two_rate:.1f}/s against a "
            f"configured {fanout.NOTIFY_RATE:g}/s ({two_rejected} answers 429): the instances "
            "did not share one global limiter when this ran (it was being added at the time)."
        )
    else:
        fan.notes.append(
            "With two instances the global send rate stayed at the configured limit with no 429 "
            "(this run does not tell whether a shared limiter or a single sending instance kept "
            "it there)."
        )
    return [section, fan]

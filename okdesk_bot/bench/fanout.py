"""5. Fan-out: one status change → N notices to N chats, under the emulator's flood limits."""

from __future__ import annotations

from pathlib import Path

from okdesk_bot.bench.options import BenchOptions
from okdesk_bot.bench.report import Section, number, verdict
from okdesk_bot.bench.rig import (
    FOLLOWED_ISSUE,
    SendLog,
    bind_users,
    emulators,
    fresh_database,
    open_chats,
    service,
)
from okdesk_bot.emulators.okdesk import OkdeskEmulator

NOTIFY_RATE = 25.0
GLOBAL_LIMIT = 30.0
PER_CHAT_LIMIT = 1.0
TARGET_SHARE = 0.95
FIRST_ID = 8_100_000_000
_SLACK_SECONDS = 60.0

HEADER = (
    "Backend",
    "Instances",
    "Notices",
    "Delivered",
    "Achieved/s",
    "Configured/s",
    "Share",
    "429s",
)


async def _fan_out(okdesk: OkdeskEmulator, sends: SendLog, count: int) -> None:
    """Change the ticket's status once and wait until `count` messages were accepted."""
    await okdesk.change_status(FOLLOWED_ISSUE, "opened")
    await sends.wait_for(count, count / NOTIFY_RATE * 2 + _SLACK_SECONDS)


async def deliver(
    database_url: str, count: int, *, instances: int, extra: dict[str, str] | None = None
) -> tuple[int, float, int]:
    """Bind `count` people to the followed contact, fan one status change out to them through
    `instances` webhook processes; returns (delivered, achieved rate, 429 answers)."""
    ids = await bind_users(database_url, FIRST_ID, count)
    environment = {"NOTIFY_RATE": f"{NOTIFY_RATE:g}", **(extra or {})}
    async with emulators(per_chat_rate=PER_CHAT_LIMIT, global_rate=GLOBAL_LIMIT) as (
        okdesk,
        telegram,
        sends,
    ):
        await open_chats(telegram, ids)
        async with service("webhook", okdesk, telegram, database_url, extra=environment) as one:
            okdesk.set_webhook_urls([one.webhook_url])
            if instances > 1:
                async with service("webhook", okdesk, telegram, database_url, extra=environment):
                    await _fan_out(okdesk, sends, count)
            else:
                await _fan_out(okdesk, sends, count)
        delivered = len(sends.accepted)
        span = sends.accepted[-1] - sends.accepted[0] if delivered > 1 else 0.0
        rate = (delivered - 1) / span if span else float("nan")
        return delivered, rate, telegram.stats.too_many_requests


def add_row(
    section: Section, backend: str, instances: int, count: int, result: tuple[int, float, int]
) -> None:
    delivered, rate, rejected = result
    section.add(
        backend,
        str(instances),
        str(count),
        str(delivered),
        number(rate, 1),
        f"{NOTIFY_RATE:g}",
        f"{rate / NOTIFY_RATE:.0%}",
        str(rejected),
    )


def method(count: int, quick: bool) -> str:
    return (
        f"{count:,} people bound to one Okdesk contact; one status change of their ticket "
        f"makes {count:,} notices to {count:,} distinct chats. The Telegram emulator enforces "
        f"{PER_CHAT_LIMIT:g} msg/s per chat and {GLOBAL_LIMIT:g} msg/s globally (429 with "
        f"retry_after beyond); the service runs with NOTIFY_RATE={NOTIFY_RATE:g}. *Achieved* "
        "is accepted `sendMessage` calls between the first and the last, per second; the "
        "baseline is the configured rate. "
        + (
            "N is set by `--fanout` (default 1,000, as issue 4 asks; issue 6's 10,000 takes "
            "~400 s at 25/s)."
            if not quick
            else "Quick run: a small N, so the share is rough."
        )
    )


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    section = Section("5. Fan-out", method(options.fanout, options.quick), HEADER)
    async with fresh_database("sqlite", workdir, options.postgres_url) as url:
        result = await deliver(url, options.fanout, instances=1)
    add_row(section, "sqlite", 1, options.fanout, result)
    delivered, rate, rejected = result
    ok = delivered == options.fanout and rate >= TARGET_SHARE * NOTIFY_RATE and rejected == 0
    section.notes.append(
        f"Target: every notice delivered at ≥ {TARGET_SHARE:.0%} of the configured rate with "
        f"no 429: {verdict(ok)}."
    )
    return [section]

"""2. Notice latency: a new public comment in Okdesk → its `sendMessage` at the emulator."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from okdesk_bot.bench.measure import percentile, post_load
from okdesk_bot.bench.options import BenchOptions
from okdesk_bot.bench.report import Section, number, verdict
from okdesk_bot.bench.rig import (
    BOT_TOKEN,
    FOLLOWED_ISSUE,
    SPREAD_TICKETS,
    UNFOLLOWED_ISSUE,
    SendLog,
    StatusWebhooks,
    bind_users,
    emulators,
    fresh_database,
    open_chats,
    service,
)
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import TelegramEmulator

BACKGROUND_RATE = 100.0
TARGET_P50_MS = 100.0
# The service keeps about one message per second per chat, so samples are spaced wider.
SAMPLE_SPACING = 1.1
NOTICE_TIMEOUT = 30.0
PERSON_ID = 8_000_000_001
BYSTANDER_ID = 8_000_000_002  # not registered: the raw round trips go to this chat

HEADER = ("Backend", "Measured", "Load", "Samples", "Not sent in 30 s", "p50 ms", "p99 ms")


async def _notice_latencies(
    okdesk: OkdeskEmulator, sends: SendLog, samples: int, first: int
) -> tuple[list[float], int]:
    """(latencies, notices not sent within the timeout): each comment's notice is the next
    `sendMessage` the emulator accepts (nothing else writes to any chat meanwhile)."""
    latencies: list[float] = []
    missed = 0
    expected = len(sends.accepted)
    for index in range(first, first + samples):
        expected += 1
        started = time.perf_counter()
        await okdesk.add_comment(FOLLOWED_ISSUE, f"<p>Ответ поддержки №{index}</p>")
        await sends.wait_for(expected, NOTICE_TIMEOUT)
        if len(sends.accepted) >= expected:
            latencies.append(sends.accepted[expected - 1] - started)
        else:
            missed += 1
        await asyncio.sleep(SAMPLE_SPACING)
    return latencies, missed


async def _raw_round_trips(telegram: TelegramEmulator, chat_id: int, samples: int) -> list[float]:
    """`sendMessage` straight to the emulator: the floor under any notice."""
    url = f"{telegram.base_url}/bot{BOT_TOKEN}/sendMessage"
    latencies = []
    async with aiohttp.ClientSession() as session:
        for index in range(samples):
            started = time.perf_counter()
            async with session.post(url, json={"chat_id": chat_id, "text": f"ping {index}"}) as r:
                await r.read()
            latencies.append(time.perf_counter() - started)
    return latencies


def _row(
    backend: str, measured: str, load: str, latencies: list[float], missed: int = 0
) -> tuple[str, ...]:
    return (
        backend,
        measured,
        load,
        str(len(latencies) + missed),
        str(missed),
        number(percentile(latencies, 0.5) * 1000, 1),
        number(percentile(latencies, 0.99) * 1000, 1),
    )


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    samples = 3 if options.quick else 15
    section = Section(
        "2. Notice latency",
        "A support employee adds a public comment to a followed ticket in the Okdesk emulator, "
        "which POSTs the `new_comment` webhook to `okdesk-bot webhook`; measured until the "
        "notice's `sendMessage` reaches the Telegram emulator (the inbox, the confirmation read "
        "from Okdesk, the HTML-to-text rendering, the outbox and the sender included). "
        f"{samples} samples, {SAMPLE_SPACING:g} s apart (the service keeps ~1 message/s per "
        f"chat); *under load* adds {BACKGROUND_RATE:.0f} webhooks/s about {SPREAD_TICKETS} "
        "tickets nobody here follows. The baseline is a raw `sendMessage` round trip to the "
        "emulator. Telegram's flood limits are off here.",
        HEADER,
    )
    for backend in options.backends:
        async with fresh_database(backend, workdir, options.postgres_url) as url:
            await bind_users(url, PERSON_ID, 1)
            async with (
                emulators() as (okdesk, telegram, sends),
                service("webhook", okdesk, telegram, url) as bot,
            ):
                okdesk.set_webhook_urls([bot.webhook_url])
                _, bystander = await open_chats(telegram, [PERSON_ID, BYSTANDER_ID])
                baseline = await _raw_round_trips(telegram, bystander.chat_id, samples * 4)
                idle, idle_missed = await _notice_latencies(okdesk, sends, samples, 0)
                background = asyncio.create_task(
                    post_load(
                        [bot.webhook_url],
                        StatusWebhooks(okdesk, UNFOLLOWED_ISSUE, tickets=SPREAD_TICKETS),
                        duration=samples * (SAMPLE_SPACING + 0.5) + 2,
                        rate=BACKGROUND_RATE,
                    )
                )
                await asyncio.sleep(0.5)
                loaded, missed = await _notice_latencies(okdesk, sends, samples, samples)
                load = await background
        section.add(*_row(backend, "raw sendMessage (baseline)", "idle", baseline))
        section.add(*_row(backend, "webhook → sendMessage", "idle", idle, idle_missed))
        section.add(
            *_row(
                backend,
                "webhook → sendMessage",
                f"{BACKGROUND_RATE:.0f}/s offered ({load.rate:.0f}/s answered)",
                loaded,
                missed,
            )
        )
        p50 = percentile(idle, 0.5) * 1000
        section.notes.append(
            f"{backend}: p50 at idle {number(p50, 1)} ms "
            f"(target < {TARGET_P50_MS:.0f} ms: {verdict(p50 < TARGET_P50_MS)})."
        )
    return [section]

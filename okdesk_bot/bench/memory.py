"""4. Memory: resident size with many registered users and many people in mid-dialog."""

from __future__ import annotations

import asyncio
from pathlib import Path

from okdesk_bot.bench.options import BenchOptions
from okdesk_bot.bench.report import Section, number
from okdesk_bot.bench.rig import (
    BOT_TOKEN,
    bind_users,
    child_process,
    emulators,
    free_port,
    fresh_database,
    plain_environment,
    service,
)
from okdesk_bot.emulators.telegram import EmulatedUser

FIRST_ID = 8_300_000_000
PROMPT = "Опишите проблему одним сообщением"
_BATCH = 10

HEADER = ("Process", "State", "RSS MiB")


async def _start_dialog(person: EmulatedUser) -> None:
    await person.send_command("/new")
    await person.wait_for_bot_message(
        predicate=lambda message: PROMPT in (message.text or ""), timeout=60
    )


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    section = Section(
        "4. Memory",
        f"Resident set size (VmRSS) of one `okdesk-bot run` process on SQLite with "
        f"{options.users:,} registered users in the database, right after start and again "
        f"once {options.dialogs:,} of them have opened the new-ticket dialog (`/new`, waiting "
        "for the description). The baseline is a bare aiogram bot process.",
        HEADER,
    )
    async with fresh_database("sqlite", workdir, options.postgres_url) as url:
        ids = await bind_users(url, FIRST_ID, options.users)
        async with emulators() as (okdesk, telegram, _):
            async with service("run", okdesk, telegram, url) as bot:
                await asyncio.sleep(1.0)
                idle = bot.rss_mib()
                people = [telegram.user(user_id, f"Bench {user_id}") for user_id in ids]
                dialogs = people[: options.dialogs]
                for start in range(0, len(dialogs), _BATCH):
                    batch = dialogs[start : start + _BATCH]
                    await asyncio.gather(*(_start_dialog(person) for person in batch))
                busy = bot.rss_mib()
            port = free_port()
            async with child_process(
                ["okdesk_bot.bench.baseline", "bot", str(port), telegram.base_url, BOT_TOKEN],
                plain_environment(),
                port,
            ) as echo:
                await asyncio.sleep(1.0)
                floor = echo.rss_mib()
    section.add("bare aiogram bot (baseline)", "idle", number(floor, 1))
    section.add("okdesk-bot run", f"{options.users:,} registered, idle", number(idle, 1))
    section.add(
        "okdesk-bot run",
        f"+ {options.dialogs:,} mid-dialog",
        number(busy, 1),
    )
    section.notes.append(
        f"{(busy - idle) * 1024 / max(1, options.dialogs):.1f} KiB per person mid-dialog "
        "(dialog state lives in the database, or in Redis with REDIS_URL; not in the process)."
    )
    return [section]

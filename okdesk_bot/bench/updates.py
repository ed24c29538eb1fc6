"""3. Telegram updates/s through the handlers (menu navigation, ticket creation), one process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from okdesk_bot.bench.measure import percentile
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

FIRST_ID = 8_200_000_000
PEOPLE = 40
"""People talking at once: more than the Dispatcher handles at a time (8), so some queue."""
_ANSWER_TIMEOUT = 10.0

# One step: a person sends one update; the step returns when the bot has answered it.
Step = Callable[[EmulatedUser, int], Awaitable[None]]

HEADER = (
    "Scenario",
    "Process",
    "People",
    "Updates/s",
    "Unanswered in 10 s",
    "p50 ms",
    "p99 ms",
)


async def _answered(person: EmulatedUser, send: Awaitable[object]) -> None:
    await send
    await person.wait_for_bot_message(timeout=_ANSWER_TIMEOUT)


async def _menu_step(person: EmulatedUser, index: int) -> None:
    if index % 2:
        await _answered(person, person.send_command("/tickets"))
    else:
        await _answered(person, person.send_command("/menu"))


async def _ticket_step(person: EmulatedUser, index: int) -> None:
    if index % 2:
        await _answered(person, person.send_text(f"Не печатает принтер №{index}"))
    else:
        await _answered(person, person.send_command("/new"))


async def _echo_step(person: EmulatedUser, index: int) -> None:
    await _answered(person, person.send_text(f"ping {index}"))


@dataclass(slots=True)
class Drive:
    """Answered updates per second, their latencies, and the updates left unanswered."""

    rate: float = 0.0
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0


async def drive(people: list[EmulatedUser], step: Step, duration: float) -> Drive:
    """Every person runs `step` back to back for `duration` s (an update left unanswered
    for 10 s is counted and the person goes on)."""
    result = Drive()
    start = time.perf_counter()
    deadline = start + duration

    async def person_loop(person: EmulatedUser) -> None:
        index = 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                await step(person, index)
            except TimeoutError:
                result.unanswered += 1
            else:
                result.latencies.append(time.perf_counter() - began)
            index += 1

    await asyncio.gather(*(person_loop(person) for person in people))
    result.rate = len(result.latencies) / (time.perf_counter() - start)
    return result


def _row(scenario: str, process: str, people: int, result: Drive) -> tuple[str, ...]:
    return (
        scenario,
        process,
        str(people),
        number(result.rate),
        str(result.unanswered),
        number(percentile(result.latencies, 0.5) * 1000, 1),
        number(percentile(result.latencies, 0.99) * 1000, 1),
    )


async def run(options: BenchOptions, workdir: Path) -> list[Section]:
    count = 5 if options.quick else PEOPLE
    section = Section(
        "3. Telegram updates through the handlers",
        f"{count} registered people talk to one `okdesk-bot run` process (long polling, "
        "SQLite, dialog state in the database) at once, each sending its next update as soon as "
        f"the bot answered the last, for {options.duration:g} s per scenario. *Menu*: `/menu` "
        "and `/tickets` («Мои заявки», one Okdesk list call) in turn. *Ticket*: `/new`, then a "
        "one-line description that becomes an Okdesk ticket. The Okdesk emulator answers at "
        "zero added latency. The baseline is a bare aiogram bot that answers every message with "
        "one line, polling the same emulator.",
        HEADER,
    )
    async with fresh_database("sqlite", workdir, options.postgres_url) as url:
        ids = await bind_users(url, FIRST_ID, count)
        async with emulators() as (okdesk, telegram, _):
            people = [telegram.user(user_id, f"Bench {user_id}") for user_id in ids]
            environment = {"TICKETS_PER_HOUR": "1000"}
            async with service("run", okdesk, telegram, url, extra=environment):
                await drive(people, _menu_step, 0.5)  # warm-up
                menu = await drive(people, _menu_step, options.duration)
                tickets = await drive(people, _ticket_step, options.duration)
            port = free_port()
            baseline_args = ["okdesk_bot.bench.baseline", "bot", str(port)]
            async with child_process(
                [*baseline_args, telegram.base_url, BOT_TOKEN], plain_environment(), port
            ):
                echo = await drive(people, _echo_step, options.duration)
    section.add(*_row("echo (baseline)", "bare aiogram", count, echo))
    section.add(*_row("menu", "okdesk-bot run", count, menu))
    section.add(*_row("ticket", "okdesk-bot run", count, tickets))
    return [section]

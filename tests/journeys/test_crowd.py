"""A crowd writing at once is answered: handling more updates than the database pool can
serve at the same time used to leave every one of them waiting for a connection."""

from __future__ import annotations

import asyncio

from okdesk_bot.app import Application
from okdesk_bot.emulators.telegram import TelegramEmulator

CROWD = 40


async def test_forty_people_starting_at_once_all_get_an_answer(
    service: Application, telegram: TelegramEmulator
) -> None:
    people = [telegram.user(8_000_000_000 + n, f"Гость {n}") for n in range(CROWD)]
    await asyncio.gather(*(person.send_command("/start") for person in people))
    await asyncio.gather(*(person.send_command("/help") for person in people))
    for person in people:
        first = await person.wait_for_bot_message(timeout=30)
        second = await person.wait_for_bot_message(timeout=30)
        assert first.text
        assert second.text
        assert "/help" in second.text

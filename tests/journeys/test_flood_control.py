"""Telegram's flood control never costs a person an answer."""

from __future__ import annotations

from okdesk_bot.app import Application
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator


async def test_answers_refused_with_429_are_sent_after_the_wait(
    service: Application, telegram: TelegramEmulator, registered_anna: EmulatedUser
) -> None:
    telegram.flood.configure(per_chat_rate=1.0, global_rate=None, per_chat_burst=1.0)
    for _ in range(3):
        await registered_anna.send_command("/help")
    answers = [await registered_anna.wait_for_bot_message(timeout=15) for _ in range(3)]
    assert all(answer.text and "/help" in answer.text for answer in answers)
    assert telegram.stats.too_many_requests >= 1  # Telegram did refuse, and nothing was lost

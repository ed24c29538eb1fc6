"""Commands that work in any state."""

from __future__ import annotations

from okdesk_bot.app import Application
from okdesk_bot.emulators.telegram import EmulatedUser


async def test_cancel_leaves_a_registered_user_with_the_main_menu(
    service: Application, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/new")
    await registered_anna.wait_for_bot_message(timeout=10)
    await registered_anna.send_command("/cancel")
    cancelled = await registered_anna.wait_for_bot_message(timeout=10)
    assert cancelled.text == "Действие отменено."
    keyboard = registered_anna.reply_keyboard
    assert keyboard is not None
    labels = [button["text"] for row in keyboard["keyboard"] for button in row]
    assert "📝 Создать заявку" in labels


async def test_cancel_with_nothing_to_cancel_says_so(
    service: Application, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/cancel")
    answer = await registered_anna.wait_for_bot_message(timeout=10)
    assert answer.text == "Сейчас нечего отменять."

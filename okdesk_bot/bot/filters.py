"""Filters that match what a person taps on a reply keyboard, in any supported language."""

from __future__ import annotations

from typing import Final

from aiogram import F
from aiogram.filters import BaseFilter, or_f
from aiogram.types import Message

from okdesk_bot.bot.keyboards import MENU_BUTTONS
from okdesk_bot.texts import Texts


class MenuButton(BaseFilter):
    """The message is the text of the reply-keyboard button `key` in some locale."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, texts: Texts) -> bool:
        if message.text is None:
            return False
        return any(message.text == texts.get(self.key, locale) for locale in texts.locales)


ANY_MENU_BUTTON: Final = or_f(*(MenuButton(key) for row in MENU_BUTTONS for key in row))
"""A tap on any button of the main menu (never an answer to a question)."""
COMMAND_TEXT: Final = F.text.startswith("/")
"""A command, known or not (never an answer to a question)."""

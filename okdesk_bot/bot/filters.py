"""Filters that match what a person taps on a reply keyboard, in any supported language."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import Message

from okdesk_bot.texts import Texts


class MenuButton(BaseFilter):
    """The message is the text of the reply-keyboard button `key` in some locale."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, texts: Texts) -> bool:
        if message.text is None:
            return False
        return any(message.text == texts.get(self.key, locale) for locale in texts.locales)

"""The command menu Telegram shows next to the input field, per language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from okdesk_bot.texts import DEFAULT_LOCALE, Texts

COMMANDS = ("start", "menu", "new", "tickets", "help", "cancel")


def commands_for(texts: Texts, locale: str) -> list[BotCommand]:
    return [
        BotCommand(command=name, description=texts.get(f"cmd-{name}", locale)) for name in COMMANDS
    ]


async def set_commands(bot: Bot, texts: Texts) -> None:
    """Russian is the default menu; every other locale gets its own."""
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(commands_for(texts, DEFAULT_LOCALE), scope=scope)
    for locale in texts.locales:
        if locale != DEFAULT_LOCALE:
            await bot.set_my_commands(
                commands_for(texts, locale), scope=scope, language_code=locale
            )

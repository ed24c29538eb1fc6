"""Keyboards shared by several features."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from okdesk_bot.texts import Translator

MENU_BUTTONS = (("menu-create", "menu-tickets"), ("menu-status", "menu-comment"))


def main_menu(t: Translator) -> ReplyKeyboardMarkup:
    """The reply keyboard of a registered user; always back with /menu."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t(key)) for key in row] for row in MENU_BUTTONS],
        resize_keyboard=True,
        is_persistent=True,
    )

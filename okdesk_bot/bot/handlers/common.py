"""Commands that work in any state: /help, /cancel; and chats the bot does not serve.

/start belongs to the registration router.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from okdesk_bot.bot.keyboards import main_menu
from okdesk_bot.db.models import User
from okdesk_bot.texts import Translator


async def show_help(message: Message, t: Translator) -> None:
    await message.answer(t("help"))


async def cancel(message: Message, state: FSMContext, t: Translator, user: User | None) -> None:
    """Leave any dialog; a registered user gets the main menu back, others a clean keyboard."""
    keyboard = main_menu(t) if user is not None and user.registered_at else ReplyKeyboardRemove()
    if await state.get_state() is None:
        await message.answer(t("nothing-to-cancel"), reply_markup=keyboard)
        return
    await state.clear()
    await message.answer(t("cancelled"), reply_markup=keyboard)


async def not_private(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported-chat"))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_help, Command("help"))
    router.message.register(cancel, Command("cancel"))
    return router


def build_group_router() -> Router:
    """Groups and channels: a command gets a pointer to the private chat, the rest silence."""
    router = Router(name=f"{__name__}.groups")
    router.message.filter(F.chat.type != ChatType.PRIVATE)
    router.message.register(not_private, F.text.startswith("/"))
    return router

"""Commands that work in any state: /start, /help, /cancel; and chats the bot does not serve."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from okdesk_bot.texts import Translator


async def start(message: Message, state: FSMContext, t: Translator) -> None:
    await state.clear()
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(t("start-greeting", name=name))


async def show_help(message: Message, t: Translator) -> None:
    await message.answer(t("help"))


async def cancel(message: Message, state: FSMContext, t: Translator) -> None:
    if await state.get_state() is None:
        await message.answer(t("nothing-to-cancel"))
        return
    await state.clear()
    await message.answer(t("cancelled"), reply_markup=ReplyKeyboardRemove())


async def not_private(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported-chat"))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(not_private, F.chat.type != ChatType.PRIVATE, Command("start"))
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(cancel, Command("cancel"))
    return router

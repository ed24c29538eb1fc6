"""What handlers send back and how, shared by the features' views and handlers."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from okdesk_bot.services.errors import ServiceError
from okdesk_bot.texts import Translator


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to send or to put in place of another one."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def error_text(t: Translator, error: ServiceError) -> str:
    """The explanation of a use case's failure, in the user's language."""
    return t(error.text_key, **error.text_args)


def chat_id_of(callback: CallbackQuery) -> int:
    """The chat the button was pressed in."""
    return callback.message.chat.id if callback.message else callback.from_user.id


async def send(callback: CallbackQuery, reply: Reply) -> None:
    """Send `reply` as a new message to the chat the button was pressed in."""
    bot = callback.bot
    assert bot is not None, "aiogram mounts the bot on every update"
    await bot.send_message(chat_id_of(callback), reply.text, reply_markup=reply.markup)


async def show(callback: CallbackQuery, reply: Reply) -> None:
    """Put `reply` in place of the message with the button (a new message if it is too old).

    An edit that changes nothing («message is not modified») is fine.
    """
    if not isinstance(callback.message, Message):
        await send(callback, reply)
        return
    try:
        await callback.message.edit_text(reply.text, reply_markup=reply.markup)
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message:
            raise

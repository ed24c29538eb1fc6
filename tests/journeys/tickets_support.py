"""Helpers of the ticket journeys: talking to the bot and reading what landed in Okdesk."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from okdesk_bot.app import Application
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.okdesk.state import Issue
from okdesk_bot.emulators.telegram import EmulatedUser
from okdesk_bot.emulators.telegram.models import ChatMessage

MENU_CREATE = "📝 Создать заявку"
MENU_TICKETS = "📋 Мои заявки"
MENU_STATUS = "🔄 Проверить статус"
RETRY = "🔁 Отправить ещё раз"
PROMPT = "Опишите проблему одним сообщением"


async def answer(person: EmulatedUser, timeout: float = 10) -> ChatMessage:
    """The bot's next message to `person`."""
    return await person.wait_for_bot_message(timeout=timeout)


def text_of(message: ChatMessage) -> str:
    return message.text or message.caption or ""


async def press(person: EmulatedUser, message: ChatMessage, button: str) -> str | None:
    """Press an inline button and wait until the bot answers the press; returns its toast."""
    record = await person.press_button(message.message_id, button)
    return (await record.wait_answered(timeout=10)).answer_text


def button_data(message: ChatMessage) -> list[str]:
    return [button["callback_data"] for button in message.buttons if "callback_data" in button]


async def new_ticket_dialog(person: EmulatedUser) -> None:
    """/new, then the bot's invitation to describe the problem."""
    await person.send_command("/new")
    assert PROMPT in text_of(await answer(person))


async def open_menu(person: EmulatedUser) -> ChatMessage:
    await person.send_command("/menu")
    return await answer(person)


def new_issues(okdesk: OkdeskEmulator, known: set[int]) -> list[Issue]:
    """Issues created in Okdesk since `known` was taken, oldest first."""
    return [issue for number, issue in sorted(okdesk.state.issues.items()) if number not in known]


async def planted_message(
    app: Application, person: EmulatedUser, button: str, callback_data: str
) -> ChatMessage:
    """A bot message in the person's chat with a button carrying any data, as a forged or
    replayed callback would present it."""
    await person.send_command("/help")  # a bot writes only to people who wrote to it first
    await answer(person)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=button, callback_data=callback_data)]]
    )
    sent = await app.bot.send_message(person.chat_id, "…", reply_markup=keyboard)
    return await person.wait_for_bot_message(
        predicate=lambda message: message.message_id == sent.message_id
    )

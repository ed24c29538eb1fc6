"""Telegram messages as ticket input.

`read_ticket_message` turns a message into the service's `TicketMessage` (None for content
that cannot make a ticket: stickers, locations, contacts…), and the `TicketInput` filter hands
it to handlers. Files are read by :mod:`okdesk_bot.bot.files`, albums are gathered with
:mod:`okdesk_bot.bot.albums`.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message

from okdesk_bot.bot.files import message_file
from okdesk_bot.services.tickets import Sender, TicketMessage


def dedup_key(message: Message) -> str:
    """One ticket per message, and per album (its items share a `media_group_id`)."""
    if message.media_group_id:
        return f"{message.chat.id}:g{message.media_group_id}"
    return f"{message.chat.id}:{message.message_id}"


def read_ticket_message(message: Message) -> TicketMessage | None:
    """The message as ticket input, or None when it has neither text nor a usable file."""
    file = message_file(message)
    text = message.text or message.caption or ""
    if file is None and not text.strip():
        return None
    sender = message.from_user
    return TicketMessage(
        dedup_key=dedup_key(message),
        text=text,
        files=(file,) if file else (),
        sender=Sender(
            telegram_id=sender.id if sender else message.chat.id,
            full_name=sender.full_name if sender else "",
            username=sender.username if sender else None,
        ),
    )


class TicketInput(Filter):
    """The message can become a ticket; handlers get it as `ticket_message`."""

    async def __call__(self, message: Message) -> dict[str, TicketMessage] | bool:
        ticket_message = read_ticket_message(message)
        return {"ticket_message": ticket_message} if ticket_message is not None else False

"""Telegram messages as comment input: which ticket a message comments on, and what it says.

A message is a comment on a ticket when it replies to a bot message about that ticket (the one
its `TicketCallback` buttons name; untrusted, ownership is checked before anything is posted),
or when it comes after the prompt for a comment on the ticket the client chose.
"""

from __future__ import annotations

from typing import Any, Final

from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message

from okdesk_bot.bot.callbacks import TicketCallback
from okdesk_bot.bot.files import message_file
from okdesk_bot.bot.states import CommentStates
from okdesk_bot.services.comments import CommentDraft

CHOSEN_TICKET_KEY: Final = "comment_issue_id"
"""Dialog data key of the ticket the prompt asked a comment for."""


async def expect_comment(state: FSMContext, issue_id: int) -> None:
    """The client's next message is a comment on ticket `issue_id` (the prompt is sent)."""
    await state.set_state(CommentStates.writing)
    await state.set_data({CHOSEN_TICKET_KEY: issue_id})


def ticket_of_keyboard(markup: InlineKeyboardMarkup | None) -> int | None:
    """The one ticket the `TicketCallback` buttons of a keyboard name, else None.

    Other buttons are ignored; a keyboard naming several tickets (a list) names none.
    """
    if markup is None:
        return None
    issue_ids: set[int] = set()
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data is None:
                continue
            try:
                issue_ids.add(TicketCallback.unpack(button.callback_data).issue_id)
            except (TypeError, ValueError):
                continue
    return issue_ids.pop() if len(issue_ids) == 1 else None


class CommentTarget(BaseFilter):
    """The ticket a message comments on, as `comment_issue_id`: the one the replied bot
    message is about (an explicit target wins), else the one chosen before the prompt."""

    async def __call__(
        self, message: Message, state: FSMContext, raw_state: str | None
    ) -> bool | dict[str, Any]:
        replied = message.reply_to_message
        issue_id = ticket_of_keyboard(replied.reply_markup) if replied else None
        if issue_id is None and raw_state == CommentStates.writing.state:
            chosen = (await state.get_data()).get(CHOSEN_TICKET_KEY)
            issue_id = chosen if isinstance(chosen, int) else None
        return False if issue_id is None else {"comment_issue_id": issue_id}


def is_comment(message: Message) -> bool:
    """Text (not a command), or a file a ticket could take too (photo, document, voice…)."""
    if message_file(message) is not None:
        return True
    return bool(message.text) and not (message.text or "").startswith("/")


def comment_draft(message: Message, issue_id: int) -> CommentDraft:
    """What the message says (an album: one of its items) as a comment on `issue_id`."""
    file = message_file(message)
    return CommentDraft(
        issue_id=issue_id,
        text=message.text or message.caption or "",
        files=(file,) if file else (),
    )


def album_key(message: Message) -> str:
    """The album the message belongs to, in its chat."""
    return f"{message.chat.id}:{message.media_group_id}"

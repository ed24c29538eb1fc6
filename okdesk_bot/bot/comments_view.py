"""How comments look in Telegram: the prompt, the confirmation, a kept comment, the history.

Every text comes from the Fluent files (`comments.ftl`); values from Okdesk or from the client
are passed as arguments, which `Translator` escapes. The only HTML inserted as is, a comment's
content, is converted from Okdesk's HTML by `domain.richtext`, which splits long histories
without cutting a tag. Every message about a ticket carries a `TicketCallback` button with its
id, so a reply to it comments on that ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from okdesk_bot.bot.callbacks import (
    PendingCommentAction,
    PendingCommentCallback,
    TicketAction,
    TicketCallback,
)
from okdesk_bot.bot.moments import SHORT_PATTERN, shown_moment
from okdesk_bot.bot.replies import Reply, error_text
from okdesk_bot.domain.richtext import (
    TELEGRAM_MESSAGE_LIMIT,
    okdesk_html_to_telegram,
    split_message,
    telegram_text_length,
)
from okdesk_bot.okdesk import Comment
from okdesk_bot.services.comments import CommentHistory, CommentNotPostedError, PostedComment
from okdesk_bot.services.tickets import TicketSummary
from okdesk_bot.texts import Translator

HISTORY_BUDGET: Final = 4 * TELEGRAM_MESSAGE_LIMIT
"""At most this much history text is sent (the newest comments); Okdesk has the rest."""
BUTTON_TITLE_LENGTH: Final = 40
CHOICE_LIMIT: Final = 10
"""Open tickets offered to choose from (the most recently updated)."""


def write_prompt(t: Translator, issue_id: int, title: str) -> Reply:
    """«Write your comment on ticket №…» with the ticket's history a tap away."""
    return Reply(
        t("comment-write-prompt", number=str(issue_id), title=title),
        _ticket_keyboard(t, issue_id, TicketAction.HISTORY),
    )


def ticket_choice(t: Translator, tickets: Sequence[TicketSummary]) -> Reply:
    """«Which ticket?» with a button per open ticket (none: says so)."""
    if not tickets:
        return Reply(t("comment-no-open-tickets"))
    return Reply(t("comment-choose-ticket"), _choice_keyboard(t, tickets))


def added(t: Translator, posted: PostedComment) -> Reply:
    """The comment is in Okdesk (or a resend found it had landed already)."""
    key = "comment-already-posted" if posted.already_posted else "comment-added"
    issue_id = posted.issue.id
    return Reply(
        t(key, number=str(issue_id)),
        _ticket_keyboard(t, issue_id, TicketAction.COMMENT, TicketAction.HISTORY),
    )


def not_posted(t: Translator, error: CommentNotPostedError) -> Reply:
    """What kept the comment from Okdesk, with buttons to send it again or forget it."""

    def pending(action: PendingCommentAction, key: str) -> InlineKeyboardButton:
        data = PendingCommentCallback(action=action, pending_id=error.pending_id)
        return InlineKeyboardButton(text=t(key), callback_data=data.pack())

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                pending(PendingCommentAction.RESEND, "comment-button-resend"),
                pending(PendingCommentAction.DISCARD, "comment-button-discard"),
            ],
            [_ticket_button(t, TicketAction.HISTORY, error.issue_id)],
        ]
    )
    return Reply(error_text(t, error), keyboard)


def without_pending_buttons(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """The keyboard of a kept comment once it is sent or discarded: the ticket buttons only."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            row
            for row in markup.inline_keyboard
            if not any(_is_pending_button(button) for button in row)
        ]
    )


def history_messages(t: Translator, history: CommentHistory, zone: tzinfo) -> list[Reply]:
    """The history as Telegram messages, oldest first, each within Telegram's limit."""
    keyboard = _ticket_keyboard(t, history.issue.id, TicketAction.COMMENT)
    return [Reply(text, keyboard) for text in _history_texts(t, history, zone)]


# --------------------------------------------------------------------------------------------


def _history_texts(t: Translator, history: CommentHistory, zone: tzinfo) -> list[str]:
    issue = history.issue
    title = t("comment-history-title", number=str(issue.id), title=issue.title or "")
    blocks = [_render_comment(t, history, comment, zone) for comment in history.comments]
    if not blocks:
        return [f"{title}\n\n{t('comment-history-empty')}"]
    shown = _newest_within(blocks, HISTORY_BUDGET)
    if len(shown) < len(blocks):
        title += "\n" + t(
            "comment-history-truncated", shown=str(len(shown)), total=str(len(blocks))
        )
    return split_message("\n\n".join([title, *shown]), TELEGRAM_MESSAGE_LIMIT)


def _render_comment(t: Translator, history: CommentHistory, comment: Comment, zone: tzinfo) -> str:
    moment = comment.published_at
    date = "" if moment is None else shown_moment(t, moment, zone, pattern=SHORT_PATTERN)
    if history.is_own(comment):
        header = t("comment-history-entry-own", date=date)
    elif comment.author is not None and comment.author.name:
        header = t("comment-history-entry", author=comment.author.name, date=date)
    else:
        header = t("comment-history-entry-support", date=date)
    parts = [header]
    body = okdesk_html_to_telegram(comment.content)
    if body:
        parts.append(body)
    names = [
        each.attachment_file_name
        for each in comment.attachments
        if each.is_public is not False and each.attachment_file_name
    ]
    if names:
        parts.append(t("comment-history-files", names=", ".join(names)))
    return "\n".join(parts)


def _newest_within(blocks: Sequence[str], budget: int) -> list[str]:
    """The newest blocks whose text fits the budget (the newest one always)."""
    kept: list[str] = []
    used = 0
    for block in reversed(blocks):
        used += telegram_text_length(block) + 2
        if kept and used > budget:
            break
        kept.append(block)
    return kept[::-1]


def _ticket_button(t: Translator, action: TicketAction, issue_id: int) -> InlineKeyboardButton:
    key = {
        TicketAction.COMMENT: "comment-button-add",
        TicketAction.HISTORY: "comment-button-history",
    }[action]
    return InlineKeyboardButton(
        text=t(key), callback_data=TicketCallback(action=action, issue_id=issue_id).pack()
    )


def _ticket_keyboard(t: Translator, issue_id: int, *actions: TicketAction) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_ticket_button(t, action, issue_id) for action in actions]]
    )


def _choice_keyboard(t: Translator, tickets: Sequence[TicketSummary]) -> InlineKeyboardMarkup:
    def label(ticket: TicketSummary) -> str:
        title = ticket.title
        if len(title) > BUTTON_TITLE_LENGTH:
            title = title[: BUTTON_TITLE_LENGTH - 1].rstrip() + "…"
        # Button texts are not parsed as HTML: the title goes in as it is.
        return f"{t('comment-ticket-number', number=str(ticket.issue_id))} · {title}"

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=label(ticket),
                    callback_data=TicketCallback(
                        action=TicketAction.COMMENT, issue_id=ticket.issue_id
                    ).pack(),
                )
            ]
            for ticket in tickets[:CHOICE_LIMIT]
        ]
    )


def _is_pending_button(button: InlineKeyboardButton) -> bool:
    if button.callback_data is None:
        return False
    try:
        PendingCommentCallback.unpack(button.callback_data)
    except (TypeError, ValueError):
        return False
    return True

"""How tickets look in Telegram: replies about a new ticket, the list, the card, the offers.

Every text comes from the Fluent files (`tickets.ftl`); values from Okdesk or from the client
are passed as arguments, which `Translator` escapes. The only HTML inserted as is, the last
comment of a card, is converted from Okdesk's HTML by `domain.richtext` and shortened there,
never cut inside a tag. Every message about one ticket carries a `TicketCallback` button with
its id, so a reply to it can become a comment on that ticket.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from babel.numbers import format_decimal

from okdesk_bot.bot import replies
from okdesk_bot.bot.callbacks import (
    DraftAction,
    DraftCallback,
    TicketAction,
    TicketCallback,
    TicketsPage,
)
from okdesk_bot.bot.moments import shown_moment
from okdesk_bot.bot.replies import Reply
from okdesk_bot.config import Settings
from okdesk_bot.domain.richtext import okdesk_html_to_telegram, split_message
from okdesk_bot.okdesk import Comment
from okdesk_bot.services.errors import ServiceError
from okdesk_bot.services.files import IncomingFile
from okdesk_bot.services.tickets import (
    CreatedTicket,
    SubmissionFailedError,
    TicketCard,
    TicketPage,
    TicketSummary,
)
from okdesk_bot.texts import Translator

COMMENT_PREVIEW: Final = 800
"""Longest last comment on a card (UTF-16 units of text); the history shows it whole."""
TITLE_ON_CARD: Final = 300
BUTTON_TITLE: Final = 40


def created(t: Translator, settings: Settings, ticket: CreatedTicket) -> Reply:
    key = "ticket-already-created" if ticket.repeated else "ticket-created"
    lines = [t(key, number=str(ticket.issue_id), title=ticket.title)]
    lines.extend(_skipped_file(t, file) for file in ticket.skipped_files)
    return Reply("\n\n".join(lines), _created_buttons(t, settings, ticket.issue_id))


def error_text(t: Translator, error: ServiceError) -> str:
    """The explanation of a failure; a kept draft is mentioned with the way to resend it."""
    text = replies.error_text(t, error)
    if isinstance(error, SubmissionFailedError):
        return f"{text}\n\n{t('ticket-draft-kept')}"
    return text


def failed(t: Translator, error: SubmissionFailedError) -> Reply:
    """A submission that failed: what happened and a button to send the draft again."""
    retry = DraftCallback(action=DraftAction.RETRY, draft_id=error.draft_id)
    button = InlineKeyboardButton(text=t("ticket-retry-button"), callback_data=retry.pack())
    return Reply(error_text(t, error), InlineKeyboardMarkup(inline_keyboard=[[button]]))


def offer(t: Translator, draft_id: int) -> Reply:
    """«Create a ticket from this message?» with one tap."""
    create = DraftCallback(action=DraftAction.CREATE, draft_id=draft_id)
    discard = DraftCallback(action=DraftAction.DISCARD, draft_id=draft_id)
    return Reply(
        t("ticket-offer"),
        InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t("ticket-offer-create-button"), callback_data=create.pack()
                    ),
                    InlineKeyboardButton(
                        text=t("ticket-offer-discard-button"), callback_data=discard.pack()
                    ),
                ]
            ]
        ),
    )


def ticket_list(t: Translator, page: TicketPage) -> Reply:
    """A page of the list: one line and one button per ticket, then page navigation."""
    if not page.items:
        return Reply(t("ticket-list-empty"))
    lines = [t("ticket-list-title", open=page.open_count, closed=page.closed_count)]
    lines.extend(_list_line(t, summary) for summary in page.items)
    if page.pages > 1:
        lines.append(t("ticket-list-page", page=page.page + 1, pages=page.pages))
    rows = [[_card_button(summary)] for summary in page.items]
    navigation = []
    if page.page > 0:
        navigation.append(_page_button(t("ticket-list-prev"), page.page - 1))
    if page.page < page.pages - 1:
        navigation.append(_page_button(t("ticket-list-next"), page.page + 1))
    if navigation:
        rows.append(navigation)
    return Reply("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


def status_choice(t: Translator, tickets: list[TicketSummary]) -> Reply:
    """«Which ticket?» when the client has several open ones (none: says so)."""
    if not tickets:
        return Reply(t("ticket-status-none"))
    rows = [[_card_button(summary)] for summary in tickets]
    return Reply(
        t("ticket-status-choose", count=len(tickets)), InlineKeyboardMarkup(inline_keyboard=rows)
    )


def card(t: Translator, settings: Settings, ticket: TicketCard) -> Reply:
    """The ticket's card with refresh, comment, history and a link to Okdesk; times in the
    account's zone."""
    zone = settings.okdesk_timezone
    facts = t(
        "ticket-card",
        number=str(ticket.issue_id),
        title=_shorten(ticket.title, TITLE_ON_CARD),
        status=ticket.status,
        created=_moment(t, ticket.created_at, zone),
        updated=_moment(t, ticket.updated_at, zone),
        assignee=ticket.assignee or t("ticket-card-no-assignee"),
    )
    text = f"{facts}\n\n{_last_comment(t, ticket.last_comment, zone)}"
    return Reply(text, _card_buttons(t, settings, ticket.issue_id))


# --------------------------------------------------------------------------------------------


def _last_comment(t: Translator, comment: Comment | None, zone: tzinfo) -> str:
    """The comment's header and text, shortened at a paragraph, line or word boundary."""
    if comment is None:
        return t("ticket-card-no-comments")
    chunks = split_message(okdesk_html_to_telegram(comment.content), COMMENT_PREVIEW)
    author = comment.author.name if comment.author else None
    header = t(
        "ticket-card-last-comment",
        author=author or t("ticket-card-support"),
        at=_moment(t, comment.published_at, zone),
    )
    if not chunks:  # nothing but attachments
        return f"{header}\n{t('ticket-card-comment-files-only')}"
    return f"{header}\n{chunks[0]}{'…' if len(chunks) > 1 else ''}"


def _created_buttons(t: Translator, settings: Settings, issue_id: int) -> InlineKeyboardMarkup:
    show = TicketCallback(action=TicketAction.CARD, issue_id=issue_id)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t("ticket-card-button"), callback_data=show.pack())],
            [InlineKeyboardButton(text=t("ticket-open-button"), url=settings.issue_url(issue_id))],
        ]
    )


def _card_buttons(t: Translator, settings: Settings, issue_id: int) -> InlineKeyboardMarkup:
    def action(key: str, kind: TicketAction) -> InlineKeyboardButton:
        data = TicketCallback(action=kind, issue_id=issue_id).pack()
        return InlineKeyboardButton(text=t(key), callback_data=data)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                action("ticket-refresh-button", TicketAction.REFRESH),
                action("ticket-comment-button", TicketAction.COMMENT),
            ],
            [action("ticket-history-button", TicketAction.HISTORY)],
            [InlineKeyboardButton(text=t("ticket-open-button"), url=settings.issue_url(issue_id))],
        ]
    )


def _card_button(summary: TicketSummary) -> InlineKeyboardButton:
    data = TicketCallback(action=TicketAction.CARD, issue_id=summary.issue_id)
    mark = "🟢" if summary.is_open else "⚪️"
    title = _shorten(summary.title, BUTTON_TITLE)
    return InlineKeyboardButton(
        text=f"{mark} №{summary.issue_id} · {title}", callback_data=data.pack()
    )


def _page_button(text: str, page: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=TicketsPage(page=page).pack())


def _list_line(t: Translator, summary: TicketSummary) -> str:
    return t(
        "ticket-list-item",
        mark="🟢" if summary.is_open else "⚪️",
        number=str(summary.issue_id),
        title=_shorten(summary.title, BUTTON_TITLE * 2),
        status=summary.status,
    )


def _skipped_file(t: Translator, file: IncomingFile) -> str:
    megabytes = format_decimal((file.size or 0) / 1024 / 1024, "0.0", locale=t.locale)
    return t("ticket-file-skipped", name=file.file_name, megabytes=megabytes)


def _moment(t: Translator, moment: datetime | None, zone: tzinfo) -> str:
    return "—" if moment is None else shown_moment(t, moment, zone)


def _shorten(text: str, limit: int) -> str:
    """Plain text cut at a word boundary with «…» (a title for a button or a list line)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"

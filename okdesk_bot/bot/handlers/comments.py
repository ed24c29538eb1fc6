"""Comments: add one to a ticket (menu, a ticket's button, or a reply), read the history.

A reply to any bot message about a ticket becomes a comment on that ticket (see
:mod:`okdesk_bot.bot.comment_input`). An album becomes one comment once all its pictures
arrived. Comments Okdesk did not take, and albums on their way, are kept in the chat's dialog
storage under a destiny of their own, so neither /cancel nor another dialog wipes them; a
button sends a kept comment again. How it all looks: :mod:`okdesk_bot.bot.comments_view`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import replace
from functools import partial
from typing import Any, Final, TypeVar

from aiogram import Bot, Dispatcher, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from okdesk_bot.bot import comments_view as view
from okdesk_bot.bot import replies
from okdesk_bot.bot.albums import AlbumCollector
from okdesk_bot.bot.callbacks import (
    PendingCommentAction,
    PendingCommentCallback,
    TicketAction,
    TicketCallback,
)
from okdesk_bot.bot.comment_input import (
    CommentTarget,
    album_key,
    comment_draft,
    expect_comment,
    is_comment,
)
from okdesk_bot.bot.files import TelegramFiles
from okdesk_bot.bot.filters import ANY_MENU_BUTTON, COMMAND_TEXT, MenuButton
from okdesk_bot.bot.middlewares import Handler
from okdesk_bot.bot.replies import Reply, error_text
from okdesk_bot.bot.states import CommentStates
from okdesk_bot.config import Settings
from okdesk_bot.db.models import User
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services.comments import (
    AlbumDrafts,
    CommentDraft,
    CommentNotPostedError,
    CommentService,
    EmptyCommentError,
    FileTooBigError,
    PendingComments,
)
from okdesk_bot.services.errors import ServiceError
from okdesk_bot.services.tickets import StatusCatalog, TicketReader
from okdesk_bot.texts import Translator

log = logging.getLogger(__name__)

COMMENTS_DESTINY: Final = "comments"
"""Dialog-storage destiny of the unsent comments and incoming albums (not the dialog)."""
ALBUM_COMPLETE: Final = "comment_album_complete"
"""Handler data flag of an album fed again, complete, by the comments' `AlbumCollector`."""

T = TypeVar("T")


def _own_record(state: FSMContext) -> FSMContext:
    """The chat's comments record: beside the dialog state, untouched by /cancel."""
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=COMMENTS_DESTINY))


async def _with_comments(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Put `comments`, the chat's `CommentService`, into handler data."""
    data["comments"] = CommentService(data["okdesk"], PendingComments(_own_record(data["state"])))
    return await handler(event, data)


async def _answered(callback: CallbackQuery, t: Translator, outcome: Awaitable[T]) -> T | None:
    """Await a service call and answer the button: None, with an alert, if the call failed."""
    try:
        result = await outcome
    except ServiceError as exc:
        await callback.answer(error_text(t, exc), show_alert=True)
        return None
    await callback.answer()
    return result


async def _post(
    message: Message,
    draft: CommentDraft,
    *,
    comments: CommentService,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    t: Translator,
    user: User | None,
) -> None:
    """Post the comment and tell the client; the prompt is done unless they must write again."""
    try:
        posted = await comments.post(user, draft, TelegramFiles(bot))
    except (EmptyCommentError, FileTooBigError) as exc:
        await message.answer(error_text(t, exc))
        return
    except CommentNotPostedError as exc:
        reply = view.not_posted(t, exc)
    except ServiceError as exc:
        reply = Reply(error_text(t, exc))
    else:
        reply = view.added(t, posted)
    await message.answer(reply.text, reply_markup=reply.markup)
    if raw_state == CommentStates.writing.state:
        await state.clear()


async def _drop_pending_buttons(callback: CallbackQuery) -> None:
    """Leave only the ticket buttons on the message of a sent or discarded comment."""
    message = callback.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    try:
        await message.edit_reply_markup(
            reply_markup=view.without_pending_buttons(message.reply_markup)
        )
    except TelegramBadRequest as exc:  # too old to edit, or already edited
        log.debug("Could not edit the buttons of message %s: %s", message.message_id, exc)


# --- handlers -------------------------------------------------------------------------------


async def choose_ticket(
    message: Message,
    *,
    state: FSMContext,
    t: Translator,
    okdesk: OkdeskClient,
    statuses: StatusCatalog,
    user: User | None,
) -> None:
    """«Добавить комментарий»: straight to the only open ticket, else a choice."""
    await state.clear()
    try:
        tickets = await TicketReader(okdesk=okdesk, statuses=statuses).open_tickets(user)
    except ServiceError as exc:
        await message.answer(error_text(t, exc))
        return
    if len(tickets) == 1:
        only = tickets[0]
        await expect_comment(state, only.issue_id)
        reply = view.write_prompt(t, only.issue_id, only.title)
    else:
        reply = view.ticket_choice(t, tickets)
    await message.answer(reply.text, reply_markup=reply.markup)


async def start_comment(
    callback: CallbackQuery,
    *,
    callback_data: TicketCallback,
    state: FSMContext,
    t: Translator,
    comments: CommentService,
    user: User | None,
) -> None:
    """A ticket's «Комментировать» button: the next message is the comment."""
    issue = await _answered(callback, t, comments.ticket_for_comment(user, callback_data.issue_id))
    if issue is None:
        return
    await expect_comment(state, issue.id)
    await replies.send(callback, view.write_prompt(t, issue.id, issue.title or ""))


async def comment_received(
    message: Message,
    *,
    comment_issue_id: int,
    comments: CommentService,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    t: Translator,
    user: User | None,
) -> None:
    """The message after the prompt, or a reply to a message about a ticket, is a comment."""
    draft = comment_draft(message, comment_issue_id)
    await _post(
        message,
        draft,
        comments=comments,
        bot=bot,
        state=state,
        raw_state=raw_state,
        t=t,
        user=user,
    )


async def comment_album_item(
    message: Message,
    *,
    comment_issue_id: int,
    albums: AlbumCollector,
    state: FSMContext,
    bot: Bot,
    dispatcher: Dispatcher,
    event_update: Update,
) -> None:
    """One picture of an album meant as a comment: kept until the album is complete."""
    key = album_key(message)
    await AlbumDrafts(_own_record(state)).add(key, comment_draft(message, comment_issue_id))
    albums.item_arrived(key, dispatcher=dispatcher, bot=bot, update=event_update)


async def comment_album_complete(
    message: Message,
    *,
    comments: CommentService,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    t: Translator,
    user: User | None,
) -> None:
    """The whole album arrived: one comment with every picture."""
    draft = await AlbumDrafts(_own_record(state)).take(album_key(message))
    if draft is None:  # already posted
        return
    await _post(
        message,
        draft,
        comments=comments,
        bot=bot,
        state=state,
        raw_state=raw_state,
        t=t,
        user=user,
    )


async def unsupported_comment(message: Message, t: Translator) -> None:
    await message.answer(t("comment-unsupported"))


async def show_history(
    callback: CallbackQuery,
    *,
    callback_data: TicketCallback,
    t: Translator,
    comments: CommentService,
    user: User | None,
    settings: Settings,
) -> None:
    """A ticket's «История» button: its public comments, oldest first."""
    history = await _answered(callback, t, comments.history(user, callback_data.issue_id))
    if history is None:
        return
    for reply in view.history_messages(t, history, settings.okdesk_timezone):
        await replies.send(callback, reply)


async def resend_comment(
    callback: CallbackQuery,
    *,
    callback_data: PendingCommentCallback,
    bot: Bot,
    t: Translator,
    comments: CommentService,
    user: User | None,
) -> None:
    """«Отправить ещё раз» on a comment Okdesk did not take."""
    try:
        posted = await comments.resend(user, callback_data.pending_id, TelegramFiles(bot))
    except CommentNotPostedError as exc:  # still kept: the same button works later
        await callback.answer(error_text(t, exc), show_alert=True)
        return
    except ServiceError as exc:
        await callback.answer(error_text(t, exc), show_alert=True)
        await _drop_pending_buttons(callback)
        return
    await callback.answer()
    await _drop_pending_buttons(callback)
    await replies.send(callback, view.added(t, posted))


async def discard_comment(
    callback: CallbackQuery,
    *,
    callback_data: PendingCommentCallback,
    t: Translator,
    comments: CommentService,
) -> None:
    """«Не отправлять»: forget a comment Okdesk did not take."""
    discarded = await comments.discard(callback_data.pending_id)
    await callback.answer(t("comment-discarded" if discarded else "comment-pending-gone"))
    await _drop_pending_buttons(callback)


def build_router() -> Router:
    router = Router(name=__name__)
    albums = AlbumCollector(ALBUM_COMPLETE)
    router.shutdown.register(albums.close)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.middleware(_with_comments)
    router.callback_query.middleware(_with_comments)
    not_a_menu_tap = ~ANY_MENU_BUTTON
    not_a_command = ~COMMAND_TEXT
    # Replies to bot messages about a ticket are comments outside any dialog too.
    comment_flow = StateFilter(None, CommentStates.writing)

    router.message.register(comment_album_complete, albums.is_complete)
    router.message.register(choose_ticket, MenuButton("menu-comment"))
    router.message.register(
        partial(comment_album_item, albums=albums),
        comment_flow,
        F.media_group_id,
        CommentTarget(),
        is_comment,
    )
    router.message.register(
        comment_received, comment_flow, CommentTarget(), is_comment, not_a_menu_tap
    )
    router.message.register(
        unsupported_comment, comment_flow, CommentTarget(), not_a_menu_tap, not_a_command
    )

    router.callback_query.register(
        start_comment, TicketCallback.filter(F.action == TicketAction.COMMENT)
    )
    router.callback_query.register(
        show_history, TicketCallback.filter(F.action == TicketAction.HISTORY)
    )
    router.callback_query.register(
        resend_comment, PendingCommentCallback.filter(F.action == PendingCommentAction.RESEND)
    )
    router.callback_query.register(
        discard_comment, PendingCommentCallback.filter(F.action == PendingCommentAction.DISCARD)
    )
    return router

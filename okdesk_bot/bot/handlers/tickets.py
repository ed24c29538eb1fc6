"""Tickets: /menu, /new (one message makes a ticket), /tickets, «Проверить статус», the card.

Two routers. `build_router` holds the commands, menu buttons, the new-ticket dialog and the
ticket buttons; `build_fallback_router` goes last and answers whatever no feature took: text
or a captioned file outside any dialog is offered as a ticket, the rest gets a hint.

Handlers get the Dispatcher's `StatusCatalog` as `statuses` (workflow data) and the update's
`TicketSubmission` as `submission` (both routers' middleware); the router's `AlbumCollector`
is bound to the one handler that needs it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from typing import Any, Final

from aiogram import Bot, Dispatcher, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, StateFilter, or_f
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from okdesk_bot.bot import replies
from okdesk_bot.bot import tickets_view as view
from okdesk_bot.bot.albums import AlbumCollector
from okdesk_bot.bot.callbacks import (
    DraftAction,
    DraftCallback,
    TicketAction,
    TicketCallback,
    TicketsPage,
)
from okdesk_bot.bot.files import TelegramFiles
from okdesk_bot.bot.filters import ANY_MENU_BUTTON, COMMAND_TEXT, MenuButton
from okdesk_bot.bot.keyboards import main_menu
from okdesk_bot.bot.middlewares import Handler
from okdesk_bot.bot.replies import Reply
from okdesk_bot.bot.states import TicketStates
from okdesk_bot.bot.ticket_input import TicketInput
from okdesk_bot.config import Settings
from okdesk_bot.db.models import User
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services.access import require_registered
from okdesk_bot.services.errors import NotRegisteredError, ServiceError
from okdesk_bot.services.tickets import (
    CreatedTicket,
    StatusCatalog,
    SubmissionFailedError,
    TicketMessage,
    TicketReader,
    TicketSubmission,
)
from okdesk_bot.texts import Translator

FILE_CONTENT = F.photo | F.document | F.voice | F.audio | F.video
ALBUM_COMPLETE: Final = "ticket_album_complete"
"""Handler data flag of an album fed again, complete, by the tickets' `AlbumCollector`."""


def _is_registered(user: User | None) -> bool:
    try:
        require_registered(user)
    except NotRegisteredError:
        return False
    return True


def _unregistered(_event: Message, user: User | None) -> bool:
    return not _is_registered(user)


def _registered(_event: Message, user: User | None) -> bool:
    return _is_registered(user)


async def _with_submission(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Put `submission`, the update's `TicketSubmission`, into handler data."""
    settings: Settings = data["settings"]
    data["submission"] = TicketSubmission(
        uow=data["uow"],
        okdesk=data["okdesk"],
        files=TelegramFiles(data["bot"]),
        tickets_per_hour=settings.tickets_per_hour,
    )
    return await handler(event, data)


# --------------------------------------------------------------------------------------------
# Menu and commands


async def show_menu(message: Message, state: FSMContext, t: Translator, user: User | None) -> None:
    await state.clear()
    if not _is_registered(user):
        await message.answer(t("not-registered"))
        return
    await message.answer(t("menu-shown"), reply_markup=main_menu(t))


async def start_ticket(
    message: Message, state: FSMContext, t: Translator, user: User | None
) -> None:
    if not _is_registered(user):
        await message.answer(t("not-registered"))
        return
    await state.set_state(TicketStates.writing)
    await message.answer(t("ticket-prompt"), reply_markup=main_menu(t))


async def show_tickets(
    message: Message,
    *,
    state: FSMContext,
    t: Translator,
    user: User | None,
    okdesk: OkdeskClient,
    statuses: StatusCatalog,
) -> None:
    await state.clear()
    try:
        page = await TicketReader(okdesk=okdesk, statuses=statuses).page(user, 0)
    except ServiceError as error:
        await message.answer(view.error_text(t, error))
        return
    reply = view.ticket_list(t, page)
    await message.answer(reply.text, reply_markup=reply.markup)


async def check_status(
    message: Message,
    *,
    state: FSMContext,
    t: Translator,
    user: User | None,
    okdesk: OkdeskClient,
    settings: Settings,
    statuses: StatusCatalog,
) -> None:
    """The card of the only open ticket, or a choice among the open ones."""
    await state.clear()
    reader = TicketReader(okdesk=okdesk, statuses=statuses)
    try:
        open_tickets = await reader.open_tickets(user)
        if len(open_tickets) == 1:
            reply = view.card(t, settings, await reader.card(user, open_tickets[0].issue_id))
        else:
            reply = view.status_choice(t, open_tickets)
    except ServiceError as error:
        await message.answer(view.error_text(t, error))
        return
    await message.answer(reply.text, reply_markup=reply.markup)


# --------------------------------------------------------------------------------------------
# A new ticket from one message


async def ticket_from_message(
    message: Message,
    *,
    state: FSMContext,
    t: Translator,
    user: User | None,
    submission: TicketSubmission,
    settings: Settings,
    ticket_message: TicketMessage,
) -> None:
    """The message the client wrote after «Создать заявку» becomes the ticket."""
    await state.clear()
    await _reply_with_outcome(message, t, settings, submission.create(user, ticket_message))


async def album_item(
    message: Message,
    *,
    t: Translator,
    user: User | None,
    submission: TicketSubmission,
    bot: Bot,
    albums: AlbumCollector,
    dispatcher: Dispatcher,
    event_update: Update,
    ticket_message: TicketMessage,
) -> None:
    """Store one item of an album with the album's draft; the album is handled once complete."""
    try:
        saved = await submission.save_draft(user, ticket_message)
    except ServiceError as error:
        await message.answer(view.error_text(t, error))
        return
    if saved.issue_id is None:
        albums.item_arrived(
            ticket_message.dedup_key, dispatcher=dispatcher, bot=bot, update=event_update
        )


async def album_complete(
    message: Message,
    *,
    state: FSMContext,
    t: Translator,
    user: User | None,
    submission: TicketSubmission,
    settings: Settings,
    ticket_message: TicketMessage,
) -> None:
    """All items of an album arrived: a ticket in the new-ticket dialog, else an offer."""
    if await state.get_state() == TicketStates.writing.state:
        await state.clear()
        await _reply_with_outcome(message, t, settings, submission.create(user, ticket_message))
    else:
        await offer_ticket(
            message,
            t=t,
            settings=settings,
            user=user,
            submission=submission,
            ticket_message=ticket_message,
        )


async def _reply_with_outcome(
    message: Message, t: Translator, settings: Settings, outcome: Awaitable[CreatedTicket]
) -> None:
    try:
        ticket = await outcome
    except SubmissionFailedError as error:
        reply = view.failed(t, error)
    except ServiceError as error:
        reply = Reply(view.error_text(t, error))
    else:
        reply = view.created(t, settings, ticket)
    await message.reply(reply.text, reply_markup=reply.markup)


# --------------------------------------------------------------------------------------------
# Drafts: create from an offer, send again, discard


async def draft_action(
    callback: CallbackQuery,
    callback_data: DraftCallback,
    *,
    t: Translator,
    user: User | None,
    submission: TicketSubmission,
    settings: Settings,
) -> None:
    """Send a draft (from an offer, or again after a failure); the draft must be the user's."""
    try:
        ticket = await submission.submit(user, callback_data.draft_id)
    except SubmissionFailedError as error:
        await replies.show(callback, view.failed(t, error))
        await callback.answer()
        return
    except ServiceError as error:
        await callback.answer(view.error_text(t, error), show_alert=True)
        return
    if ticket.repeated:  # a second tap: the message already tells about the ticket
        await callback.answer(t("ticket-already-created-toast", number=str(ticket.issue_id)))
        return
    await replies.show(callback, view.created(t, settings, ticket))
    await callback.answer()


async def discard_offer(callback: CallbackQuery, t: Translator) -> None:
    """«Не нужно»: the offer goes away (the draft stays, unused)."""
    await replies.show(callback, Reply(t("ticket-offer-discarded")))
    await callback.answer()


# --------------------------------------------------------------------------------------------
# The list and the card


async def turn_page(
    callback: CallbackQuery,
    callback_data: TicketsPage,
    *,
    t: Translator,
    user: User | None,
    okdesk: OkdeskClient,
    statuses: StatusCatalog,
) -> None:
    try:
        page = await TicketReader(okdesk=okdesk, statuses=statuses).page(user, callback_data.page)
    except ServiceError as error:
        await callback.answer(view.error_text(t, error), show_alert=True)
        return
    await replies.show(callback, view.ticket_list(t, page))
    await callback.answer()


async def ticket_card(
    callback: CallbackQuery,
    callback_data: TicketCallback,
    *,
    t: Translator,
    user: User | None,
    okdesk: OkdeskClient,
    settings: Settings,
    statuses: StatusCatalog,
) -> None:
    """CARD sends the card as a new message; REFRESH puts a fresh one in place of the old."""
    reader = TicketReader(okdesk=okdesk, statuses=statuses)
    try:
        card = await reader.card(user, callback_data.issue_id)
    except ServiceError as error:
        await callback.answer(view.error_text(t, error), show_alert=True)
        return
    reply = view.card(t, settings, card)
    if callback_data.action is TicketAction.REFRESH:
        await replies.show(callback, reply)
        await callback.answer(t("ticket-refreshed"))
        return
    await replies.send(callback, reply)
    await callback.answer()


# --------------------------------------------------------------------------------------------
# Fallback: whatever no feature took


async def not_private(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported-chat"))


async def not_registered(message: Message, t: Translator) -> None:
    await message.answer(t("not-registered"))


async def unknown_command(message: Message, t: Translator) -> None:
    await message.answer(t("ticket-hint-unknown-command"))


async def offer_ticket(
    message: Message,
    *,
    t: Translator,
    settings: Settings,
    user: User | None,
    submission: TicketSubmission,
    ticket_message: TicketMessage,
) -> None:
    """Text (or a captioned file) outside any dialog: «Создать заявку из этого сообщения?».

    The draft is stored first, then offered; a message that is a ticket already says so.
    """
    try:
        saved = await submission.save_draft(user, ticket_message)
    except ServiceError as error:
        await message.answer(view.error_text(t, error))
        return
    if saved.issue_id is not None:
        reply = view.created(
            t, settings, CreatedTicket(saved.issue_id, saved.title, (), repeated=True)
        )
    elif saved.has_text:
        reply = view.offer(t, saved.draft_id)
    else:
        reply = Reply(t("ticket-hint-add-text"))
    await message.reply(reply.text, reply_markup=reply.markup)


async def hint_add_text(message: Message, t: Translator) -> None:
    await message.answer(t("ticket-hint-add-text"))


async def hint_in_dialog(message: Message, t: Translator) -> None:
    await message.answer(t("ticket-hint-in-dialog"))


async def hint_unsupported(message: Message, t: Translator) -> None:
    await message.answer(t("ticket-hint-unsupported"))


async def outdated_button(callback: CallbackQuery, t: Translator) -> None:
    await callback.answer(t("ticket-button-outdated"), show_alert=True)


# --------------------------------------------------------------------------------------------
# Routers


def build_router() -> Router:
    """Commands, menu buttons, the new-ticket dialog, albums and the ticket buttons."""
    router = Router(name=__name__)
    albums = AlbumCollector(ALBUM_COMPLETE)
    router.shutdown.register(albums.close)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.middleware(_with_submission)
    router.callback_query.middleware(_with_submission)

    router.message.register(show_menu, Command("menu"))
    router.message.register(start_ticket, or_f(Command("new"), MenuButton("menu-create")))
    router.message.register(show_tickets, or_f(Command("tickets"), MenuButton("menu-tickets")))
    router.message.register(check_status, MenuButton("menu-status"))

    router.message.register(album_complete, albums.is_complete, TicketInput())
    in_reach = StateFilter(None, TicketStates.writing)
    router.message.register(
        partial(album_item, albums=albums),
        in_reach,
        F.media_group_id,
        F.reply_to_message.is_(None),
        _registered,
        TicketInput(),
    )
    router.message.register(
        ticket_from_message,
        StateFilter(TicketStates.writing),
        ~COMMAND_TEXT,
        ~ANY_MENU_BUTTON,
        TicketInput(),
    )
    router.message.register(
        hint_unsupported, StateFilter(TicketStates.writing), ~COMMAND_TEXT, ~ANY_MENU_BUTTON
    )

    router.callback_query.register(
        draft_action,
        DraftCallback.filter(F.action.in_({DraftAction.CREATE, DraftAction.RETRY})),
    )
    router.callback_query.register(
        discard_offer, DraftCallback.filter(F.action == DraftAction.DISCARD)
    )
    router.callback_query.register(turn_page, TicketsPage.filter())
    router.callback_query.register(
        ticket_card,
        TicketCallback.filter(F.action.in_({TicketAction.CARD, TicketAction.REFRESH})),
    )
    return router


def build_fallback_router() -> Router:
    """The last router: offers a ticket for stray text, hints for everything else."""
    router = Router(name=f"{__name__}.fallback")
    router.message.middleware(_with_submission)
    router.message.register(not_private, F.chat.type != ChatType.PRIVATE)
    router.message.register(not_registered, _unregistered)
    router.message.register(unknown_command, COMMAND_TEXT)
    router.message.register(hint_in_dialog, ~StateFilter(None))
    router.message.register(hint_add_text, FILE_CONTENT, ~F.caption)
    router.message.register(offer_ticket, TicketInput())
    router.message.register(hint_unsupported)
    router.callback_query.register(outdated_button)
    return router

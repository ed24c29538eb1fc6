"""Every inline button's data, typed, with short prefixes (Telegram allows 64 bytes).

Values arriving in callback data are untrusted input: a user can replay or forge any of them.
Handlers must check ownership of every ticket id on the server side before acting.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class UserKindChoice(StrEnum):
    INDIVIDUAL = "i"
    LEGAL = "l"


class RegistrationKind(CallbackData, prefix="rk"):
    """Registration: individual or legal entity."""

    kind: UserKindChoice


class RegistrationConfirm(CallbackData, prefix="rc"):
    """Registration: confirm (or reject) the company found by INN, or the final summary."""

    step: str
    ok: bool


class TicketAction(StrEnum):
    CARD = "c"
    REFRESH = "r"
    COMMENT = "m"
    HISTORY = "h"


class TicketCallback(CallbackData, prefix="t"):
    """An action on one Okdesk ticket (ownership is re-checked on every press)."""

    action: TicketAction
    issue_id: int
    page: int = 0


class TicketsPage(CallbackData, prefix="tp"):
    """A page of the user's ticket list."""

    page: int


class DraftAction(StrEnum):
    CREATE = "c"  # make a ticket from the message the user just wrote outside any flow
    RETRY = "r"  # send again a draft that Okdesk did not accept
    DISCARD = "d"


class DraftCallback(CallbackData, prefix="d"):
    """A ticket draft stored in the database (tickets table), by its row id."""

    action: DraftAction
    draft_id: int

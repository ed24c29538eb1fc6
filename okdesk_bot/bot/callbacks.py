"""Every inline button's data, typed, with short prefixes (Telegram allows 64 bytes).

Values arriving in callback data are untrusted input: a user can replay or forge any of them.
Handlers must check ownership of every ticket id on the server side before acting.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from pydantic import Field


class UserKindChoice(StrEnum):
    INDIVIDUAL = "i"
    LEGAL = "l"


class RegistrationKind(CallbackData, prefix="rk"):
    """Registration: individual or legal entity."""

    kind: UserKindChoice


class ConfirmStep(StrEnum):
    COMPANY = "c"  # the company found by INN is the user's
    LOGOUT = "l"  # unbind the Telegram account from the Okdesk contact


class RegistrationConfirm(CallbackData, prefix="rc"):
    """Registration: a yes/no answer at one of the confirmation steps."""

    step: ConfirmStep
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


class ProfileAction(StrEnum):
    EDIT = "e"  # register again; the old binding stays until the new one is stored
    LOGOUT = "l"  # ask to confirm unbinding (answered with `RegistrationConfirm`)


class ProfileCallback(CallbackData, prefix="pf"):
    """An action on the sender's own profile (callback data names nobody else's)."""

    action: ProfileAction


class RegistrationRetry(CallbackData, prefix="rr"):
    """Send the registration answers kept in the sender's dialog to Okdesk again."""


class PendingCommentAction(StrEnum):
    RESEND = "r"
    DISCARD = "d"


class PendingCommentCallback(CallbackData, prefix="pc"):
    """A comment Okdesk did not take, kept in the sender's own dialog storage by its id."""

    action: PendingCommentAction
    pending_id: str = Field(min_length=1, max_length=16)

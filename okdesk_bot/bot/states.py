"""Dialog states (aiogram FSM), one `StatesGroup` per feature.

The state and its data live in the database or Redis (see `bot.storage`), so a person halfway
through a dialog continues where they were after the bot restarts.
"""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class RegistrationStates(StatesGroup):
    """Registration after /start: who the person is, then their company, name and phone."""

    choosing_kind = State()
    entering_inn = State()
    confirming_company = State()
    entering_name = State()
    entering_phone = State()


class CommentStates(StatesGroup):
    """A comment: the next message goes to the ticket whose id is in the state data."""

    writing = State()


class TicketStates(StatesGroup):
    """A new ticket: the next message (text, file, album or voice note) becomes it."""

    writing = State()

"""The one place where an unexpected failure in a handler becomes a polite answer."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message, User

from okdesk_bot.texts import Texts

log = logging.getLogger(__name__)


async def handle_error(event: ErrorEvent, texts: Texts) -> bool:
    """Log with context (the log filter removes secrets) and tell the person, never a traceback."""
    incoming = event.update.event
    log.error(
        "Update %s (%s) failed: %s",
        event.update.update_id,
        event.update.event_type,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    sender: User | None = getattr(incoming, "from_user", None)
    text = texts.for_locale(sender.language_code if sender else None)("unexpected-error")
    try:
        if isinstance(incoming, CallbackQuery):
            await incoming.answer(text, show_alert=True)
        elif isinstance(incoming, Message):
            await incoming.answer(text)
    except TelegramAPIError:
        log.warning(
            "Could not tell the user about the failure of update %s", event.update.update_id
        )
    return True

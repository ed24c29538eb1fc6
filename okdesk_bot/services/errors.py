"""Errors of the use cases; the bot maps each to a friendly text in the user's language."""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """A use case could not be carried out for a reason the user should be told.

    The bot explains it with the text `text_key`, given the values of `text_args`.
    """

    text_key = "unexpected-error"

    @property
    def text_args(self) -> Mapping[str, str | int]:
        """The values the text names (a ticket number, a limit…); none by default."""
        return {}


class NotRegisteredError(ServiceError):
    """The person has not finished registration, so nothing can be done on their behalf."""

    text_key = "not-registered"


class TicketAccessDeniedError(ServiceError):
    """The ticket does not exist or belongs to someone else (the two are not told apart)."""

    text_key = "ticket-not-yours"

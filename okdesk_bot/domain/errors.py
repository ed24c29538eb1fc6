"""Errors raised by the domain rules.

Every rejection of user input carries a stable ``reason`` code that the bot maps to a friendly,
translated text (one Fluent key per reason). Messages and reprs never contain the rejected
value itself: phone numbers, names and tax numbers are personal data and must not end up in logs.

    DomainError
    └── InvalidInputError[Reason]
        ├── InvalidPhoneError   reason: PhoneErrorReason
        ├── InvalidNameError    reason: NameErrorReason
        └── InvalidInnError     reason: InnErrorReason
"""

from typing import ClassVar, Generic, Literal, TypeAlias, TypeVar

__all__ = [
    "DomainError",
    "InnErrorReason",
    "InvalidInnError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidPhoneError",
    "NameErrorReason",
    "PhoneErrorReason",
]

PhoneErrorReason: TypeAlias = Literal["not_a_number", "too_short", "too_long", "invalid"]
"""``not_a_number``: letters or symbols, or no digits at all; ``too_short`` / ``too_long``: the
digit count cannot be a phone number; ``invalid``: the right shape but no such number exists."""

NameErrorReason: TypeAlias = Literal["one_word", "too_short", "too_long", "bad_characters"]
"""``one_word``: a surname and a first name are both needed; ``too_short``: a part is a single
letter, or nothing was typed; ``too_long``: too many words or characters; ``bad_characters``:
digits, emoji or symbols other than a hyphen, an apostrophe, a space or a dot."""

InnErrorReason: TypeAlias = Literal["length", "not_digits", "checksum"]
"""``length``: not 10 or 12 digits; ``not_digits``: anything but ASCII digits and spaces;
``checksum``: the control digits do not match (a typo)."""

ReasonT = TypeVar("ReasonT", bound=str)


class DomainError(Exception):
    """Base class of every error raised by the domain rules."""


class InvalidInputError(DomainError, ValueError, Generic[ReasonT]):
    """Input typed by a user was rejected; ``reason`` says why, as a stable code."""

    subject: ClassVar[str] = "input"

    def __init__(self, reason: ReasonT) -> None:
        super().__init__(f"invalid {self.subject}: {reason}")
        self.reason: ReasonT = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r})"


class InvalidPhoneError(InvalidInputError[PhoneErrorReason]):
    """A phone number that cannot be normalised to E.164."""

    subject = "phone number"


class InvalidNameError(InvalidInputError[NameErrorReason]):
    """A full name that does not look like «Фамилия Имя [Отчество]»."""

    subject = "full name"


class InvalidInnError(InvalidInputError[InnErrorReason]):
    """A Russian taxpayer number (ИНН) that fails the format or checksum rules."""

    subject = "INN"

"""ORM models: the bot's own state. Okdesk stays the source of truth for issues and comments.

Portable across SQLite and PostgreSQL: Telegram and Okdesk ids are `BigInteger` (Telegram ids
exceed 2**31), enums are stored as their string values (no native enum types to migrate),
JSON uses the generic `JSON` type and timestamps are UTC (see `base.UTCDateTime`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import TextClause

from okdesk_bot.db.base import Base, utcnow

# Surrogate keys: 64-bit on PostgreSQL; on SQLite only INTEGER PRIMARY KEY auto-increments
# (it is 64-bit there anyway).
ID_TYPE: Final = BigInteger().with_variant(Integer(), "sqlite")

ENUM_LENGTH: Final = 16


def _enum_column(enum: type[StrEnum]) -> Enum:
    """Store the enum's values (not member names) in a plain VARCHAR."""
    return Enum(
        enum,
        native_enum=False,
        length=ENUM_LENGTH,
        values_callable=lambda members: [member.value for member in members],
    )


class UserKind(StrEnum):
    """Whom the Telegram user represents in Okdesk."""

    INDIVIDUAL = "individual"
    LEGAL = "legal"


class TicketState(StrEnum):
    """Life cycle of a ticket submitted through the bot."""

    DRAFT = "draft"
    SUBMITTING = "submitting"
    CREATED = "created"
    FAILED = "failed"


class InboxStatus(StrEnum):
    """Processing status of a received Okdesk webhook."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    IGNORED = "ignored"


INBOX_UNPROCESSED: Final = (InboxStatus.PENDING, InboxStatus.PROCESSING)
"""The statuses of an event not yet processed (it holds later events of its issue back)."""


def status_in(statuses: Iterable[StrEnum]) -> TextClause:
    """``status IN ('a', 'b')`` with the values written out, for a partial index's predicate.

    A database uses such an index only for a statement whose condition implies the predicate,
    which it can tell only from values written in the statement (see
    `repositories._QueueClaim`), not from bound parameters.
    """
    return text(f"status IN ({', '.join(repr(str(status)) for status in statuses)})")


class OutboxStatus(StrEnum):
    """Delivery status of a Telegram notification."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    PARKED = "parked"
    DEAD = "dead"


OUTBOX_UNSENT: Final = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.PARKED)
"""The statuses of a message not yet delivered (it holds later messages to its chat back)."""


class User(Base):
    """A Telegram user and, once registration is done, the Okdesk contact they are bound to."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    language_code: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[UserKind | None] = mapped_column(_enum_column(UserKind))
    full_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(128))
    first_name: Mapped[str | None] = mapped_column(String(128))
    patronymic: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(20))
    okdesk_contact_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    okdesk_company_id: Mapped[int | None] = mapped_column(BigInteger)
    company_name: Mapped[str | None] = mapped_column(String(255))
    registered_at: Mapped[datetime | None]
    unreachable_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_registered(self) -> bool:
        """True once the user is bound to an Okdesk contact."""
        return self.registered_at is not None


class Ticket(Base):
    """A ticket submitted through the bot; the draft payload allows retrying a failed submit."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    okdesk_issue_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[TicketState] = mapped_column(
        _enum_column(TicketState), default=TicketState.DRAFT
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FsmState(Base):
    """One aiogram FSM storage record (key built from bot, chat, user, thread and destiny)."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxEvent(Base):
    """A received Okdesk webhook, recorded before it is acknowledged and processed later."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        Index("ix_inbox_events_status_next_attempt_at", "status", "next_attempt_at"),
        # An issue's unprocessed events, in order: the claim holds an event back while an
        # earlier one of its issue is unprocessed, and looks for the nearest one here,
        # backwards from the event (see `repositories._QueueClaim`).
        Index(
            "ix_inbox_events_unprocessed_issue_id",
            "okdesk_issue_id",
            "id",
            postgresql_where=status_in(INBOX_UNPROCESSED),
            sqlite_where=status_in(INBOX_UNPROCESSED),
        ),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    okdesk_issue_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[InboxStatus] = mapped_column(
        _enum_column(InboxStatus), default=InboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A Bot API call to make (`payload`: method and params), delivered in order per chat."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # The same for a chat's earlier unsent messages (delivery keeps each chat's order).
        Index(
            "ix_outbox_messages_unsent_chat_id",
            "chat_id",
            "id",
            postgresql_where=status_in(OUTBOX_UNSENT),
            sqlite_where=status_in(OUTBOX_UNSENT),
        ),
        # A chat's messages by status (parking and unparking a chat).
        Index("ix_outbox_messages_chat_id_status_id", "chat_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(
        ID_TYPE, ForeignKey("users.id", ondelete="SET NULL")
    )
    okdesk_issue_id: Mapped[int | None] = mapped_column(BigInteger)
    inbox_event_id: Mapped[int | None] = mapped_column(
        ID_TYPE, ForeignKey("inbox_events.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class UpdateState(StrEnum):
    """Where a Telegram update received by webhook stands."""

    HANDLING = "handling"
    HANDLED = "handled"


class TelegramUpdate(Base):
    """A Telegram update received by webhook: claimed by one instance, then handled.

    Shared by every instance and kept across restarts, so an update Telegram delivers again
    (its answer was lost, or went to another instance) is handled once. A claim whose
    instance died expires at `locked_until` and can be taken again.
    """

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_received_at", "received_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[UpdateState] = mapped_column(_enum_column(UpdateState))
    locked_until: Mapped[datetime | None]
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]


class AppState(Base):
    """Service-wide key/value settings: generated secrets, reconciliation watermarks."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

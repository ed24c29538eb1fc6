"""Repositories: typed data access over one `AsyncSession`. They never commit (the unit of work
does); they flush when a caller needs generated values.

Idempotent writes use `INSERT … ON CONFLICT DO NOTHING` through the dialect's own `insert`, so
two concurrent writers of the same key cannot both win (a check-then-insert would race). Queue
claims are single guarded `UPDATE … RETURNING` statements; on PostgreSQL the candidate rows are
picked with `FOR UPDATE SKIP LOCKED` so concurrent workers never claim the same row (SQLite
ignores the clause and serialises writers instead).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    Table,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter

from okdesk_bot.db.base import Base, utcnow
from okdesk_bot.db.models import (
    INBOX_UNPROCESSED,
    OUTBOX_UNSENT,
    AppState,
    FsmState,
    InboxEvent,
    InboxStatus,
    OutboxMessage,
    OutboxStatus,
    TelegramUpdate,
    Ticket,
    TicketState,
    UpdateState,
    User,
    UserKind,
)

_INBOX_TABLE: Final = Base.metadata.tables[InboxEvent.__tablename__]
_QueueRow = TypeVar("_QueueRow", InboxEvent, OutboxMessage)
_Status = TypeVar("_Status", bound=StrEnum)


class UserNotFoundError(LookupError):
    """No user with the given Telegram id exists."""


@dataclass(frozen=True, slots=True)
class DraftResult:
    """Outcome of `TicketRepository.create_draft`: `created` is False for a repeated message."""

    ticket: Ticket
    created: bool


@dataclass(frozen=True, slots=True)
class InboxStats:
    """Inbox health: `pending` counts events not processed yet (including in progress)."""

    pending: int
    failed: int
    oldest_pending_age: timedelta | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Outbox health: `depth` counts messages still to send (including in flight)."""

    depth: int
    parked: int
    dead: int
    oldest_pending_age: timedelta | None


def _insert(session: AsyncSession, model: type[Base] | Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own `INSERT`, which supports `ON CONFLICT`.

    Given a `Table` rather than a model, the statement skips the ORM's bulk-insert machinery
    (for many rows at once where no ORM objects are wanted).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    msg = f"unsupported database dialect {dialect!r}; use SQLite or PostgreSQL"
    raise RuntimeError(msg)


class UserRepository:
    """Telegram users and their binding to Okdesk contacts."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_by_telegram_id(self, telegram_user_id: int) -> User | None:
        return await self._session.scalar(
            select(User).where(User.telegram_user_id == telegram_user_id)
        )

    async def get_or_create(
        self, telegram_user_id: int, *, chat_id: int, language_code: str | None = None
    ) -> User:
        """The user with this Telegram id, created on first contact (safe under races)."""
        existing = await self.get_by_telegram_id(telegram_user_id)
        if existing is not None:
            return existing
        await self._session.execute(
            _insert(self._session, User)
            .values(
                telegram_user_id=telegram_user_id, chat_id=chat_id, language_code=language_code
            )
            .on_conflict_do_nothing(index_elements=[User.telegram_user_id])
        )
        user = await self.get_by_telegram_id(telegram_user_id)
        assert user is not None, "the row was inserted or already existed"
        return user

    async def save_binding(
        self,
        telegram_user_id: int,
        *,
        kind: UserKind,
        phone: str,
        okdesk_contact_id: int,
        registered_at: datetime,
        okdesk_company_id: int | None = None,
        company_name: str | None = None,
        full_name: str | None = None,
        last_name: str | None = None,
        first_name: str | None = None,
        patronymic: str | None = None,
    ) -> User:
        """Record that registration bound the user to an Okdesk contact (and company)."""
        user = await self.get_by_telegram_id(telegram_user_id)
        if user is None:
            msg = f"no user with Telegram id {telegram_user_id}"
            raise UserNotFoundError(msg)
        user.kind = kind
        user.phone = phone
        user.okdesk_contact_id = okdesk_contact_id
        user.okdesk_company_id = okdesk_company_id
        user.company_name = company_name
        user.full_name = full_name
        user.last_name = last_name
        user.first_name = first_name
        user.patronymic = patronymic
        user.registered_at = registered_at
        await self._session.flush()
        return user

    async def list_by_okdesk_contact_id(self, okdesk_contact_id: int) -> list[User]:
        """Every Telegram user bound to this contact, oldest first."""
        users = await self._session.scalars(
            select(User).where(User.okdesk_contact_id == okdesk_contact_id).order_by(User.id)
        )
        return list(users)

    async def followed_contacts(self, okdesk_contact_ids: Collection[int]) -> set[int]:
        """Those of the contacts that at least one registered user is bound to."""
        if not okdesk_contact_ids:
            return set()
        contacts = await self._session.scalars(
            select(User.okdesk_contact_id)
            .where(User.okdesk_contact_id.in_(okdesk_contact_ids), User.registered_at.is_not(None))
            .distinct()
        )
        return {contact for contact in contacts if contact is not None}

    async def mark_unreachable(self, chat_id: int, *, since: datetime) -> None:
        """The bot was blocked in this chat; keeps the first time it was noticed."""
        await self._session.execute(
            update(User)
            .where(User.chat_id == chat_id, User.unreachable_since.is_(None))
            .values(unreachable_since=since)
        )

    async def clear_unreachable(self, chat_id: int) -> None:
        """The user unblocked the bot."""
        await self._session.execute(
            update(User).where(User.chat_id == chat_id).values(unreachable_since=None)
        )

    async def clear_binding(self, telegram_user_id: int) -> None:
        """Forget the registration: the person is unregistered here, Okdesk keeps everything."""
        await self._session.execute(
            update(User)
            .where(User.telegram_user_id == telegram_user_id)
            .values(
                registered_at=None,
                kind=None,
                okdesk_contact_id=None,
                okdesk_company_id=None,
                company_name=None,
                phone=None,
                full_name=None,
                last_name=None,
                first_name=None,
                patronymic=None,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session="fetch")
        )

    async def list_bound_contact_ids(self) -> set[int]:
        """The Okdesk contacts that registered Telegram users are bound to."""
        contact_ids = await self._session.scalars(
            select(User.okdesk_contact_id)
            .where(User.okdesk_contact_id.is_not(None), User.registered_at.is_not(None))
            .distinct()
        )
        return {contact_id for contact_id in contact_ids if contact_id is not None}


class TicketRepository:
    """Tickets submitted through the bot, deduplicated per Telegram message."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self._session.get(Ticket, ticket_id)

    async def get_by_dedup_key(self, dedup_key: str) -> Ticket | None:
        return await self._session.scalar(select(Ticket).where(Ticket.dedup_key == dedup_key))

    async def get_by_okdesk_issue_id(self, okdesk_issue_id: int) -> Ticket | None:
        return await self._session.scalar(
            select(Ticket).where(Ticket.okdesk_issue_id == okdesk_issue_id)
        )

    async def create_draft(
        self, *, user_id: int, dedup_key: str, title: str, payload: dict[str, Any]
    ) -> DraftResult:
        """Save a draft once per dedup key (e.g. `"<chat_id>:<message_id>"`).

        A repeated key returns the existing ticket untouched, with `created=False`.
        """
        inserted_id = await self._session.scalar(
            _insert(self._session, Ticket)
            .values(user_id=user_id, dedup_key=dedup_key, title=title, payload=payload)
            .on_conflict_do_nothing(index_elements=[Ticket.dedup_key])
            .returning(Ticket.id)
        )
        ticket = await self.get_by_dedup_key(dedup_key)
        assert ticket is not None, "the row was inserted or already existed"
        return DraftResult(ticket=ticket, created=inserted_id is not None)

    async def mark_submitting(self, ticket_id: int) -> bool:
        """Take a draft or failed ticket for submission; False if it is not in such a state.

        Guards against submitting the same ticket twice (a double tap on "retry").
        """
        submitting = await self._session.scalar(
            update(Ticket)
            .where(
                Ticket.id == ticket_id,
                Ticket.state.in_((TicketState.DRAFT, TicketState.FAILED)),
            )
            .values(state=TicketState.SUBMITTING, last_error=None)
            .returning(Ticket.id)
        )
        return submitting is not None

    async def reclaim_submitting(self, ticket_id: int, *, started_before: datetime) -> bool:
        """Take over a submission that began before `started_before` and never finished (the
        bot stopped mid-way); False if it is not such a ticket.

        The caller must check whether Okdesk got the ticket before sending it again.
        """
        reclaimed = await self._session.scalar(
            update(Ticket)
            .where(
                Ticket.id == ticket_id,
                Ticket.state == TicketState.SUBMITTING,
                Ticket.updated_at < started_before,
            )
            .values(state=TicketState.SUBMITTING, last_error=None, updated_at=utcnow())
            .returning(Ticket.id)
        )
        return reclaimed is not None

    async def update_draft(self, ticket_id: int, *, title: str, payload: dict[str, Any]) -> bool:
        """Replace the title and payload of a draft (an album growing item by item); False if
        the ticket is no longer a draft."""
        updated = await self._session.scalar(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.state == TicketState.DRAFT)
            .values(title=title, payload=payload)
            .returning(Ticket.id)
        )
        return updated is not None

    async def count_submitted_since(self, user_id: int, *, since: datetime) -> int:
        """How many of the user's tickets went to Okdesk (or are going) since `since`."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.user_id == user_id,
                Ticket.state.in_((TicketState.SUBMITTING, TicketState.CREATED)),
                Ticket.updated_at >= since,
            )
        )
        return count or 0

    async def mark_created(self, ticket_id: int, *, okdesk_issue_id: int) -> None:
        await self._session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(state=TicketState.CREATED, okdesk_issue_id=okdesk_issue_id, last_error=None)
        )

    async def mark_failed(self, ticket_id: int, *, error: str) -> None:
        await self._session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(state=TicketState.FAILED, last_error=error)
        )

    async def list_for_user(self, user_id: int, *, limit: int = 20) -> list[Ticket]:
        """The user's tickets, newest first."""
        tickets = await self._session.scalars(
            select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(limit)
        )
        return list(tickets)


MAX_INBOX_BATCH: Final = 500
"""Entries per `InboxRepository.add_many` statement (6 parameters each, within every
backend's limit on bound parameters)."""


@dataclass(frozen=True, slots=True)
class NewInboxEvent:
    """A received webhook to record: its raw payload under its dedup key."""

    dedup_key: str
    event_type: str
    payload: dict[str, Any]
    received_at: datetime
    okdesk_issue_id: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "dedup_key": self.dedup_key,
            "event_type": self.event_type,
            "okdesk_issue_id": self.okdesk_issue_id,
            "payload": self.payload,
            "received_at": self.received_at,
            "next_attempt_at": self.received_at,
        }


class InboxRepository:
    """Received Okdesk webhooks, processed in order per Okdesk issue."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        dedup_key: str,
        event_type: str,
        payload: dict[str, Any],
        received_at: datetime,
        okdesk_issue_id: int | None = None,
    ) -> bool:
        """Record a webhook; False when one with the same dedup key is already recorded."""
        entry = NewInboxEvent(dedup_key, event_type, payload, received_at, okdesk_issue_id)
        [added] = await self.add_many([entry])
        return added

    async def add_many(self, entries: Sequence[NewInboxEvent]) -> list[bool]:
        """Record webhooks in one statement; for each, whether it was new.

        An entry is not new when its dedup key was recorded before, or appears earlier in
        `entries`. At most :data:`MAX_INBOX_BATCH` entries at a time.
        """
        if len(entries) > MAX_INBOX_BATCH:
            msg = f"at most {MAX_INBOX_BATCH} inbox entries per statement, got {len(entries)}"
            raise ValueError(msg)
        first: dict[str, NewInboxEvent] = {}
        for entry in entries:
            first.setdefault(entry.dedup_key, entry)
        if not first:
            return []
        # One compiled statement, executed for many rows: SQLAlchemy's "insertmanyvalues"
        # sends them as multi-row INSERTs (RETURNING included) on SQLite and PostgreSQL.
        inserted = await self._session.scalars(
            _insert(self._session, _INBOX_TABLE)
            .on_conflict_do_nothing(index_elements=[InboxEvent.dedup_key])
            .returning(_INBOX_TABLE.c.dedup_key),
            [entry.row() for entry in first.values()],
        )
        new_keys = set(inserted)
        return [
            first[entry.dedup_key] is entry and entry.dedup_key in new_keys for entry in entries
        ]

    async def claim_due(self, *, limit: int, now: datetime, lease: timedelta) -> list[InboxEvent]:
        """Lease up to `limit` due events (also those whose lease expired), oldest first.

        An event is not claimed while an earlier event about the same issue is unprocessed.
        """
        return await _INBOX_CLAIM.run(self._session, limit=limit, now=now, lease=lease)

    async def waiting_of_issues(
        self, issue_ids: Collection[int], *, limit: int
    ) -> list[InboxEvent]:
        """Up to `limit` events waiting to be processed about these issues, in each issue's
        order (the issues in ascending id)."""
        if not issue_ids:
            return []
        rows = await self._session.scalars(
            select(InboxEvent)
            .where(
                InboxEvent.okdesk_issue_id.in_(issue_ids),
                _written_out_in(InboxEvent.status, INBOX_UNPROCESSED),  # the partial index's
                InboxEvent.status == InboxStatus.PENDING,
            )
            .order_by(InboxEvent.okdesk_issue_id, InboxEvent.id)
            .limit(limit)
        )
        return list(rows)

    async def mark_done(self, event_id: int, *, now: datetime) -> None:
        await self._finish(event_id, InboxStatus.DONE, now=now, error=None)

    async def mark_ignored(self, event_id: int, *, now: datetime) -> None:
        """Processed and deliberately not acted upon (e.g. an event type the bot does not use)."""
        await self._finish(event_id, InboxStatus.IGNORED, now=now, error=None)

    async def mark_ignored_many(self, event_ids: Collection[int], *, now: datetime) -> None:
        """`mark_ignored` for many events in one statement."""
        await self._finish(event_ids, InboxStatus.IGNORED, now=now, error=None)

    async def mark_failed(self, event_id: int, *, now: datetime, error: str) -> None:
        """Give up on the event; it no longer holds back later events about its issue."""
        await self._finish(event_id, InboxStatus.FAILED, now=now, error=error)

    async def mark_retry(self, event_id: int, *, next_attempt_at: datetime, error: str) -> None:
        await self._session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == event_id)
            .values(
                status=InboxStatus.PENDING,
                next_attempt_at=next_attempt_at,
                locked_until=None,
                last_error=error,
            )
        )

    async def stats(self, *, now: datetime) -> InboxStats:
        counts, oldest = await _status_counts(
            self._session,
            InboxEvent.status,
            InboxEvent.received_at,
            pending=INBOX_UNPROCESSED,
        )
        return InboxStats(
            pending=sum(counts.get(status, 0) for status in INBOX_UNPROCESSED),
            failed=counts.get(InboxStatus.FAILED, 0),
            oldest_pending_age=None if oldest is None else now - oldest,
        )

    async def _finish(
        self,
        event_ids: int | Collection[int],
        status: InboxStatus,
        *,
        now: datetime,
        error: str | None,
    ) -> None:
        ids = [event_ids] if isinstance(event_ids, int) else list(event_ids)
        await self._session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_(ids))
            .values(status=status, processed_at=now, locked_until=None, last_error=error)
        )


class UpdateClaim(StrEnum):
    """The answer to claiming a Telegram update."""

    CLAIMED = "claimed"
    """Ours to handle."""
    HANDLED = "handled"
    """Handled before (a redelivery)."""
    BUSY = "busy"
    """Being handled by another instance, whose claim has not expired."""


class TelegramUpdateRepository:
    """Which Telegram updates (received by webhook) are being handled, or were."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, update_id: int, *, now: datetime, lease: timedelta) -> UpdateClaim:
        """Take the update for handling, unless it was handled or another live claim holds it.

        A claim older than its lease (its instance died) is taken over.
        """
        table = TelegramUpdate
        claimed = await self._session.scalar(
            _insert(self._session, table)
            .values(
                update_id=update_id,
                state=UpdateState.HANDLING,
                locked_until=now + lease,
                received_at=now,
            )
            .on_conflict_do_update(
                index_elements=[table.update_id],
                set_={"locked_until": now + lease},
                where=(table.state == UpdateState.HANDLING) & (table.locked_until <= now),
            )
            .returning(table.update_id)
        )
        if claimed is not None:
            return UpdateClaim.CLAIMED
        state = await self._session.scalar(select(table.state).where(table.update_id == update_id))
        return UpdateClaim.HANDLED if state is UpdateState.HANDLED else UpdateClaim.BUSY

    async def mark_handled(self, update_id: int, *, now: datetime) -> None:
        await self._session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.update_id == update_id)
            .values(state=UpdateState.HANDLED, handled_at=now, locked_until=None)
        )

    async def release(self, update_id: int) -> None:
        """Give up a claim (handling failed): a redelivery may be handled again."""
        await self._session.execute(
            delete(TelegramUpdate).where(
                TelegramUpdate.update_id == update_id,
                TelegramUpdate.state == UpdateState.HANDLING,
            )
        )

    async def forget_before(self, moment: datetime) -> int:
        """Delete the records of updates received before `moment`; returns how many."""
        result = await self._session.execute(
            delete(TelegramUpdate).where(TelegramUpdate.received_at < moment)
        )
        return cast("CursorResult[Any]", result).rowcount


class OutboxRepository:
    """Telegram notifications to deliver at least once, in order per chat."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self,
        *,
        dedup_key: str,
        chat_id: int,
        payload: dict[str, Any],
        now: datetime,
        user_id: int | None = None,
        okdesk_issue_id: int | None = None,
        inbox_event_id: int | None = None,
    ) -> bool:
        """Queue a Bot API call (`payload`: method and params); False if the key is queued."""
        inserted_id = await self._session.scalar(
            _insert(self._session, OutboxMessage)
            .values(
                dedup_key=dedup_key,
                chat_id=chat_id,
                payload=payload,
                user_id=user_id,
                okdesk_issue_id=okdesk_issue_id,
                inbox_event_id=inbox_event_id,
                created_at=now,
                next_attempt_at=now,
            )
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedup_key])
            .returning(OutboxMessage.id)
        )
        return inserted_id is not None

    async def claim_due(
        self, *, limit: int, now: datetime, lease: timedelta
    ) -> list[OutboxMessage]:
        """Lease up to `limit` due messages (also those whose lease expired).

        Only the head of each chat's queue is claimable: a message waits while an earlier one
        for the same chat is pending, in flight or parked, so a chat never sees them reordered.
        """
        return await _OUTBOX_CLAIM.run(self._session, limit=limit, now=now, lease=lease)

    async def mark_sent(self, message_id: int, *, now: datetime) -> None:
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=OutboxStatus.SENT, sent_at=now, locked_until=None)
        )

    async def mark_retry(self, message_id: int, *, next_attempt_at: datetime, error: str) -> None:
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=OutboxStatus.PENDING,
                next_attempt_at=next_attempt_at,
                locked_until=None,
                last_error=error,
            )
        )

    async def mark_dead(self, message_id: int, *, reason: str) -> None:
        """Give up on the message (kept for inspection and `retry_dead`)."""
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=OutboxStatus.DEAD, locked_until=None, last_error=reason)
        )

    async def park_chat(self, chat_id: int, *, reason: str) -> int:
        """Hold every unsent message for the chat (the bot is blocked there); returns count."""
        parked = await self._session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
            .values(status=OutboxStatus.PARKED, locked_until=None, last_error=reason)
            .returning(OutboxMessage.id)
        )
        return len(parked.all())

    async def unpark_chat(self, chat_id: int, *, now: datetime) -> int:
        """Release the chat's parked messages for delivery now; returns how many."""
        released = await self._session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PARKED)
            .values(status=OutboxStatus.PENDING, next_attempt_at=now)
            .returning(OutboxMessage.id)
        )
        return len(released.all())

    async def list_dead(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Dead letters, oldest first."""
        dead = await self._session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list(dead)

    async def retry_dead(
        self, *, now: datetime, message_ids: Collection[int] | None = None
    ) -> int:
        """Queue dead letters again with a fresh attempt budget (all, or the given ids)."""
        criteria = [OutboxMessage.status == OutboxStatus.DEAD]
        if message_ids is not None:
            criteria.append(OutboxMessage.id.in_(message_ids))
        retried = await self._session.scalars(
            update(OutboxMessage)
            .where(*criteria)
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
            .returning(OutboxMessage.id)
        )
        return len(retried.all())

    async def stats(self, *, now: datetime) -> OutboxStats:
        pending_statuses = (OutboxStatus.PENDING, OutboxStatus.SENDING)
        counts, oldest = await _status_counts(
            self._session,
            OutboxMessage.status,
            OutboxMessage.created_at,
            pending=pending_statuses,
        )
        return OutboxStats(
            depth=sum(counts.get(status, 0) for status in pending_statuses),
            parked=counts.get(OutboxStatus.PARKED, 0),
            dead=counts.get(OutboxStatus.DEAD, 0),
            oldest_pending_age=None if oldest is None else now - oldest,
        )


class AppStateRepository:
    """Service-wide key/value settings."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> str | None:
        return await self._session.scalar(select(AppState.value).where(AppState.key == key))

    async def set(self, key: str, value: str) -> None:
        statement = _insert(self._session, AppState).values(key=key, value=value)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[AppState.key],
                set_={"value": statement.excluded.value, "updated_at": utcnow()},
            )
        )

    async def get_or_create(self, key: str, factory: Callable[[], str]) -> str:
        """The stored value, or `factory()` stored first; concurrent callers get the same value."""
        existing = await self.get(key)
        if existing is not None:
            return existing
        await self._session.execute(
            _insert(self._session, AppState)
            .values(key=key, value=factory())
            .on_conflict_do_nothing(index_elements=[AppState.key])
        )
        stored = await self.get(key)
        assert stored is not None, "the row was inserted or already existed"
        return stored

    async def compare_and_set(
        self, key: str, value: str, *, expected: str | None, stale_below: str
    ) -> bool:
        """Store `value` if the key is unset, still holds `expected`, or holds a value that sorts
        below `stale_below`; True if stored. One statement, so concurrent callers cannot both
        win (the basis of leases: values that start with their expiry time)."""
        replaceable = AppState.value < stale_below
        if expected is not None:
            replaceable = or_(AppState.value == expected, replaceable)
        statement = _insert(self._session, AppState).values(key=key, value=value)
        stored = await self._session.scalar(
            statement.on_conflict_do_update(
                index_elements=[AppState.key],
                set_={"value": statement.excluded.value, "updated_at": utcnow()},
                where=replaceable,
            ).returning(AppState.value)
        )
        return stored == value

    async def delete_if(self, key: str, value: str) -> bool:
        """Delete the key if it still holds `value`; True if deleted."""
        deleted = await self._session.scalars(
            delete(AppState)
            .where(AppState.key == key, AppState.value == value)
            .returning(AppState.key)
        )
        return deleted.first() is not None


class FsmStateRepository:
    """Dialog state of aiogram's FSM, one row per storage key."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> FsmState | None:
        return await self._session.get(FsmState, key)

    async def set_state(self, key: str, state: str | None) -> None:
        await self._upsert(key, {"state": state})

    async def set_data(self, key: str, data: Mapping[str, Any]) -> None:
        await self._upsert(key, {"data": dict(data)})

    async def _upsert(self, key: str, values: dict[str, Any]) -> None:
        statement = _insert(self._session, FsmState).values(key=key, **values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[FsmState.key], set_={**values, "updated_at": utcnow()}
            )
        )


def _written_out_in(
    column: SQLColumnExpression[_Status], statuses: Collection[_Status]
) -> ColumnElement[bool]:
    """``column IN ('a', 'b')`` with the values written into the statement: a partial index
    with that predicate (`models.status_in`) can serve a statement only then."""
    values: BindParameter[Any] = bindparam(
        None, list(statuses), expanding=True, literal_execute=True
    )
    return column.in_(values)


class _QueueClaim(Generic[_QueueRow]):
    """How a queue's due rows are leased: two statements built once, run with parameters.

    A read first tells whether anything is due or any lease expired: an idle queue costs no
    write (on SQLite, no turn at the single write lock, and no WAL growth while the service
    waits). Rows whose lease expired (their worker died) go back to waiting. Then the due
    waiting rows are leased in queue order, skipping those held back behind an earlier
    unfinished row of the same queue. Keeping that statement free of ``OR`` lets the
    (status, next_attempt_at) index give the queue order directly, so a claim stops after
    `limit` rows instead of sorting the whole backlog.

    A row is held back when the nearest earlier unfinished row of its queue exists, found
    backwards from the row in the queue's partial index of unfinished rows (see
    `models.status_in`). Each look costs a step or two however long the queue's history is.
    Every held-back row is still looked at once per claim, so a claim over a backlog of
    thousands of events about one ticket takes tens of milliseconds (``Known limits`` in
    ``docs/architecture.md``).
    """

    def __init__(
        self,
        model: type[_QueueRow],
        *,
        waiting: StrEnum,
        leased: StrEnum,
        unfinished: Collection[StrEnum],
        same_queue: Callable[[Any, Any], ColumnElement[bool]],
    ) -> None:
        when = model.__table__.c.next_attempt_at.type
        now = bindparam("now", type_=when)
        self._look = select(
            exists().where(model.status == leased, model.locked_until <= now),
            exists().where(model.status == waiting, model.next_attempt_at <= now),
        )
        self._recover = (
            update(model)
            .where(model.status == leased, model.locked_until <= now)
            .values(status=waiting)
            .execution_options(synchronize_session=False)
        )
        earlier = aliased(model)
        # The nearest earlier unfinished row of the same queue, looked up backwards from the
        # row: in a long queue that is the row just before, however many finished rows (and
        # their earlier versions, until a vacuum) lie further back.
        nearest_earlier = (
            select(func.max(earlier.id))
            .where(
                same_queue(earlier, model),
                earlier.id < model.id,
                _written_out_in(earlier.status, unfinished),
            )
            .scalar_subquery()
        )
        candidates = (
            select(model.id)
            .where(
                model.status == waiting, model.next_attempt_at <= now, nearest_earlier.is_(None)
            )
            .order_by(model.next_attempt_at, model.id)
            .limit(bindparam("limit", type_=Integer()))
            .with_for_update(skip_locked=True, of=model)
        )
        self._claim: ReturningUpdate[_QueueRow] = (
            update(model)
            .where(model.id.in_(candidates))
            .values(
                status=leased,
                locked_until=bindparam("locked_until", type_=when),
                attempts=model.attempts + 1,
            )
            .returning(model)
            .execution_options(populate_existing=True)
        )

    async def run(
        self, session: AsyncSession, *, limit: int, now: datetime, lease: timedelta
    ) -> list[_QueueRow]:
        """Lease up to `limit` rows; they come back in queue order (next attempt, arrival)."""
        expired, due = (await session.execute(self._look, {"now": now})).one()
        if expired:
            await session.execute(self._recover, {"now": now})
        elif not due:
            return []
        claimed = await session.scalars(
            self._claim, {"now": now, "limit": limit, "locked_until": now + lease}
        )
        return sorted(claimed, key=lambda row: (row.next_attempt_at, row.id))


_INBOX_CLAIM: Final = _QueueClaim(
    InboxEvent,
    waiting=InboxStatus.PENDING,
    leased=InboxStatus.PROCESSING,
    unfinished=INBOX_UNPROCESSED,
    same_queue=lambda earlier, event: earlier.okdesk_issue_id == event.okdesk_issue_id,
)
_OUTBOX_CLAIM: Final = _QueueClaim(
    OutboxMessage,
    waiting=OutboxStatus.PENDING,
    leased=OutboxStatus.SENDING,
    unfinished=OUTBOX_UNSENT,
    same_queue=lambda earlier, message: earlier.chat_id == message.chat_id,
)


async def _status_counts(
    session: AsyncSession,
    status: SQLColumnExpression[_Status],
    age_column: SQLColumnExpression[datetime],
    *,
    pending: Sequence[_Status],
) -> tuple[dict[_Status, int], datetime | None]:
    """Row counts per status, and the oldest `age_column` among the `pending` statuses."""
    rows = await session.execute(select(status, func.count()).group_by(status))
    counts = dict(rows.all())
    oldest = await session.scalar(select(func.min(age_column)).where(status.in_(pending)))
    return counts, oldest

"""Tickets: one client message becomes one Okdesk ticket; the client's list and ticket cards.

Telegram-agnostic: a message arrives as a :class:`TicketMessage` (its text, references to its
files, who sent it) and files are fetched through the
:class:`~okdesk_bot.services.files.FileSource` port.

Nothing lost, nothing twice:

* the message is stored as a draft under a dedup key (``<chat>:<message>``, an album by its
  media group) before Okdesk is called, so a repeated update or a double tap finds the draft
  and the ticket it became;
* ``mark_submitting`` lets one submission of a draft run at a time, and it is committed before
  the POST;
* every description carries a marker (``[tg:<dedup key>]``). When a POST fails without a
  trustworthy answer (``outcome_unknown``) and before any draft is sent again, the contact's
  newest tickets are searched for the marker, so a ticket Okdesk did create is found instead
  of being created twice;
* a draft Okdesk did not take stays ``failed`` and can be sent again by its owner.

Texts written into Okdesk (the description's footer) are in Russian, like the titles
(:mod:`okdesk_bot.domain.titles`): the service desk reading them works in Russian.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NoReturn

from okdesk_bot.db.models import Ticket, TicketState, User
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.domain.richtext import telegram_to_okdesk_html
from okdesk_bot.domain.titles import make_title
from okdesk_bot.okdesk import (
    Comment,
    Issue,
    IssueCreate,
    OkdeskAuthError,
    OkdeskClient,
    OkdeskError,
    OkdeskForbiddenError,
    OkdeskUnavailableError,
    OkdeskValidationError,
    Status,
    Upload,
)
from okdesk_bot.services.access import owned_issue, require_registered
from okdesk_bot.services.errors import ServiceError
from okdesk_bot.services.files import (
    FileSource,
    FileTooLargeError,
    FileUnavailableError,
    IncomingFile,
)

log = logging.getLogger(__name__)

RATE_WINDOW: Final = timedelta(hours=1)
"""The window of the per-user ticket limit (`Settings.tickets_per_hour`)."""
STALE_SUBMISSION: Final = timedelta(minutes=10)
"""A submission older than this never finished (the bot stopped); its owner may retry it."""
LOOKUP_DEPTH: Final = 20
"""How many of the contact's newest tickets are searched for a draft's marker."""
LIST_LIMIT: Final = 200
"""The most tickets read for the client's list (most recently updated first)."""
PAGE_SIZE: Final = 6
"""Tickets per page of the list."""
STATUS_TTL: Final = 300.0
"""Seconds the statuses reference is cached."""


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote the message in Telegram (shown to the service desk in the description)."""

    telegram_id: int
    full_name: str
    username: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "telegram_id": self.telegram_id,
            "full_name": self.full_name,
            "username": self.username,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sender:
        username = data.get("username")
        return cls(
            telegram_id=int(data["telegram_id"]),
            full_name=str(data["full_name"]),
            username=str(username) if username else None,
        )


@dataclass(frozen=True, slots=True)
class TicketMessage:
    """What the client sent to become a ticket: one message, or one item of an album."""

    dedup_key: str
    text: str
    files: tuple[IncomingFile, ...]
    sender: Sender

    def to_payload(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "files": [file.to_json() for file in self.files],
            "sender": self.sender.to_json(),
        }

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> TicketMessage:
        payload = ticket.payload
        return cls(
            dedup_key=ticket.dedup_key,
            text=str(payload.get("text") or ""),
            files=tuple(IncomingFile.from_json(item) for item in payload.get("files") or ()),
            sender=Sender.from_json(payload["sender"]),
        )

    @property
    def title(self) -> str:
        """From the text; without text, from the first file (a document by its name)."""
        first = self.files[0] if self.files else None
        return make_title(
            self.text,
            attachment_kind=first.kind if first else None,
            attachment_name=first.file_name if first and first.kind == "document" else None,
        )

    @property
    def marker(self) -> str:
        """The token in the description that identifies the ticket made from this message."""
        return f"[tg:{self.dedup_key}]"

    def merged_with(self, item: TicketMessage) -> TicketMessage:
        """This album with one more item (an item already present changes nothing)."""
        known = {file.file_id for file in self.files}
        new_files = tuple(file for file in item.files if file.file_id not in known)
        if not new_files:
            return self
        text = "\n\n".join(part for part in (self.text, item.text) if part.strip())
        return TicketMessage(self.dedup_key, text, self.files + new_files, self.sender)


def format_size(size: int) -> str:
    """`25690112` → `24,5 МБ` (for the service desk, in Russian)."""
    return f"{size / 1024 / 1024:.1f}".replace(".", ",") + " МБ"


def build_description(message: TicketMessage) -> str:
    """Okdesk HTML: the full text, the files left out, who sent it, and the marker."""
    parts: list[str] = []
    if message.text.strip():
        parts.append(telegram_to_okdesk_html(message.text))
    parts.extend(
        f"<i>Файл «{html.escape(file.file_name)}» ({format_size(file.size)}) не приложен:"
        " Telegram не отдаёт ботам файлы больше 20 МБ.</i>"
        for file in message.files
        if file.too_large and file.size is not None
    )
    sender = message.sender
    who = html.escape(sender.full_name)
    if sender.username:
        who += f" (@{html.escape(sender.username)})"
    parts.append(
        f"—<br>Отправлено из Telegram: {who}, Telegram ID {sender.telegram_id}"
        f"<br>Код сообщения: {html.escape(message.marker)}"
    )
    return "<br><br>".join(parts)


# --------------------------------------------------------------------------------------------
# Outcomes and errors


@dataclass(frozen=True, slots=True)
class CreatedTicket:
    """A ticket in Okdesk made from a draft; `repeated` when it had been made before."""

    issue_id: int
    title: str
    skipped_files: tuple[IncomingFile, ...]
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class SavedDraft:
    """A message stored as a draft; `issue_id` is set when it has already become a ticket."""

    draft_id: int
    issue_id: int | None
    title: str
    has_text: bool


class DraftNotFoundError(ServiceError):
    """The draft does not exist or is someone else's (the two are not told apart)."""

    text_key = "ticket-draft-gone"


class DraftBusyError(ServiceError):
    """The draft is being sent right now."""

    text_key = "ticket-draft-busy"


class TicketRateLimitError(ServiceError):
    """The user created as many tickets in the last hour as allowed."""

    text_key = "ticket-rate-limited"

    def __init__(self, limit: int) -> None:
        super().__init__(f"ticket limit of {limit} per hour reached")
        self.limit = limit

    @property
    def text_args(self) -> Mapping[str, str | int]:
        return {"limit": self.limit}


class OkdeskFailureError(ServiceError):
    """Okdesk could not do what the user asked; `text_key` says how to explain it."""

    def __init__(self, text_key: str) -> None:
        super().__init__(text_key)
        self.text_key = text_key


class SubmissionFailedError(OkdeskFailureError):
    """The draft did not become a ticket; it is kept and can be sent again."""

    def __init__(self, text_key: str, *, draft_id: int) -> None:
        super().__init__(text_key)
        self.draft_id = draft_id


def failure_text_key(error: OkdeskError) -> str:
    """The text that explains an Okdesk failure to the user."""
    if isinstance(error, OkdeskUnavailableError):
        return "ticket-okdesk-unavailable"
    if isinstance(error, OkdeskAuthError | OkdeskForbiddenError):
        return "ticket-okdesk-forbidden"
    if isinstance(error, OkdeskValidationError):
        return "ticket-okdesk-rejected"
    return "ticket-okdesk-failed"


# --------------------------------------------------------------------------------------------
# Statuses


class StatusCatalog:
    """The account's statuses (``GET /issues/statuses``), cached for a few minutes.

    Status codes are configurable in Okdesk, so whether a ticket is open is read from the
    reference's finality flag, never guessed from a code's name.
    """

    def __init__(
        self, ttl: float = STATUS_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._statuses: dict[str, Status] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def load(self, okdesk: OkdeskClient) -> Mapping[str, Status]:
        """The statuses by code, read from Okdesk when the cached copy is missing or old."""
        async with self._lock:
            now = self._clock()
            if self._loaded_at is None or now - self._loaded_at >= self._ttl:
                statuses = await okdesk.list_statuses()
                self._statuses = {status.code: status for status in statuses}
                self._loaded_at = now
            return self._statuses


def is_open(issue: Issue, statuses: Mapping[str, Status]) -> bool:
    """Whether the ticket is still open: its status is not final in the reference (a status
    missing from the reference counts by its own flag, else as open)."""
    if issue.status is None:
        return True
    known = statuses.get(issue.status.code)
    final = known.is_final if known is not None else None
    if final is None:
        final = issue.status.is_final
    return not final


def status_name(issue: Issue, statuses: Mapping[str, Status]) -> str:
    if issue.status is None:
        return "—"
    known = statuses.get(issue.status.code)
    return issue.status.name or (known.name if known else None) or issue.status.code


# --------------------------------------------------------------------------------------------
# Creating tickets


class TicketSubmission:
    """Drafts and their submission to Okdesk, for one update (one unit of work)."""

    def __init__(
        self,
        *,
        uow: UnitOfWork,
        okdesk: OkdeskClient,
        files: FileSource,
        tickets_per_hour: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow = uow
        self._okdesk = okdesk
        self._files = files
        self._tickets_per_hour = tickets_per_hour
        self._clock = clock

    async def save_draft(self, user: User | None, message: TicketMessage) -> SavedDraft:
        """Store the message as a draft once; an album item joins its album's draft."""
        owner = require_registered(user)
        result = await self._uow.tickets.create_draft(
            user_id=owner.id,
            dedup_key=message.dedup_key,
            title=message.title,
            payload=message.to_payload(),
        )
        ticket = result.ticket
        stored = TicketMessage.from_ticket(ticket)
        if not result.created and ticket.state is TicketState.DRAFT:
            stored = stored.merged_with(message)
            await self._uow.tickets.update_draft(
                ticket.id, title=stored.title, payload=stored.to_payload()
            )
        await self._uow.commit()
        created = ticket.state is TicketState.CREATED
        return SavedDraft(
            draft_id=ticket.id,
            issue_id=ticket.okdesk_issue_id if created else None,
            title=stored.title,
            has_text=bool(stored.text.strip()),
        )

    async def create(self, user: User | None, message: TicketMessage) -> CreatedTicket:
        """Store the message as a draft and send it to Okdesk."""
        saved = await self.save_draft(user, message)
        return await self.submit(user, saved.draft_id)

    async def submit(self, user: User | None, draft_id: int) -> CreatedTicket:
        """Send the user's draft to Okdesk (again, after a failure); at most one ticket."""
        owner = require_registered(user)
        ticket = await self._uow.tickets.get(draft_id)
        if ticket is None or ticket.user_id != owner.id:
            raise DraftNotFoundError
        message = TicketMessage.from_ticket(ticket)
        if ticket.state is TicketState.CREATED and ticket.okdesk_issue_id is not None:
            return _created(ticket.okdesk_issue_id, ticket.title, message, repeated=True)
        await self._check_rate(owner)
        attempted_before = await self._claim(ticket)
        await self._uow.commit()
        if attempted_before:
            existing = await self._find_or_fail(owner, ticket, message)
            if existing is not None:
                return await self._finish(ticket, existing, message)
        uploads = await self._fetch_files(ticket, message)
        try:
            issue = await self._okdesk.create_issue(
                IssueCreate(
                    title=ticket.title,
                    description=build_description(message),
                    contact_id=owner.okdesk_contact_id,
                    company_id=owner.okdesk_company_id,
                ),
                attachments=uploads,
            )
        except OkdeskError as error:
            found = await self._after_unknown_outcome(owner, ticket, message, error)
            if found is None:
                await self._fail(ticket, failure_text_key(error), error)
            return await self._finish(ticket, found, message)
        return await self._finish(ticket, issue.id, message)

    async def _claim(self, ticket: Ticket) -> bool:
        """Mark the draft as being sent; True if an earlier attempt may have reached Okdesk."""
        if ticket.state is TicketState.SUBMITTING:
            started_before = self._clock() - STALE_SUBMISSION
            if not await self._uow.tickets.reclaim_submitting(
                ticket.id, started_before=started_before
            ):
                raise DraftBusyError
            return True
        attempted_before = ticket.state is TicketState.FAILED
        if not await self._uow.tickets.mark_submitting(ticket.id):
            raise DraftBusyError
        return attempted_before

    async def _check_rate(self, owner: User) -> None:
        since = self._clock() - RATE_WINDOW
        recent = await self._uow.tickets.count_submitted_since(owner.id, since=since)
        if recent >= self._tickets_per_hour:
            log.info("User %s reached the limit of tickets per hour", owner.telegram_user_id)
            raise TicketRateLimitError(self._tickets_per_hour)

    async def _find_or_fail(
        self, owner: User, ticket: Ticket, message: TicketMessage
    ) -> int | None:
        """The ticket an earlier attempt created, if any; Okdesk must answer to go on."""
        try:
            return await self._find_created(owner, ticket.title, message.marker)
        except OkdeskError as error:
            await self._fail(ticket, failure_text_key(error), error)

    async def _after_unknown_outcome(
        self, owner: User, ticket: Ticket, message: TicketMessage, error: OkdeskError
    ) -> int | None:
        """After a failed POST that may have created the ticket, look for it."""
        if not error.outcome_unknown:
            return None
        log.warning(
            "Okdesk may have created the ticket of draft %s (%s); checking", ticket.id, error
        )
        try:
            return await self._find_created(owner, ticket.title, message.marker)
        except OkdeskError as lookup_error:
            log.warning("Could not check draft %s in Okdesk: %s", ticket.id, lookup_error)
            return None

    async def _find_created(self, owner: User, title: str, marker: str) -> int | None:
        """The contact's newest ticket with this title whose description holds the marker."""
        assert owner.okdesk_contact_id is not None  # require_registered checked it
        recent = await self._okdesk.list_issues(
            contact_ids=[owner.okdesk_contact_id],
            sort_field="created_at",
            sort_direction="reverse",
            page_size=LOOKUP_DEPTH,
        )
        for candidate in recent:
            if (candidate.title or "").strip() != title.strip():
                continue
            issue = await self._okdesk.get_issue(candidate.id)
            if marker in (issue.description or ""):
                return issue.id
        return None

    async def _fetch_files(self, ticket: Ticket, message: TicketMessage) -> list[Upload]:
        uploads: list[Upload] = []
        for file in message.files:
            if file.too_large:
                continue
            try:
                content = await self._files.fetch(file.file_id)
            except FileTooLargeError:
                log.info("Telegram refused file %s of draft %s as too big", file.kind, ticket.id)
                continue
            except FileUnavailableError as error:
                await self._fail(ticket, "ticket-file-unavailable", error)
            uploads.append(
                Upload(filename=file.file_name, content=content, content_type=file.mime_type)
            )
        return uploads

    async def _fail(self, ticket: Ticket, text_key: str, error: Exception) -> NoReturn:
        """Keep the draft as failed (to be sent again) and raise the error for the user."""
        log.warning(
            "Draft %s of user %s was not sent to Okdesk: %s: %s",
            ticket.id,
            ticket.user_id,
            type(error).__name__,
            error,
        )
        await self._uow.tickets.mark_failed(ticket.id, error=f"{type(error).__name__}: {error}")
        await self._uow.commit()
        raise SubmissionFailedError(text_key, draft_id=ticket.id)

    async def _finish(
        self, ticket: Ticket, issue_id: int, message: TicketMessage
    ) -> CreatedTicket:
        await self._uow.tickets.mark_created(ticket.id, okdesk_issue_id=issue_id)
        await self._uow.commit()
        log.info("Draft %s became Okdesk ticket %s", ticket.id, issue_id)
        return _created(issue_id, ticket.title, message)


def _created(
    issue_id: int, title: str, message: TicketMessage, *, repeated: bool = False
) -> CreatedTicket:
    skipped = tuple(file for file in message.files if file.too_large)
    return CreatedTicket(issue_id, title, skipped, repeated=repeated)


# --------------------------------------------------------------------------------------------
# Reading tickets


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """One line of the client's ticket list."""

    issue_id: int
    title: str
    status: str
    is_open: bool


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of the client's tickets, open ones first; `page` counts from 0."""

    items: tuple[TicketSummary, ...]
    page: int
    pages: int
    open_count: int
    closed_count: int


@dataclass(frozen=True, slots=True)
class TicketCard:
    """What the client sees about one ticket."""

    issue_id: int
    title: str
    status: str
    is_open: bool
    created_at: datetime | None
    updated_at: datetime | None
    assignee: str | None
    last_comment: Comment | None


class TicketReader:
    """The client's tickets as Okdesk has them (made by the bot, by phone, by e-mail…)."""

    def __init__(self, *, okdesk: OkdeskClient, statuses: StatusCatalog) -> None:
        self._okdesk = okdesk
        self._statuses = statuses

    async def page(self, user: User | None, page: int) -> TicketPage:
        """Page `page` of the user's tickets (clamped to the pages there are)."""
        summaries = await self._summaries(require_registered(user))
        pages = max(1, -(-len(summaries) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        open_count = sum(summary.is_open for summary in summaries)
        return TicketPage(
            items=tuple(summaries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]),
            page=page,
            pages=pages,
            open_count=open_count,
            closed_count=len(summaries) - open_count,
        )

    async def open_tickets(self, user: User | None) -> list[TicketSummary]:
        """The user's open tickets, most recently updated first."""
        summaries = await self._summaries(require_registered(user))
        return [summary for summary in summaries if summary.is_open]

    async def card(self, user: User | None, issue_id: int) -> TicketCard:
        """The ticket's card, if the ticket is the user's (else `TicketAccessDeniedError`)."""
        try:
            issue = await owned_issue(self._okdesk, user, issue_id)
            statuses = await self._statuses.load(self._okdesk)
            comments = await self._okdesk.list_comments(issue_id)
        except OkdeskError as error:
            raise _reading_failed(error, f"ticket {issue_id}") from None
        return TicketCard(
            issue_id=issue.id,
            title=issue.title or "",
            status=status_name(issue, statuses),
            is_open=is_open(issue, statuses),
            created_at=issue.created_at,
            updated_at=issue.updated_at,
            assignee=issue.assignee.name if issue.assignee else None,
            last_comment=last_public_comment(comments),
        )

    async def _summaries(self, owner: User) -> list[TicketSummary]:
        """Every ticket of the user's contact: open ones first, each group newest first."""
        assert owner.okdesk_contact_id is not None  # require_registered checked it
        try:
            statuses = await self._statuses.load(self._okdesk)
            issues: list[Issue] = []
            async for issue in self._okdesk.iter_issues(
                contact_ids=[owner.okdesk_contact_id],
                sort_field="updated_at",
                sort_direction="reverse",
            ):
                issues.append(issue)
                if len(issues) >= LIST_LIMIT:
                    break
        except OkdeskError as error:
            raise _reading_failed(error, f"the tickets of user {owner.telegram_user_id}") from None
        summaries = [
            TicketSummary(
                issue_id=issue.id,
                title=issue.title or "",
                status=status_name(issue, statuses),
                is_open=is_open(issue, statuses),
            )
            for issue in issues
            if issue.contact_id == owner.okdesk_contact_id  # whatever filter Okdesk applied
        ]
        # A stable sort keeps Okdesk's newest-first order within each group.
        return sorted(summaries, key=lambda summary: not summary.is_open)


def last_public_comment(comments: Sequence[Comment]) -> Comment | None:
    """The newest comment the client may see (private ones are the service desk's own)."""
    public = [comment for comment in comments if comment.public is True]
    if not public:
        return None
    oldest = datetime.min.replace(tzinfo=UTC)
    return max(public, key=lambda comment: (comment.published_at or oldest, comment.id))


def _reading_failed(error: OkdeskError, what: str) -> OkdeskFailureError:
    log.warning("Could not read %s from Okdesk: %s: %s", what, type(error).__name__, error)
    return OkdeskFailureError(failure_text_key(error))

"""Comments on the client's own tickets: add one (text, photo, document), read the history.

Telegram-agnostic. Files are `IncomingFile` references, fetched through the `FileSource` port
(:mod:`okdesk_bot.services.files`) when sending, so a comment can be sent again later without
keeping the bytes anywhere. A comment Okdesk did not take is kept in a small key/value store
(the bot gives each chat a dialog-storage record of its own: it survives a restart and /cancel)
until the client resends or discards it. Ownership of the ticket is checked against Okdesk on
every call.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Generic, Protocol, TypeVar

from pydantic import TypeAdapter, ValidationError

from okdesk_bot.db.models import User
from okdesk_bot.domain.richtext import okdesk_html_to_telegram, plain_text, telegram_to_okdesk_html
from okdesk_bot.okdesk import (
    Comment,
    Issue,
    OkdeskClient,
    OkdeskError,
    OkdeskNotFoundError,
    OkdeskProtocolError,
    OkdeskUnavailableError,
    Upload,
)
from okdesk_bot.services.access import owned_issue, require_registered
from okdesk_bot.services.errors import ServiceError, TicketAccessDeniedError
from okdesk_bot.services.files import (
    MAX_FILE_BYTES,
    FileSource,
    FileTooLargeError,
    FileUnavailableError,
    IncomingFile,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

PENDING_LIMIT: Final = 5
"""How many unsent comments are kept per chat; the oldest goes first."""
ALBUM_LIMIT: Final = 3
"""How many incomplete albums are kept per chat."""
CLOCK_SKEW: Final = timedelta(minutes=2)
"""Tolerance between the bot's clock and Okdesk's when looking for a comment that landed."""
_EPOCH: Final = datetime.min.replace(tzinfo=UTC)


class EmptyCommentError(ServiceError):
    """The message had neither text nor a file."""

    text_key = "comment-empty"


class FileTooBigError(ServiceError):
    """A file is over Telegram's download limit for bots."""

    text_key = "comment-file-too-big"


class OkdeskUnreachableError(ServiceError):
    """Okdesk could not be read from (down, or refusing the bot's key)."""

    text_key = "comment-okdesk-unreachable"


class PendingCommentGoneError(ServiceError):
    """A resend was asked for a comment that is no longer kept (sent or discarded)."""

    text_key = "comment-pending-gone"


class NotPostedReason(StrEnum):
    OKDESK_UNAVAILABLE = "okdesk-unavailable"
    OKDESK_REJECTED = "okdesk-rejected"
    FILE_UNAVAILABLE = "file-unavailable"


_NOT_POSTED_TEXTS: Final = {
    NotPostedReason.OKDESK_UNAVAILABLE: "comment-not-posted-unavailable",
    NotPostedReason.OKDESK_REJECTED: "comment-not-posted-rejected",
    NotPostedReason.FILE_UNAVAILABLE: "comment-not-posted-file",
}


class CommentNotPostedError(ServiceError):
    """The comment did not reach Okdesk; it is kept as `pending_id` for a one-tap resend."""

    def __init__(self, pending_id: str, issue_id: int, reason: NotPostedReason) -> None:
        super().__init__(f"comment {pending_id} on ticket {issue_id} not posted: {reason}")
        self.pending_id = pending_id
        self.issue_id = issue_id
        self.reason = reason
        self.text_key = _NOT_POSTED_TEXTS[reason]

    @property
    def text_args(self) -> Mapping[str, str | int]:
        return {"number": str(self.issue_id)}


@dataclass(frozen=True, slots=True)
class CommentDraft:
    """What the client wrote for ticket `issue_id`: plain text and/or files."""

    issue_id: int
    text: str = ""
    files: tuple[IncomingFile, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.text.strip() and not self.files

    def content_html(self) -> str:
        """The comment as Okdesk HTML: the escaped text, or the file names if there is none."""
        if self.text.strip():
            return telegram_to_okdesk_html(self.text.strip())
        return "<br>".join(f"📎 {html.escape(each.file_name, quote=False)}" for each in self.files)


@dataclass(frozen=True, slots=True)
class PendingComment:
    """A comment Okdesk did not take. `outcome_unknown`: an attempt may have landed after all."""

    id: str
    draft: CommentDraft
    first_attempt_at: datetime
    outcome_unknown: bool = False


@dataclass(frozen=True, slots=True)
class PostedComment:
    """A comment that is in Okdesk; `already_posted` when a resend found it had landed."""

    issue: Issue
    comment: Comment
    already_posted: bool = False


@dataclass(frozen=True, slots=True)
class CommentHistory:
    """The public comments of a ticket, oldest first."""

    issue: Issue
    comments: list[Comment]
    own_contact_id: int

    def is_own(self, comment: Comment) -> bool:
        """True for a comment the client wrote (from Telegram or the portal)."""
        author = comment.author
        return (
            author is not None
            and author.id == self.own_contact_id
            and author.type in (None, "contact")
        )


class DataStore(Protocol):
    """A small per-chat JSON record (aiogram's FSMContext fits)."""

    async def get_data(self) -> dict[str, Any]: ...

    async def set_data(self, data: Mapping[str, Any]) -> None: ...


class _Slot(Generic[_T]):
    """One JSON value under `key` of a DataStore; unreadable data reads as `empty`."""

    def __init__(self, store: DataStore, key: str, adapter: TypeAdapter[_T], empty: _T) -> None:
        self._store = store
        self._key = key
        self._adapter = adapter
        self._empty = empty

    async def load(self) -> _T:
        raw = (await self._store.get_data()).get(self._key)
        if raw is None:
            return self._empty
        try:
            return self._adapter.validate_python(raw)
        except ValidationError:
            log.warning("Dropping unreadable %s from the dialog storage", self._key)
            return self._empty

    async def save(self, value: _T) -> None:
        data = await self._store.get_data()
        data[self._key] = self._adapter.dump_python(value, mode="json")
        await self._store.set_data(data)


class PendingComments:
    """The chat's unsent comments, oldest first, at most PENDING_LIMIT of them."""

    def __init__(self, store: DataStore) -> None:
        self._slot = _Slot(store, "pending", TypeAdapter(list[PendingComment]), [])

    async def get(self, pending_id: str) -> PendingComment | None:
        return next((each for each in await self._slot.load() if each.id == pending_id), None)

    async def put(self, pending: PendingComment) -> None:
        """Store `pending`, replacing the one with the same id."""
        kept = [each for each in await self._slot.load() if each.id != pending.id]
        await self._slot.save([*kept, pending][-PENDING_LIMIT:])

    async def remove(self, pending_id: str) -> PendingComment | None:
        """Forget a comment; returns it, or None if it was not kept."""
        stored = await self._slot.load()
        found = next((each for each in stored if each.id == pending_id), None)
        if found is not None:
            await self._slot.save([each for each in stored if each.id != pending_id])
        return found


class AlbumDrafts:
    """Albums on their way to becoming one comment, by album id.

    Telegram sends an album as one message per picture; the pictures (and the caption, which
    comes with one of them) are gathered here until the album is complete. Only the newest
    ALBUM_LIMIT albums are kept, so one that never completed does not linger.
    """

    def __init__(self, store: DataStore) -> None:
        self._slot = _Slot(store, "albums", TypeAdapter(dict[str, CommentDraft]), {})

    async def add(self, album_id: str, part: CommentDraft) -> None:
        """Add one message of the album (its file and maybe the caption)."""
        albums = await self._slot.load()
        known = albums.pop(album_id, None)
        if known is not None:
            part = replace(known, text=known.text or part.text, files=known.files + part.files)
        albums[album_id] = part
        await self._slot.save(dict(list(albums.items())[-ALBUM_LIMIT:]))

    async def take(self, album_id: str) -> CommentDraft | None:
        """The complete album as one draft, forgotten here; None if it was already taken."""
        albums = await self._slot.load()
        draft = albums.pop(album_id, None)
        if draft is not None:
            await self._slot.save(albums)
        return draft


class _NotDeliveredError(Exception):
    """Internal: a delivery failed in a way worth keeping the comment for."""

    def __init__(self, reason: NotPostedReason, *, outcome_unknown: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome_unknown = outcome_unknown


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _fingerprint(okdesk_html: str) -> str:
    """The text of a comment as a reader sees it, whitespace collapsed (to spot a duplicate)."""
    return " ".join(plain_text(okdesk_html_to_telegram(okdesk_html)).split())


def _chronological(comment: Comment) -> tuple[datetime, int]:
    return comment.published_at or _EPOCH, comment.id


def _contact_id(owner: User) -> int:
    contact_id = owner.okdesk_contact_id
    assert contact_id is not None  # guaranteed by require_registered
    return contact_id


class CommentService:
    """The client's comments, posted to Okdesk as their contact (public)."""

    def __init__(
        self,
        okdesk: OkdeskClient,
        pending: PendingComments,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._okdesk = okdesk
        self._pending = pending
        self._clock = clock

    async def ticket_for_comment(self, user: User | None, issue_id: int) -> Issue:
        """The ticket the client wants to comment on, if it is theirs."""
        try:
            return await owned_issue(self._okdesk, user, issue_id)
        except OkdeskError as exc:
            log.warning("Okdesk failed to read ticket %s: %s", issue_id, exc)
            raise OkdeskUnreachableError from None

    async def history(self, user: User | None, issue_id: int) -> CommentHistory:
        """The ticket's public comments, oldest first; private ones never leave Okdesk."""
        owner = require_registered(user)
        try:
            issue = await owned_issue(self._okdesk, owner, issue_id)
            comments = await self._okdesk.list_comments(issue_id)
        except OkdeskNotFoundError:
            raise TicketAccessDeniedError from None
        except OkdeskError as exc:
            log.warning("Okdesk failed to list the comments of ticket %s: %s", issue_id, exc)
            raise OkdeskUnreachableError from None
        public = sorted((each for each in comments if each.public is True), key=_chronological)
        return CommentHistory(issue=issue, comments=public, own_contact_id=_contact_id(owner))

    async def post(
        self, user: User | None, draft: CommentDraft, files: FileSource
    ) -> PostedComment:
        """Post the client's comment; if Okdesk does not take it, keep it for a resend."""
        owner = require_registered(user)
        if draft.is_empty:
            raise EmptyCommentError
        if any(each.too_large for each in draft.files):
            raise FileTooBigError
        try:
            return await self._deliver(owner, draft, files, landed_since=None)
        except _NotDeliveredError as failure:
            pending = PendingComment(
                id=secrets.token_urlsafe(6),
                draft=draft,
                first_attempt_at=self._clock(),
                outcome_unknown=failure.outcome_unknown,
            )
            await self._pending.put(pending)
            raise CommentNotPostedError(pending.id, draft.issue_id, failure.reason) from None

    async def resend(self, user: User | None, pending_id: str, files: FileSource) -> PostedComment:
        """Send a kept comment again, unless an earlier attempt turns out to have landed."""
        owner = require_registered(user)
        pending = await self._pending.get(pending_id)
        if pending is None:
            raise PendingCommentGoneError
        landed_since = pending.first_attempt_at if pending.outcome_unknown else None
        try:
            posted = await self._deliver(owner, pending.draft, files, landed_since=landed_since)
        except _NotDeliveredError as failure:
            unknown = pending.outcome_unknown or failure.outcome_unknown
            await self._pending.put(replace(pending, outcome_unknown=unknown))
            raise CommentNotPostedError(
                pending.id, pending.draft.issue_id, failure.reason
            ) from None
        except ServiceError:
            # Not the client's ticket (any more), or a file that can never be sent: resending
            # cannot help, so the comment is not kept.
            await self._pending.remove(pending.id)
            raise
        await self._pending.remove(pending.id)
        return posted

    async def discard(self, pending_id: str) -> PendingComment | None:
        """Forget a kept comment; returns it, or None if it was not kept."""
        return await self._pending.remove(pending_id)

    async def _deliver(
        self,
        owner: User,
        draft: CommentDraft,
        files: FileSource,
        *,
        landed_since: datetime | None,
    ) -> PostedComment:
        contact_id = _contact_id(owner)
        try:
            issue = await owned_issue(self._okdesk, owner, draft.issue_id)
            if landed_since is not None:
                landed = await self._find_landed(contact_id, draft, landed_since)
                if landed is not None:
                    log.info("Comment on ticket %s had landed; not sent again", draft.issue_id)
                    return PostedComment(issue=issue, comment=landed, already_posted=True)
            uploads = [await self._upload(each, files) for each in draft.files]
            comment = await self._okdesk.add_comment(
                draft.issue_id,
                draft.content_html(),
                author_id=contact_id,
                author_type="contact",
                public=True,
                attachments=uploads,
            )
        except OkdeskNotFoundError:
            raise TicketAccessDeniedError from None
        except OkdeskError as exc:
            log.warning("Okdesk did not take a comment on ticket %s: %s", draft.issue_id, exc)
            reason = (
                NotPostedReason.OKDESK_UNAVAILABLE
                if isinstance(exc, OkdeskUnavailableError)
                else NotPostedReason.OKDESK_REJECTED
            )
            unknown = exc.outcome_unknown or isinstance(exc, OkdeskProtocolError)
            raise _NotDeliveredError(reason, outcome_unknown=unknown) from None
        except FileUnavailableError:
            log.warning("A file of a comment on ticket %s could not be fetched", draft.issue_id)
            raise _NotDeliveredError(
                NotPostedReason.FILE_UNAVAILABLE, outcome_unknown=False
            ) from None
        log.info("Comment %s added to ticket %s by contact %s", comment.id, issue.id, contact_id)
        return PostedComment(issue=issue, comment=comment)

    async def _find_landed(
        self, contact_id: int, draft: CommentDraft, since: datetime
    ) -> Comment | None:
        """The client's comment with this text posted since the first attempt, if any."""
        wanted = _fingerprint(draft.content_html())
        for comment in await self._okdesk.list_comments(draft.issue_id):
            author = comment.author
            if (
                author is not None
                and author.id == contact_id
                and author.type in (None, "contact")
                and (comment.published_at is None or comment.published_at >= since - CLOCK_SKEW)
                and _fingerprint(comment.content) == wanted
            ):
                return comment
        return None

    @staticmethod
    async def _upload(file: IncomingFile, files: FileSource) -> Upload:
        try:
            content = await files.fetch(file.file_id)
        except FileTooLargeError:
            raise FileTooBigError from None
        if len(content) > MAX_FILE_BYTES:
            raise FileTooBigError
        return Upload(filename=file.file_name, content=content, content_type=file.mime_type)

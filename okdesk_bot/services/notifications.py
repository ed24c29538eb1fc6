"""Ticket notifications: an inbox event, confirmed with Okdesk, becomes outbox messages.

An inbox event only says that something *may* have happened: Okdesk signs nothing, so every
event is confirmed with the API and only the API's data is shown. A forged webhook can at most
trigger a read.

* A status change is notified when the issue's current status is the event's new status and
  differs from the last status notified for the issue. A webhook and a reconciliation report
  of one change, or two differently worded deliveries of it, therefore make one notice.
* A comment is notified when the issue's comment list holds it, public, not notified yet (a
  status notice may have shown it as the resolution comment) and not written by the issue's
  contact (the bot posts its users' comments as that contact).

Recipients are the registered Telegram users bound to the issue's contact as Okdesk reports it.
Notices are rendered in each recipient's language, one outbox row per Telegram message, as
the payloads the sender sends (:func:`send_message`, :func:`send_document`). What was notified
is kept per issue in ``app_state`` (:class:`NoticeLedger`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeAlias

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.bot.callbacks import TicketAction, TicketCallback
from okdesk_bot.db.base import utcnow
from okdesk_bot.db.models import InboxEvent, User
from okdesk_bot.db.repositories import AppStateRepository
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.domain.richtext import okdesk_html_to_telegram, split_message
from okdesk_bot.okdesk import (
    Attachment,
    Comment,
    Issue,
    OkdeskClient,
    OkdeskNotFoundError,
    Status,
)
from okdesk_bot.okdesk.webhooks import (
    NewCommentEvent,
    StatusChangedEvent,
    WebhookPayloadError,
    parse_webhook,
)
from okdesk_bot.texts import Texts, Translator, choose_locale

log = logging.getLogger(__name__)

Payload: TypeAlias = dict[str, Any]
"""One Bot API call for the sender: ``method`` plus its parameters, JSON-ready."""

SEND_MESSAGE: Final = "sendMessage"
SEND_DOCUMENT: Final = "sendDocument"
PARSE_MODE: Final = "HTML"
FILE_NAME_LIMIT: Final = 200
"""Longer attachment names are shortened in captions (Telegram allows 1024 characters)."""
REMEMBERED_COMMENTS: Final = 200
"""How many notified comment ids are kept per issue (duplicates arrive close together)."""


def send_message(text: str, reply_markup: Payload | None) -> Payload:
    """A ``sendMessage`` payload: Telegram HTML of at most 4096 characters after parsing."""
    return {
        "method": SEND_MESSAGE,
        "text": text,
        "parse_mode": PARSE_MODE,
        "reply_markup": reply_markup,
    }


def send_document(
    *,
    issue_id: int,
    attachment_id: int,
    filename: str,
    caption: str,
    reply_markup: Payload | None,
) -> Payload:
    """A ``sendDocument`` payload; the sender fetches the file from Okdesk when it sends."""
    return {
        "method": SEND_DOCUMENT,
        "okdesk_issue_id": issue_id,
        "okdesk_attachment_id": attachment_id,
        "filename": filename,
        "caption": caption,
        "parse_mode": PARSE_MODE,
        "reply_markup": reply_markup,
    }


# ---------------------------------------------------------------------------------------------
# What was notified


class IssueNotices(BaseModel):
    """What the clients following one issue have been told: its status and its comments."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status_code: str | None = None
    status_name: str | None = None
    comment_ids: tuple[int, ...] = ()

    @property
    def status(self) -> Status | None:
        """The last status notified (or recorded as the starting point), if any."""
        if self.status_code is None:
            return None
        return Status(code=self.status_code, name=self.status_name)

    def knows_comment(self, comment_id: int) -> bool:
        return comment_id in self.comment_ids

    def with_status(self, status: Status) -> IssueNotices:
        return self.model_copy(update={"status_code": status.code, "status_name": status.name})

    def with_comment(self, comment_id: int) -> IssueNotices:
        kept = (*self.comment_ids, comment_id)[-REMEMBERED_COMMENTS:]
        return self.model_copy(update={"comment_ids": kept})


class NoticeLedger:
    """:class:`IssueNotices` per issue, stored as JSON in ``app_state`` (one row per issue)."""

    def __init__(self, app_state: AppStateRepository) -> None:
        self._app_state = app_state

    @staticmethod
    def key(issue_id: int) -> str:
        return f"notices:issue:{issue_id}"

    async def get(self, issue_id: int) -> IssueNotices:
        stored = await self._app_state.get(self.key(issue_id))
        if stored is None:
            return IssueNotices()
        try:
            return IssueNotices.model_validate_json(stored)
        except ValidationError:
            log.warning("Unreadable notification record of issue %s; starting afresh", issue_id)
            return IssueNotices()

    async def save(self, issue_id: int, notices: IssueNotices) -> None:
        await self._app_state.set(self.key(issue_id), notices.model_dump_json())

    async def remember_status(self, issue_id: int, status: Status) -> None:
        """Take ``status`` as what the clients know, unless something is recorded already.

        Reconciliation calls this for issues it starts to follow: their current status is
        the starting point, not news.
        """
        starting_point = IssueNotices().with_status(status).model_dump_json()
        await self._app_state.get_or_create(self.key(issue_id), lambda: starting_point)


# ---------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True, slots=True)
class Recipient:
    """A registered Telegram user who follows an issue through its contact."""

    user_id: int
    chat_id: int
    locale: str

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user_id=user.id, chat_id=user.chat_id, locale=choose_locale(user.language_code))


class NoticeRenderer:
    """Renders notices as Telegram payloads, in Russian or English.

    Every message about a ticket carries the same two buttons: reply (the journeys turn a
    reply to such a message into a comment on the ticket) and open the ticket in Okdesk.
    """

    def __init__(self, texts: Texts, issue_url: Callable[[int], str]) -> None:
        self._texts = texts
        self._issue_url = issue_url

    def status_changed(
        self,
        locale: str,
        issue: Issue,
        *,
        new: Status,
        old: Status | None,
        resolution: Comment | None = None,
    ) -> list[Payload]:
        """The status notice, with the public comment written with the change, if any."""
        t = Translator(self._texts, locale)
        number, title = str(issue.id), self._title(t, issue)
        if old is None:
            text = t("notify-status-set", number=number, title=title, new=_status_name(new))
        else:
            text = t(
                "notify-status-changed",
                number=number,
                title=title,
                old=_status_name(old),
                new=_status_name(new),
            )
        if resolution is not None:
            heading = t("notify-resolution", author=self._author(t, resolution))
            text = _join(text, _join(heading, okdesk_html_to_telegram(resolution.content), "\n"))
        return self._messages(t, issue.id, text)

    def new_comment(self, locale: str, issue: Issue, comment: Comment) -> list[Payload]:
        """The comment as Telegram text (split when long), then its public files."""
        t = Translator(self._texts, locale)
        heading = t(
            "notify-comment",
            number=str(issue.id),
            title=self._title(t, issue),
            author=self._author(t, comment),
        )
        text = _join(heading, okdesk_html_to_telegram(comment.content), "\n")
        files = [each for each in comment.attachments if each.is_public is not False]
        return [
            *self._messages(t, issue.id, text),
            *(self._document(t, issue.id, each) for each in files),
        ]

    def _messages(self, t: Translator, issue_id: int, text: str) -> list[Payload]:
        markup = self._keyboard(t, issue_id)
        return [send_message(part, markup) for part in split_message(text)]

    def _document(self, t: Translator, issue_id: int, attachment: Attachment) -> Payload:
        filename = attachment.attachment_file_name or f"file-{attachment.id}"
        shown = filename if len(filename) <= FILE_NAME_LIMIT else filename[:FILE_NAME_LIMIT] + "…"
        return send_document(
            issue_id=issue_id,
            attachment_id=attachment.id,
            filename=filename,
            caption=t("notify-file", number=str(issue_id), name=shown),
            reply_markup=self._keyboard(t, issue_id),
        )

    def _keyboard(self, t: Translator, issue_id: int) -> Payload:
        reply = TicketCallback(action=TicketAction.COMMENT, issue_id=issue_id)
        return {
            "inline_keyboard": [
                [
                    {"text": t("notify-button-reply"), "callback_data": reply.pack()},
                    {"text": t("notify-button-open"), "url": self._issue_url(issue_id)},
                ]
            ]
        }

    @staticmethod
    def _title(t: Translator, issue: Issue) -> str:
        return (issue.title or "").strip() or t("notify-untitled")

    @staticmethod
    def _author(t: Translator, comment: Comment) -> str:
        name = (comment.author.name or "").strip() if comment.author else ""
        return name or t("notify-support")


def _status_name(status: Status) -> str:
    return (status.name or "").strip() or status.code


def _join(first: str, second: str, separator: str = "\n\n") -> str:
    return f"{first}{separator}{second}" if second else first


# ---------------------------------------------------------------------------------------------
# Deciding


class Outcome(StrEnum):
    """How an inbox event ended."""

    NOTIFIED = "notified"
    ALREADY_NOTIFIED = "already notified"
    IGNORED = "ignored"


class UnreadableEventError(ValueError):
    """The stored payload is not a webhook the bot can parse (retrying cannot help)."""


_NOT_NOTIFIED: Final = "clients are not notified of {} events"
_NOBODY_FOLLOWS: Final = "nobody here follows the ticket"
FOLLOWERS_PER_BATCH: Final = 512
"""The most later events `NotificationService.settle_unfollowed` takes along per batch."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to write for one event: notices, the issue's new record, the inbox outcome."""

    outcome: Outcome
    reason: str
    issue_id: int | None = None
    notices: Sequence[tuple[Recipient, Sequence[Payload]]] = ()
    record: IssueNotices | None = None

    @classmethod
    def ignore(cls, reason: str, issue_id: int | None = None) -> _Plan:
        return cls(Outcome.IGNORED, reason, issue_id)


@dataclass(frozen=True, slots=True)
class _Followed:
    """An issue as Okdesk reports it, who follows it here and what they were told."""

    issue: Issue
    recipients: list[Recipient]
    notices: IssueNotices


@dataclass(slots=True)
class NotificationService:
    """Confirms one inbox event with Okdesk and queues the notices it deserves.

    Okdesk errors other than "not found" propagate (the caller retries the event later);
    everything else ends the event: notices queued, the issue's record and the event's
    outcome are written in one transaction.
    """

    okdesk: OkdeskClient
    sessions: async_sessionmaker[AsyncSession]
    renderer: NoticeRenderer
    clock: Callable[[], datetime] = field(default=utcnow)

    async def process(self, event: InboxEvent) -> Outcome:
        """Decide, render and queue; marks the event done or ignored and returns how it ended."""
        plan = await self._plan(event)
        await self._write(event, plan)
        _log_outcome(event, plan)
        return plan.outcome

    async def settle_unfollowed(self, events: Sequence[InboxEvent]) -> list[InboxEvent]:
        """Ignore at once the events that concern nobody here; returns the rest, for `process`.

        Decided from the stored payloads and our own users, with no Okdesk read: an event type
        clients are not notified of, or an event naming a contact nobody here is bound to.
        `process` would end these events the same way, one transaction each; here the whole
        batch costs one read and one write, which matters because most of an account's tickets
        usually belong to clients who never open the bot.

        An event settled so also takes along the events waiting behind it about its issue, as
        far as they concern nobody either (up to `FOLLOWERS_PER_BATCH` in all): they would
        otherwise be claimed one at a time, each once the one before it is done, so a flood
        about one such ticket would take long to work off, and every claim meanwhile would
        look through what is left of it.
        Nothing is reordered for anyone who follows: the first later event that may concern
        someone stops the run and becomes its issue's next event.
        """
        async with UnitOfWork(self.sessions) as uow:
            plans = await self._ignorable(uow, events)
            settled = {
                event.okdesk_issue_id
                for event in events
                if event.id in plans and event.okdesk_issue_id is not None
            }
            followers = await uow.inbox.waiting_of_issues(settled, limit=FOLLOWERS_PER_BATCH)
            taken_along = _leading_runs(followers, await self._ignorable(uow, followers))
            if plans or taken_along:
                await uow.inbox.mark_ignored_many([*plans, *taken_along], now=self.clock())
                await uow.commit()
        for event in events:
            if (plan := plans.get(event.id)) is not None:
                _log_outcome(event, plan)
        if taken_along:
            log.info(
                "%s later inbox events about issues %s concern nobody here either: ignored",
                len(taken_along),
                sorted(settled),
            )
        return [event for event in events if event.id not in plans]

    async def _ignorable(self, uow: UnitOfWork, events: Sequence[InboxEvent]) -> dict[int, _Plan]:
        """The events to ignore without an Okdesk read, each with its reason."""
        plans: dict[int, _Plan] = {}
        named: dict[int, tuple[int, int]] = {}  # event id -> (issue id, the contact it names)
        for event in events:
            try:
                parsed = parse_webhook(event.payload)
            except WebhookPayloadError:
                continue  # `process` fails it, with the reason
            if not isinstance(parsed, StatusChangedEvent | NewCommentEvent):
                plans[event.id] = _Plan.ignore(_NOT_NOTIFIED.format(parsed.event_type))
            elif (contact_id := parsed.issue.contact_id) is not None:
                named[event.id] = (parsed.issue.id, contact_id)
        if named:
            followed = await uow.users.followed_contacts({c for _, c in named.values()})
            for event_id, (issue_id, contact_id) in named.items():
                if contact_id not in followed:
                    plans[event_id] = _Plan.ignore(_NOBODY_FOLLOWS, issue_id)
        return plans

    async def _plan(self, event: InboxEvent) -> _Plan:
        try:
            parsed = parse_webhook(event.payload)
        except WebhookPayloadError as exc:
            raise UnreadableEventError(str(exc)) from None
        if isinstance(parsed, StatusChangedEvent):
            return await self._plan_status(parsed)
        if isinstance(parsed, NewCommentEvent):
            return await self._plan_comment(parsed)
        return _Plan.ignore(_NOT_NOTIFIED.format(parsed.event_type))

    async def _plan_status(self, event: StatusChangedEvent) -> _Plan:
        issue_id = event.issue.id
        followed = await self._followed(issue_id, event.issue.contact_id)
        if isinstance(followed, _Plan):
            return followed
        issue, notices = followed.issue, followed.notices
        new = issue.status
        if new is None or new.code != event.new_status.code:
            return _Plan.ignore("Okdesk does not confirm the new status", issue_id)
        if notices.status_code == new.code:
            return _Plan(Outcome.ALREADY_NOTIFIED, "this status was notified", issue_id)
        # What the clients last knew, else Okdesk's previous status, else the event's.
        old = notices.status or issue.old_status or event.old_status
        resolution = None
        if event.comment is not None and not notices.knows_comment(event.comment.id):
            resolution = await self._forwardable_comment(issue, event.comment.id)
        record = notices.with_status(new)
        if resolution is not None:
            record = record.with_comment(resolution.id)
        rendered = [
            (
                recipient,
                self.renderer.status_changed(
                    recipient.locale, issue, new=new, old=old, resolution=resolution
                ),
            )
            for recipient in followed.recipients
        ]
        return _Plan(Outcome.NOTIFIED, f"status {new.code}", issue_id, rendered, record)

    async def _plan_comment(self, event: NewCommentEvent) -> _Plan:
        issue_id, comment_id = event.issue.id, event.comment.id
        followed = await self._followed(issue_id, event.issue.contact_id)
        if isinstance(followed, _Plan):
            return followed
        issue, notices = followed.issue, followed.notices
        if notices.knows_comment(comment_id):
            return _Plan(Outcome.ALREADY_NOTIFIED, f"comment {comment_id} was notified", issue_id)
        comment = await self._find_comment(issue.id, comment_id)
        if comment is None:
            log.warning("Okdesk has no comment %s on issue %s: not notified", comment_id, issue_id)
            return _Plan.ignore(f"Okdesk does not confirm comment {comment_id}", issue_id)
        if comment.public is not True:
            return _Plan.ignore(f"comment {comment_id} is private", issue_id)
        if written_by_contact(comment, issue.contact_id):
            return _Plan.ignore(f"comment {comment_id} is the client's own", issue_id)
        rendered = [
            (recipient, self.renderer.new_comment(recipient.locale, issue, comment))
            for recipient in followed.recipients
        ]
        record = notices.with_comment(comment.id)
        return _Plan(Outcome.NOTIFIED, f"comment {comment_id}", issue_id, rendered, record)

    async def _followed(self, issue_id: int, claimed_contact_id: int | None) -> _Followed | _Plan:
        """The issue with its followers, or the plan to ignore an event nobody here follows.

        The contact an event names only saves a read when nobody is bound to it; recipients
        always come from the contact Okdesk reports.
        """
        claimed = None
        if claimed_contact_id is not None:
            claimed = await self._recipients(claimed_contact_id)
            if not claimed:
                return _Plan.ignore(_NOBODY_FOLLOWS, issue_id)
        try:
            issue = await self.okdesk.get_issue(issue_id)
        except OkdeskNotFoundError:
            return _Plan.ignore("Okdesk has no such ticket", issue_id)
        if claimed is not None and issue.contact_id == claimed_contact_id:
            recipients = claimed
        else:
            recipients = await self._recipients(issue.contact_id) if issue.contact_id else []
        if not recipients:
            return _Plan.ignore(_NOBODY_FOLLOWS, issue_id)
        async with UnitOfWork(self.sessions) as uow:
            notices = await NoticeLedger(uow.app_state).get(issue_id)
        return _Followed(issue, recipients, notices)

    async def _recipients(self, contact_id: int) -> list[Recipient]:
        async with UnitOfWork(self.sessions) as uow:
            users = await uow.users.list_by_okdesk_contact_id(contact_id)
        return [Recipient.of(user) for user in users if user.is_registered]

    async def _find_comment(self, issue_id: int, comment_id: int) -> Comment | None:
        comments = await self.okdesk.list_comments(issue_id)
        return next((comment for comment in comments if comment.id == comment_id), None)

    async def _forwardable_comment(self, issue: Issue, comment_id: int) -> Comment | None:
        """The comment if Okdesk has it, public and not written by the issue's contact."""
        comment = await self._find_comment(issue.id, comment_id)
        if comment is None or comment.public is not True:
            return None
        if written_by_contact(comment, issue.contact_id):
            return None
        return comment

    async def _write(self, event: InboxEvent, plan: _Plan) -> None:
        async with UnitOfWork(self.sessions) as uow:
            now = self.clock()
            for recipient, payloads in plan.notices:
                for part, payload in enumerate(payloads):
                    await uow.outbox.enqueue(
                        dedup_key=f"{event.dedup_key}:{recipient.chat_id}:{part}",
                        chat_id=recipient.chat_id,
                        payload=payload,
                        now=now,
                        user_id=recipient.user_id,
                        okdesk_issue_id=plan.issue_id,
                        inbox_event_id=event.id,
                    )
            if plan.record is not None and plan.issue_id is not None:
                await NoticeLedger(uow.app_state).save(plan.issue_id, plan.record)
            if plan.outcome is Outcome.IGNORED:
                await uow.inbox.mark_ignored(event.id, now=now)
            else:
                await uow.inbox.mark_done(event.id, now=now)
            await uow.commit()


def _leading_runs(followers: Sequence[InboxEvent], ignorable: Mapping[int, _Plan]) -> list[int]:
    """The ids of each issue's first `followers` (given in each issue's order) up to its first
    one that is not `ignorable`."""
    taken: list[int] = []
    stopped: set[int | None] = set()
    for event in followers:
        if event.okdesk_issue_id in stopped:
            continue
        if event.id in ignorable:
            taken.append(event.id)
        else:
            stopped.add(event.okdesk_issue_id)
    return taken


def _log_outcome(event: InboxEvent, plan: _Plan) -> None:
    log.info(
        "Inbox event %s (%s, issue %s): %s, %s",
        event.id,
        event.event_type,
        plan.issue_id,
        plan.outcome,
        plan.reason,
    )


def written_by_contact(comment: Comment, contact_id: int | None) -> bool:
    """True for a comment of the issue's own contact: the client, or the bot posting for them."""
    author = comment.author
    return (
        author is not None
        and contact_id is not None
        and author.type == "contact"
        and author.id == contact_id
    )

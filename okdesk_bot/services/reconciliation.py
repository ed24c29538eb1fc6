"""Reconciliation: find in the Okdesk API what webhooks should have reported, and report it.

Every ``NOTIFY_POLL_INTERVAL`` seconds the tickets of the contacts that Telegram users are bound
to are read, if they were updated since the watermark (with a few minutes of overlap for clock
differences and Okdesk's minute-precise filter). For each ticket:

* a status that differs from the one last notified becomes a ``new_ticket_status`` event;
* each public comment published since the watermark, and not written by the ticket's contact,
  becomes a ``new_comment`` event under the webhook's own dedup key ``comment:<id>``.

The events go to the inbox and are processed like webhooks, so the same rules (and the same
dedup) apply: a lost webhook is caught, and nothing is notified twice.

Nothing from before is sent. The first run only sets the watermark. A contact seen for the
first time is *followed*: the current status of each of its tickets is recorded as what its
users know. A ticket without a record (created since) is news only if its status has changed
since it was created.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.okdesk import Comment, Issue, OkdeskClient, OkdeskError, Status
from okdesk_bot.okdesk.webhooks import (
    NEW_COMMENT,
    NEW_TICKET_STATUS,
    IssueEvent,
    dedup_key,
    parse_webhook,
)
from okdesk_bot.services.notifications import IssueNotices, NoticeLedger, written_by_contact
from okdesk_bot.workers import wait_or_stop

log = logging.getLogger(__name__)

WATERMARK_KEY: Final = "reconciliation:watermark"
FOLLOWED_CONTACTS_KEY: Final = "reconciliation:contacts"
OVERLAP: Final = timedelta(minutes=5)
CONTACTS_PER_REQUEST: Final = 50
ORIGIN: Final = "reconciliation"
"""The ``origin`` of the inbox payloads written here (webhooks have none)."""


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """What one run did."""

    contacts_followed: int
    issues_checked: int
    events_added: int


class Reconciler:
    """The reconciliation worker (:meth:`run`) and its single pass (:meth:`run_once`)."""

    name = "notification-reconciliation"

    def __init__(
        self,
        okdesk: OkdeskClient,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float,
        clock: Callable[[], datetime] = utcnow,
        overlap: timedelta = OVERLAP,
    ) -> None:
        self._okdesk = okdesk
        self._sessions = sessions
        self._interval = interval
        self._clock = clock
        self._overlap = overlap

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                report = await self.run_once()
            except OkdeskError as exc:
                log.warning("Reconciliation postponed, Okdesk failed: %s", exc.message)
            else:
                if report.events_added or report.contacts_followed:
                    log.info("Reconciliation: %s", report)
            if await wait_or_stop(stop, self._interval):
                return

    async def run_once(self) -> ReconciliationReport:
        """One pass; the watermark moves only when the pass completes."""
        now = self._clock()
        contacts = await self._bound_contacts()
        async with UnitOfWork(self._sessions) as uow:
            watermark = await uow.app_state.get(WATERMARK_KEY)
            followed = _contact_set(await uow.app_state.get(FOLLOWED_CONTACTS_KEY))
        new_contacts = sorted(contacts - followed)
        if new_contacts:
            await self._follow(new_contacts, followed | set(new_contacts))
        checked = added = 0
        if watermark is not None:
            since = datetime.fromisoformat(watermark) - self._overlap
            checked, added = await self._scan(sorted(contacts & followed), since, now)
        async with UnitOfWork(self._sessions) as uow:
            await uow.app_state.set(WATERMARK_KEY, now.isoformat())
            await uow.commit()
        return ReconciliationReport(len(new_contacts), checked, added)

    async def _bound_contacts(self) -> set[int]:
        """The Okdesk contacts registered Telegram users are bound to."""
        async with UnitOfWork(self._sessions) as uow:
            return await uow.users.list_bound_contact_ids()

    async def _follow(self, contacts: Sequence[int], followed: set[int]) -> None:
        """Record the current status of every ticket of ``contacts``, then follow them."""
        for chunk in _chunks(contacts):
            issues = [issue async for issue in self._okdesk.iter_issues(contact_ids=chunk)]
            async with UnitOfWork(self._sessions) as uow:
                ledger = NoticeLedger(uow.app_state)
                for issue in issues:
                    if issue.status is not None:
                        await ledger.remember_status(issue.id, issue.status)
                await uow.commit()
        async with UnitOfWork(self._sessions) as uow:
            await uow.app_state.set(FOLLOWED_CONTACTS_KEY, json.dumps(sorted(followed)))
            await uow.commit()

    async def _scan(
        self, contacts: Sequence[int], since: datetime, now: datetime
    ) -> tuple[int, int]:
        """Check the tickets updated since ``since``; returns (checked, events added)."""
        checked = added = 0
        for chunk in _chunks(contacts):
            async for issue in self._okdesk.iter_issues(contact_ids=chunk, updated_since=since):
                checked += 1
                added += await self._reconcile(issue, since, now)
        return checked, added

    async def _reconcile(self, issue: Issue, since: datetime, now: datetime) -> int:
        """Queue the events one ticket is missing; returns how many were new."""
        async with UnitOfWork(self._sessions) as uow:
            notices = await NoticeLedger(uow.app_state).get(issue.id)
        payloads: list[dict[str, Any]] = []
        starting_status: Status | None = None
        if issue.status is not None and issue.status.code != notices.status_code:
            old = await self._previous_status(issue, notices)
            if old is None:
                starting_status = issue.status
            else:
                payloads.append(_status_payload(issue, issue.status, old, now))
        comments = await self._okdesk.list_comments(issue.id)
        payloads.extend(
            _comment_payload(issue, comment)
            for comment in _news(comments, notices, since, issue.contact_id)
        )
        async with UnitOfWork(self._sessions) as uow:
            if starting_status is not None:
                await NoticeLedger(uow.app_state).remember_status(issue.id, starting_status)
            added = [await _add_event(uow, payload, now) for payload in payloads]
            await uow.commit()
        return sum(added)

    async def _previous_status(self, issue: Issue, notices: IssueNotices) -> Status | None:
        """What the clients last knew; for a ticket without a record, Okdesk's previous
        status (``None`` when the status never changed: nothing to report)."""
        if notices.status is not None:
            return notices.status
        return (await self._okdesk.get_issue(issue.id)).old_status


def _news(
    comments: Iterable[Comment], notices: IssueNotices, since: datetime, contact_id: int | None
) -> list[Comment]:
    """Public comments published since ``since`` that the clients were not told about."""
    return [
        comment
        for comment in comments
        if comment.public is True
        and not notices.knows_comment(comment.id)
        and (comment.published_at is None or comment.published_at >= since)
        and not written_by_contact(comment, contact_id)
    ]


def _issue_part(issue: Issue) -> dict[str, Any]:
    contact = None if issue.contact_id is None else {"id": issue.contact_id}
    return {"id": issue.id, "title": issue.title, "client": {"contact": contact}}


def _status_json(status: Status | None) -> dict[str, Any] | None:
    return None if status is None else {"code": status.code, "name": status.name}


def _status_payload(
    issue: Issue, new: Status, old: Status | None, now: datetime
) -> dict[str, Any]:
    """A ``new_ticket_status`` event; its time (so its dedup key) is the issue's update."""
    return {
        "event": {
            "event_type": NEW_TICKET_STATUS,
            "old_status": _status_json(old),
            "new_status": _status_json(new),
            "created_at": (issue.updated_at or now).isoformat(),
        },
        "issue": _issue_part(issue),
        "origin": ORIGIN,
    }


def _comment_payload(issue: Issue, comment: Comment) -> dict[str, Any]:
    """A ``new_comment`` event naming the comment; its content is read from Okdesk later."""
    return {
        "event": {"event_type": NEW_COMMENT, "comment": {"id": comment.id, "is_public": True}},
        "issue": _issue_part(issue),
        "origin": ORIGIN,
    }


async def _add_event(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> bool:
    event = parse_webhook(payload)
    assert isinstance(event, IssueEvent), "the payloads built here are issue events"
    return await uow.inbox.add(
        dedup_key=dedup_key(event),
        event_type=event.event_type,
        payload=payload,
        received_at=now,
        okdesk_issue_id=event.issue.id,
    )


def _chunks(contacts: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(contacts), CONTACTS_PER_REQUEST):
        yield list(contacts[start : start + CONTACTS_PER_REQUEST])


def _contact_set(stored: str | None) -> set[int]:
    if stored is None:
        return set()
    return {int(contact_id) for contact_id in json.loads(stored)}

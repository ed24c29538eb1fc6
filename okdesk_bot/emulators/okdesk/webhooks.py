"""Outgoing webhooks: the payloads of the webhookdoc and their background delivery.

Payload shape (``{"event": {...}, "issue": {...}}``) differs from REST on purpose, as in
Okdesk: ids and numbers are strings, people carry ``first_name``/``last_name``/``patronymic``,
the client is nested as ``issue.client.{company,contact}``, a comment's visibility is
``is_public`` and attribute types are under ``type``. No signature header is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from yarl import URL

from okdesk_bot.emulators.okdesk.render import timestamp
from okdesk_bot.emulators.okdesk.state import (
    Actor,
    Attachment,
    Comment,
    Issue,
    OkdeskState,
    Status,
    account_now,
)

logger = logging.getLogger(__name__)

Json = dict[str, Any]
DROPPED = "dropped by the emulator"


def _origin(url: str) -> str:
    """Scheme, host and port only: webhook URLs often carry a secret in the path or query."""
    return str(URL(url).origin()) if URL(url).absolute else "<relative url>"


def code_name(status: Status | None) -> Json | None:
    """``{code, name}`` of a status, as in ``old_status``/``new_status``."""
    return None if status is None else {"code": status.code, "name": status.name}


def person(state: OkdeskState, actor: Actor) -> Json:
    """``{id, first_name, last_name, patronymic, type}`` with a string id."""
    record = state.person(actor)
    return {
        "id": str(record.id),
        "first_name": record.first_name,
        "last_name": record.last_name,
        "patronymic": record.patronymic,
        "type": actor.type,
    }


def assignee(state: OkdeskState, employee_id: int | None) -> Json:
    """``{group, employee}`` as in ``issue.assignee`` and ``event.old_assignee``."""
    employee = state.employees.get(employee_id or 0)
    return {
        "group": None,
        "employee": None
        if employee is None
        else {
            "id": str(employee.id),
            "first_name": employee.first_name,
            "last_name": employee.last_name,
            "patronymic": employee.patronymic,
        },
    }


def attachment(record: Attachment) -> Json:
    return {
        "id": str(record.id),
        "is_public": record.is_public,
        "attachment_file_name": record.file_name,
        "description": record.description,
        "attachment_file_size": str(record.size),
        "created_at": timestamp(record.created_at),
    }


def comment(record: Comment) -> Json:
    return {"id": str(record.id), "is_public": record.public, "content": record.content}


def _client(state: OkdeskState, issue: Issue) -> Json:
    company = state.companies.get(issue.company_id or 0)
    contact = state.contacts.get(issue.contact_id or 0)
    return {
        "company": None if company is None else {"name": company.name, "id": str(company.id)},
        "contact": None
        if contact is None
        else {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "patronymic": contact.patronymic,
            "id": str(contact.id),
        },
    }


def issue_part(state: OkdeskState, issue: Issue) -> Json:
    """The ``issue`` half of an issue event, as in the webhookdoc example."""
    issue_type = state.issue_types[issue.type_code]
    priority = state.priorities[issue.priority_code]
    definitions = state.issue_parameters
    return {
        "title": issue.title,
        "planned_execution_in_hours": None,
        "spent_time_total": "0",
        "id": str(issue.id),
        "parent_id": None,
        "child_ids": [],
        "description": issue.description,
        "type": {"code": issue_type.code, "name": issue_type.name, "inner": issue_type.inner},
        "priority": {"code": priority.code, "name": priority.name},
        "status": code_name(state.statuses[issue.status_code]),
        "old_status": code_name(state.statuses.get(issue.old_status_code or "")),
        "rate": issue.rate,
        "client": _client(state, issue),
        "agreement": None,
        "maintenance_entity": None,
        "equipments": [],
        "author": person(state, issue.author),
        "assignee": assignee(state, issue.assignee_id),
        "coexecutors": [],
        "observers": {"employees": [], "contacts": [], "groups": []},
        "created_at": timestamp(issue.created_at),
        "deadline_at": timestamp(issue.deadline_at),
        "planned_reaction_at": None,
        "start_execution_until": None,
        "completed_at": timestamp(issue.completed_at),
        "reacted_at": None,
        "parameters": [
            {
                "code": code,
                "name": definitions[code].name,
                "type": definitions[code].field_type,
                "value": value,
            }
            for code, value in issue.parameters.items()
            if code in definitions
        ],
        "attachments": [attachment(a) for a in state.attachments_by_ids(issue.attachment_ids)],
    }


def issue_event(
    state: OkdeskState, issue: Issue, event_type: str, author: Actor, **fields: Any
) -> Json:
    """Build ``{"event": {"event_type", "author", **fields}, "issue": {...}}``."""
    event: Json = {"event_type": event_type, "author": person(state, author), **fields}
    return {"event": event, "issue": issue_part(state, issue)}


def deleted_issue_event(state: OkdeskState, issue: Issue, author: Actor) -> Json:
    """``ticket_deleted`` carries only part of the issue: its id, title, status and client."""
    return {
        "event": {"event_type": "ticket_deleted", "author": person(state, author)},
        "issue": {
            "id": str(issue.id),
            "title": issue.title,
            "status": code_name(state.statuses[issue.status_code]),
            "client": _client(state, issue),
        },
    }


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One delivery attempt to one URL, as recorded in the emulator's log."""

    url: str
    event_type: str
    payload: Json
    sent_at: datetime
    status: int | None = None
    error: str | None = None
    dropped: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_json(self) -> Json:
        return {
            "url": self.url,
            "event_type": self.event_type,
            "issue_id": self.payload.get("issue", {}).get("id"),
            "sent_at": timestamp(self.sent_at),
            "status": self.status,
            "error": self.error,
            "dropped": self.dropped,
            "payload": self.payload,
        }


class WebhookSender:
    """POSTs event payloads to every configured URL in background tasks and logs the result."""

    def __init__(
        self,
        urls: Sequence[str] = (),
        *,
        timeout: float = 5.0,
        clock: Callable[[], datetime] = account_now,
    ) -> None:
        self.urls: tuple[str, ...] = tuple(urls)
        self.timeout = timeout
        self.log: list[WebhookDelivery] = []
        self._clock = clock
        self._drop_remaining = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._recorded = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    def set_urls(self, urls: Sequence[str]) -> None:
        self.urls = tuple(urls)

    def drop_next(self, count: int) -> None:
        """Do not send the next ``count`` deliveries (they are logged as dropped)."""
        if count < 0:
            raise ValueError("count must not be negative")
        self._drop_remaining = count

    @property
    def drop_remaining(self) -> int:
        return self._drop_remaining

    def emit(self, payload: Json) -> None:
        """Schedule delivery of ``payload`` to every URL; never waits for the receivers."""
        event_type = str(payload["event"]["event_type"])
        for url in self.urls:
            if self._drop_remaining > 0:
                self._drop_remaining -= 1
                dropped = WebhookDelivery(
                    url, event_type, payload, self._clock(), error=DROPPED, dropped=True
                )
                self._record(dropped)
                continue
            task = asyncio.create_task(self._deliver(url, event_type, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def wait_for(self, count: int) -> list[WebhookDelivery]:
        """Wait until the log holds at least ``count`` deliveries (dropped ones included)."""
        while len(self.log) < count:
            self._recorded.clear()
            await self._recorded.wait()
        return list(self.log)

    def clear_log(self) -> None:
        self.log.clear()

    async def close(self) -> None:
        """Cancel deliveries still in flight and close the HTTP session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver(self, url: str, event_type: str, payload: Json) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        sent_at = self._clock()
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            async with self._session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.info(
                "Webhook %s to %s failed: %s", event_type, _origin(url), type(exc).__name__
            )
            self._record(WebhookDelivery(url, event_type, payload, sent_at, error=repr(exc)))
            return
        logger.debug("Webhook %s to %s: HTTP %s", event_type, _origin(url), response.status)
        self._record(WebhookDelivery(url, event_type, payload, sent_at, status=response.status))

    def _record(self, delivery: WebhookDelivery) -> None:
        self.log.append(delivery)
        self._recorded.set()

"""Typed Okdesk webhooks: the envelope, one model per event type, and their dedup keys.

An Okdesk webhook is ``{"event": {"event_type": …, …}, "issue": {…}}`` (webhookdoc, see
``okdesk-api.md`` §7). It differs from the REST records on purpose: ids and numbers are
strings, people carry ``first_name``/``last_name``/``patronymic`` and a ``type``, the client is
nested as ``issue.client.{company,contact}`` and a comment's visibility is ``is_public``.

:func:`parse_webhook` flattens the envelope into one event object (the event's fields, plus
``issue``) chosen by ``event_type``:

* ``new_ticket``, ``new_ticket_status``, ``new_comment``, ``new_assignee`` and
  ``ticket_deleted`` get their own models; the other documented issue events are a generic
  :class:`IssueEvent`;
* the names of the product's original description are accepted as aliases
  (:data:`EVENT_TYPE_ALIASES`), and ``issue.updated`` is a generic issue event;
* anything else, including the events about companies, equipment and agreements, is an
  :class:`UnknownEvent`: acknowledged, never an exception.

Parsing is tolerant (extra fields ignored, ``null`` lists, numeric strings as ids); only what
the bot cannot do without is required, and a payload missing it raises
:class:`WebhookPayloadError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC
from functools import cached_property
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError

from okdesk_bot.okdesk.models import (
    Attachment,
    CustomParameter,
    Items,
    NamedRef,
    OkdeskModel,
    Priority,
    Status,
    Timestamp,
)

__all__ = [
    "DEDUP_KEY_MAX_LENGTH",
    "EVENT_TYPE_ALIASES",
    "GENERIC_ISSUE_EVENT_TYPES",
    "AssigneeChangedEvent",
    "Assignment",
    "IssueEvent",
    "NewCommentEvent",
    "NewTicketEvent",
    "Person",
    "StatusChangedEvent",
    "TicketDeletedEvent",
    "UnknownEvent",
    "WebhookClient",
    "WebhookComment",
    "WebhookEvent",
    "WebhookIssue",
    "WebhookPayloadError",
    "dedup_key",
    "parse_webhook",
]

NEW_TICKET: Final = "new_ticket"
NEW_TICKET_STATUS: Final = "new_ticket_status"
NEW_COMMENT: Final = "new_comment"
NEW_ASSIGNEE: Final = "new_assignee"
TICKET_DELETED: Final = "ticket_deleted"

EVENT_TYPE_ALIASES: Final[Mapping[str, str]] = {
    "issue.created": NEW_TICKET,
    "issue.status_changed": NEW_TICKET_STATUS,
    "comment.created": NEW_COMMENT,
}
"""Event names of the product's original description → the webhookdoc's names."""

GENERIC_ISSUE_EVENT_TYPES: Final = frozenset(
    {
        "update_issue_work_type",
        "new_csat_rate",
        "new_files",
        "new_deadline",
        "add_coexecutor",
        "remove_coexecutor",
        "change_ticket_parameter",
        "issue.updated",
    }
)
"""Issue events parsed as a plain :class:`IssueEvent` (their own fields are not modelled)."""

DEDUP_KEY_MAX_LENGTH: Final = 255
"""Longer natural keys are replaced by the content hash (the inbox column's width)."""

_MAX_ISSUE_ID: Final = 2**63 - 1  # the inbox stores issue ids as BIGINT


class WebhookPayloadError(ValueError):
    """The body is not an Okdesk webhook (or lacks what its event type needs).

    The message names the offending fields but never repeats their values.
    """


PersonType = Literal["employee", "contact"]


def _known_person_type(value: object) -> object:
    return value if value in {"employee", "contact"} else None


class Person(OkdeskModel):
    """Someone in an event: ``author``, a client contact, an assignee's employee.

    ``type`` is ``employee`` or ``contact`` when Okdesk says so (any other value reads as
    ``None``). ``name`` is read too, for the REST-shaped ``{"id", "name"}`` references. ``id``
    may be missing (an automation rule acting, say): one odd person must not cost the event.
    """

    id: int | None = None
    type: Annotated[PersonType | None, BeforeValidator(_known_person_type)] = None
    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    name: str | None = None

    @property
    def display_name(self) -> str:
        """``last first patronymic``, else the server-built ``name``, else ``#id`` (or ``?``)."""
        parts = (self.last_name, self.first_name, self.patronymic)
        joined = " ".join(part.strip() for part in parts if part and part.strip())
        return joined or (self.name or "").strip() or ("?" if self.id is None else f"#{self.id}")

    @property
    def is_contact(self) -> bool:
        return self.type == "contact"

    @property
    def is_employee(self) -> bool:
        return self.type == "employee"


class Assignment(OkdeskModel):
    """``{group, employee}``: who an issue is assigned to (either part may be absent)."""

    group: NamedRef | None = None
    employee: Person | None = None


class WebhookClient(OkdeskModel):
    """``issue.client``: the client company and contact person of an issue."""

    company: NamedRef | None = None
    contact: Person | None = None


class WebhookComment(OkdeskModel):
    """``event.comment``; ``content`` is HTML and ``is_public`` false for internal notes."""

    id: int
    is_public: bool | None = None
    content: str = ""

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("content") is None:
            data["content"] = ""
        if data.get("is_public") is None and isinstance(data.get("public"), bool):
            data["is_public"] = data["public"]
        return data


class WebhookIssue(OkdeskModel):
    """The ``issue`` part of an issue event (partial for ``ticket_deleted``: only ``id`` is sure).

    The client is read from ``client.{company,contact}`` as documented, falling back to a
    top-level ``company``/``contact`` (or ``company_id``/``contact_id``) that one real consumer
    reads; use :attr:`contact_id` and :attr:`company_id` rather than the raw fields.
    """

    id: Annotated[int, Field(gt=0, le=_MAX_ISSUE_ID)]
    title: str | None = None
    description: str | None = None
    status: Status | None = None
    old_status: Status | None = None
    priority: Priority | None = None
    rate: str | None = None
    source: str | None = None
    client: WebhookClient | None = None
    company: NamedRef | None = None
    contact: Person | None = None
    author: Person | None = None
    assignee: Assignment | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    completed_at: Timestamp = None
    deadline_at: Timestamp = None
    parameters: Items[CustomParameter] = Field(default_factory=list)
    attachments: Items[Attachment] = Field(default_factory=list)

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        for ref in ("company", "contact"):
            ref_id = data.get(f"{ref}_id")
            if data.get(ref) is None and ref_id is not None:
                data[ref] = {"id": ref_id}
        rate = data.get("rate")
        if isinstance(rate, dict):
            data["rate"] = rate.get("value")
        return data

    @property
    def contact_id(self) -> int | None:
        """The client contact: ``client.contact.id``, else the top-level ``contact.id``."""
        if self.client is not None and self.client.contact is not None:
            return self.client.contact.id
        return self.contact.id if self.contact is not None else None

    @property
    def company_id(self) -> int | None:
        """The client company: ``client.company.id``, else the top-level ``company.id``."""
        if self.client is not None and self.client.company is not None:
            return self.client.company.id
        return self.company.id if self.company is not None else None

    @property
    def status_code(self) -> str | None:
        return self.status.code if self.status is not None else None


class _Fingerprinted(OkdeskModel):
    """An event that can name its payload by content (see `fingerprint`)."""

    # A plain default: with a default factory pydantic inspects the factory's signature for
    # every event it builds (a twentieth of a webhook's CPU).
    _payload: Mapping[str, Any] | None = PrivateAttr(default=None)

    @cached_property
    def fingerprint(self) -> str:
        """The SHA-256 of the payload's canonical JSON (sorted keys), the same for
        byte-different encodings of the same content.

        Computed when first asked for: most events have a natural dedup key and never need
        it, and serialising every payload again cost a fifth of a webhook's CPU.
        """
        return _fingerprint(
            self.model_dump(mode="json") if self._payload is None else self._payload
        )


class IssueEvent(_Fingerprinted):
    """An event about an issue; also the model of issue events without one of their own.

    ``event_type`` is the webhookdoc's name (aliases resolved); ``received_type`` is what the
    payload said. ``created_at`` is the event's own time: the webhookdoc shows none, so it is
    read only when a payload carries one.
    """

    event_type: str
    received_type: str
    issue: WebhookIssue
    author: Person | None = None
    comment: WebhookComment | None = None
    attachments: Items[Attachment] = Field(default_factory=list)
    created_at: Timestamp = None


class NewTicketEvent(IssueEvent):
    """``new_ticket``: an issue was created (``source``: from_employee, from_contact…)."""

    source: str | None = None


class StatusChangedEvent(IssueEvent):
    """``new_ticket_status``; the optional ``comment`` is the one written with the change.

    ``old_status``/``new_status`` fall back to the issue's ``old_status``/``status`` for
    payloads that only carry those.
    """

    old_status: Status | None = None
    new_status: Status

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        issue = data.get("issue")
        if isinstance(issue, dict):
            for own, issue_key in (("new_status", "status"), ("old_status", "old_status")):
                if data.get(own) is None and issue.get(issue_key) is not None:
                    data[own] = issue[issue_key]
        return data


class NewCommentEvent(IssueEvent):
    """``new_comment``: ``author.type`` tells a client's comment from an employee's."""

    comment: WebhookComment


class AssigneeChangedEvent(IssueEvent):
    """``new_assignee``."""

    old_assignee: Assignment | None = None
    new_assignee: Assignment | None = None


class TicketDeletedEvent(IssueEvent):
    """``ticket_deleted``; the issue part is partial."""


class UnknownEvent(_Fingerprinted):
    """An event type the bot does not know: to be acknowledged and ignored.

    ``event_type`` is exactly what the payload said.
    """

    event_type: str


WebhookEvent = (
    NewTicketEvent
    | StatusChangedEvent
    | NewCommentEvent
    | AssigneeChangedEvent
    | TicketDeletedEvent
    | IssueEvent
    | UnknownEvent
)
"""What :func:`parse_webhook` returns; match the specific classes before :class:`IssueEvent`."""

_EVENT_MODELS: Final[Mapping[str, type[IssueEvent]]] = {
    NEW_TICKET: NewTicketEvent,
    NEW_TICKET_STATUS: StatusChangedEvent,
    NEW_COMMENT: NewCommentEvent,
    NEW_ASSIGNEE: AssigneeChangedEvent,
    TICKET_DELETED: TicketDeletedEvent,
    **dict.fromkeys(GENERIC_ISSUE_EVENT_TYPES, IssueEvent),
}


def parse_webhook(payload: object) -> WebhookEvent:
    """Turn a decoded webhook body into its event object.

    Accepts whatever a JSON decoder produced: anything but an object with an
    ``event.event_type`` string raises :class:`WebhookPayloadError`, as does a known event
    type without the fields it needs (``issue.id``; ``comment.id`` for ``new_comment``…).
    Unknown event types give an :class:`UnknownEvent`.
    """
    if not isinstance(payload, Mapping):
        raise WebhookPayloadError(f"a webhook must be a JSON object, not {_kind(payload)}")
    event = payload.get("event")
    if not isinstance(event, Mapping):
        raise WebhookPayloadError("the webhook has no `event` object")
    received_type = event.get("event_type")
    if not isinstance(received_type, str) or not received_type.strip():
        raise WebhookPayloadError("the webhook has no `event.event_type` string")
    event_type = EVENT_TYPE_ALIASES.get(received_type, received_type)
    model = _EVENT_MODELS.get(event_type)
    parsed: IssueEvent | UnknownEvent
    if model is None:
        parsed = UnknownEvent(event_type=received_type)
    else:
        fields = {
            **event,
            "event_type": event_type,
            "received_type": received_type,
            "issue": payload.get("issue"),
        }
        try:
            parsed = model.model_validate(fields)
        except ValidationError as exc:
            raise WebhookPayloadError(_describe(event_type, exc)) from None
    parsed._payload = payload  # the fingerprint's source, set once here
    return parsed


def dedup_key(event: WebhookEvent) -> str:
    """The inbox key under which a repeated delivery of the same event is recognised.

    * ``comment:<comment id>`` for a new comment;
    * ``status:<issue id>:<new status code>:<event time>`` for a status change, the time
      being the event's own ``created_at`` or else the issue's ``updated_at``. The webhookdoc
      example carries neither; then the content hash below is used. The issue's
      ``completed_at`` is deliberately not used: it is not the time of *this* change and would
      merge, say, two reopenings of an issue completed once into one event, while the hash
      only merges payloads that are identical;
    * ``ticket:<issue id>`` and ``deleted:<issue id>``: an issue is created and deleted once;
    * otherwise ``sha256:<fingerprint>``, the hash of the canonical JSON of the payload.

    A natural key longer than :data:`DEDUP_KEY_MAX_LENGTH` (an outlandish status code) falls
    back to the hash too.
    """
    key: str | None = None
    if isinstance(event, NewCommentEvent):
        key = f"comment:{event.comment.id}"
    elif isinstance(event, StatusChangedEvent):
        moment = event.created_at or event.issue.updated_at
        if moment is not None:
            when = moment.astimezone(UTC).isoformat()
            key = f"status:{event.issue.id}:{event.new_status.code}:{when}"
    elif isinstance(event, NewTicketEvent):
        key = f"ticket:{event.issue.id}"
    elif isinstance(event, TicketDeletedEvent):
        key = f"deleted:{event.issue.id}"
    if key is None or len(key) > DEDUP_KEY_MAX_LENGTH:
        return f"sha256:{event.fingerprint}"
    return key


def _fingerprint(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON (compact, sorted keys): equal content, equal hash."""
    try:
        text = json.dumps(
            payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except (TypeError, ValueError):
        raise WebhookPayloadError("the webhook is not plain JSON data") from None
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(event_type: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] != "issue":
            loc.insert(0, "event")
        problems.append(f"{'.'.join(loc) or 'event'}: {error['msg']}")
    return f"malformed {event_type} webhook: " + "; ".join(problems)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__

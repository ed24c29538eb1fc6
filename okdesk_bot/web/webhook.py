"""`POST {WEBHOOK_PATH}?secret=…`: where Okdesk delivers its webhooks.

The endpoint only records: it authenticates the request, parses the body into a typed event
and stores the raw payload in the inbox under the event's dedup key, committed before the
answer (webhooks arriving together share a commit: `okdesk_bot.services.inbox_writer`).
Processing (and any talk to Okdesk or Telegram) happens later, in the background, so the
answer is as fast as one database write.

Answers (all JSON):

* 200 ``{"status": "accepted"}``: recorded; ``"duplicate"``: recorded before, nothing new;
  ``"ignored"``: an event type the bot does not know (recorded all the same, see `_record`);
* 401 ``{"error": "unauthorized"}``: missing or wrong ``secret`` (Okdesk signs nothing, so the
  secret travels in the URL); nothing is read or stored;
* 413: a body over :data:`MAX_BODY_BYTES`; 400: not JSON, not an object, or not a webhook;
* 503: the database is unavailable; nothing is stored and a retry (by Okdesk, or by our
  reconciliation) will succeed later. A 500 is never the answer to a database outage.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from aiohttp import web
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.repositories import NewInboxEvent
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.okdesk.webhooks import (
    IssueEvent,
    UnknownEvent,
    WebhookEvent,
    WebhookPayloadError,
    dedup_key,
    parse_webhook,
)
from okdesk_bot.services.inbox_writer import InboxWriter
from okdesk_bot.web.health import Probe

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 1024 * 1024
"""The largest webhook body accepted (the webhookdoc payloads are a few kilobytes)."""

STORE_TIMEOUT_SECONDS: Final = 10.0
"""How long recording may take before the answer is 503 (a retry is deduplicated)."""

EVENT_TYPE_MAX_LENGTH: Final = 64  # the inbox column's width


@dataclass(slots=True)
class WebhookStats:
    """Counters since the start of the process, for `/health`.

    ``received`` counts every request; each ends as exactly one of ``accepted``,
    ``duplicates``, ``ignored``, ``rejected`` (401/400/413) or ``unavailable`` (503).
    ``last_webhook_at`` is the time of the last webhook answered 200, ``last_accepted_at``
    of the last one newly recorded.
    """

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0
    rejected: int = 0
    unavailable: int = 0
    last_webhook_at: datetime | None = None
    last_accepted_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "last_webhook_at": _iso(self.last_webhook_at),
            "last_accepted_at": _iso(self.last_accepted_at),
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "rejected": self.rejected,
            "unavailable": self.unavailable,
        }


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """What the endpoint needs: its path, the secret, the database, and its counters."""

    path: str
    secret: str = field(repr=False)
    sessions: async_sessionmaker[AsyncSession]
    stats: WebhookStats = field(default_factory=WebhookStats)
    max_body_bytes: int = MAX_BODY_BYTES
    clock: Callable[[], datetime] = utcnow
    on_recorded: Callable[[], None] | None = None
    """Called after a new event is committed (wakes the inbox worker: no polling delay)."""
    writer: InboxWriter = field(init=False, repr=False)
    """Commits concurrent webhooks together (group commit)."""

    def __post_init__(self) -> None:
        if not self.secret:
            msg = "the webhook secret must not be empty"
            raise ValueError(msg)
        object.__setattr__(self, "writer", InboxWriter(self.sessions))  # frozen dataclass


WEBHOOK_KEY: Final = web.AppKey("okdesk_webhook", WebhookEndpoint)


class _RejectedError(Exception):
    """Ends a request early with an error answer (a 4xx)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def setup_webhook(app: web.Application, endpoint: WebhookEndpoint) -> None:
    """Route ``POST endpoint.path`` to the receiver (other methods get aiohttp's 405)."""
    app[WEBHOOK_KEY] = endpoint
    app.router.add_post(endpoint.path, receive_webhook)

    async def finish_writes(_app: web.Application) -> None:
        await endpoint.writer.close()  # a last batch is committed before the engine goes

    app.on_cleanup.append(finish_writes)


async def receive_webhook(request: web.Request) -> web.Response:
    """Authenticate, parse and record one webhook, then answer (see the module docstring)."""
    endpoint = request.app[WEBHOOK_KEY]
    stats = endpoint.stats
    stats.received += 1
    try:
        _authenticate(request, endpoint.secret)
        event, payload = _parse_body(await _read_body(request, endpoint.max_body_bytes))
    except _RejectedError as rejection:
        stats.rejected += 1
        return web.json_response({"error": rejection.error}, status=rejection.status)
    try:
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            stored = await _record(endpoint, event, payload)
    except (SQLAlchemyError, OSError) as exc:  # TimeoutError is an OSError
        stats.unavailable += 1
        log.error(  # no traceback: it would add nothing but the payload's data
            "Could not record an Okdesk %s webhook, answered 503: %s",
            event.event_type,
            _describe_failure(exc),
        )
        return web.json_response({"error": "unavailable"}, status=503)
    return _acknowledge(endpoint, event, stored=stored)


def _parse_body(body: bytes) -> tuple[WebhookEvent, dict[str, Any]]:
    """Decode and parse a body: the event and the payload object to store.

    Strict JSON only: ``NaN``/``Infinity`` are refused (no database stores them as JSON).
    """
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except ValueError:  # also UnicodeDecodeError
        log.warning("Rejected an Okdesk webhook: the body is not JSON")
        raise _RejectedError(400, "the body is not JSON") from None
    try:
        return parse_webhook(payload), payload
    except WebhookPayloadError as exc:
        log.warning("Rejected an Okdesk webhook: %s", exc)
        raise _RejectedError(400, str(exc)) from None


def webhook_probe(endpoint: WebhookEndpoint) -> Probe:
    """The ``webhooks`` health component: the counters and the inbox backlog."""

    async def probe() -> Mapping[str, Any]:
        now = endpoint.clock()
        async with UnitOfWork(endpoint.sessions) as uow:
            inbox = await uow.inbox.stats(now=now)
        oldest = inbox.oldest_pending_age
        return {
            **endpoint.stats.as_json(),
            "inbox_pending": inbox.pending,
            "inbox_failed": inbox.failed,
            "inbox_oldest_pending_seconds": None
            if oldest is None
            else round(oldest.total_seconds(), 1),
        }

    return probe


def _authenticate(request: web.Request, secret: str) -> None:
    # The parameter of the URL `services.webhook_secret.webhook_endpoint_url` gives admins.
    presented = request.query.get("secret")
    if presented is not None and hmac.compare_digest(presented.encode(), secret.encode()):
        return
    log.warning(
        "Rejected an Okdesk webhook from %s: %s secret",
        request.remote,
        "no" if presented is None else "wrong",
    )
    raise _RejectedError(401, "unauthorized")


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 when it is (or says it is) over ``limit`` bytes.

    The app's ``client_max_size`` (see `create_web_app`) stops reading at the limit; the final
    check keeps the limit even in an app that allows more.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(limit) from None
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _too_large(limit: int) -> _RejectedError:
    log.warning("Rejected an Okdesk webhook: the body is over %s bytes", limit)
    return _RejectedError(413, f"the body is over {limit} bytes")


async def _record(endpoint: WebhookEndpoint, event: WebhookEvent, payload: dict[str, Any]) -> bool:
    """Store the raw payload in the inbox; False if its dedup key was already there.

    Unknown event types are stored too, with no issue id (so they hold back nothing): the raw
    payload shows an admin what Okdesk sends, and a later version of the bot can process it.
    Processing parses them as `UnknownEvent` again and marks them ignored.
    """
    return await endpoint.writer.record(
        NewInboxEvent(
            dedup_key=dedup_key(event),
            event_type=event.event_type[:EVENT_TYPE_MAX_LENGTH],
            payload=payload,
            received_at=endpoint.clock(),
            okdesk_issue_id=event.issue.id if isinstance(event, IssueEvent) else None,
        )
    )


def _acknowledge(endpoint: WebhookEndpoint, event: WebhookEvent, *, stored: bool) -> web.Response:
    stats = endpoint.stats
    now = endpoint.clock()
    stats.last_webhook_at = now
    if isinstance(event, UnknownEvent):
        stats.ignored += 1
        log.info("Ignored an Okdesk webhook of unknown type %r", event.event_type)
        return web.json_response({"status": "ignored"})
    if not stored:
        stats.duplicates += 1
        log.info("Okdesk %s webhook for issue %s: a duplicate", event.event_type, event.issue.id)
        return web.json_response({"status": "duplicate"})
    stats.accepted += 1
    stats.last_accepted_at = now
    log.info("Okdesk %s webhook for issue %s: recorded", event.event_type, event.issue.id)
    if endpoint.on_recorded is not None:
        endpoint.on_recorded()
    return web.json_response({"status": "accepted"})


def _refuse_constant(name: str) -> Any:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def _describe_failure(exc: Exception) -> str:
    """The driver's own message when there is one (SQLAlchemy's adds the SQL and its data)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {STORE_TIMEOUT_SECONDS:g} s"
    return f"{type(exc).__name__}: {exc}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()

"""The inbox worker: turns recorded Okdesk events into queued notices, through Okdesk outages.

Events are claimed in small batches and processed concurrently: a batch holds at most one
event per issue, since the claim keeps each issue's events in order. When Okdesk cannot
confirm an event, the event goes back to the inbox with exponential backoff. After
``max_attempts`` it is marked failed with the reason, so an admin can see it, and it stops
holding back later events about its issue.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.config import Settings
from okdesk_bot.db.base import utcnow
from okdesk_bot.db.engine import to_async_url
from okdesk_bot.db.models import InboxEvent
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.okdesk import OkdeskClient, OkdeskError
from okdesk_bot.services.leadership import LeaderOnly, LeaseElection
from okdesk_bot.services.notifications import (
    NoticeRenderer,
    NotificationService,
    Outcome,
    UnreadableEventError,
)
from okdesk_bot.services.reconciliation import Reconciler
from okdesk_bot.texts import Texts
from okdesk_bot.workers import Worker

log = logging.getLogger(__name__)

BATCH_SIZE: Final = 16
LEASE: Final = timedelta(minutes=2)
"""Longer than confirming an event can take (two Okdesk reads with the client's retries)."""
IDLE_DELAY_SECONDS: Final = 0.1
RETRY_DELAY_CAP_SECONDS: Final = 1800.0
RECONCILIATION_LEASE: Final = "reconciliation"
"""The lease (`okdesk_bot.services.leadership`) whose holder alone reconciles."""


def retry_delay(attempt: int, *, first: float, cap: float = RETRY_DELAY_CAP_SECONDS) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    The delay doubles from ``first`` up to ``cap``. A random half of it is jitter, so events
    that failed together do not all come back at the same moment.
    """
    ceiling = min(cap, first * 2.0 ** max(attempt - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not cryptography


class InboxWorker:
    """Claims due inbox events and hands each to :class:`NotificationService`."""

    name = "notification-inbox"

    def __init__(
        self,
        service: NotificationService,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_attempts: int,
        first_retry_delay: float,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
        idle_delay: float = IDLE_DELAY_SECONDS,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._service = service
        self._on_queued = on_queued
        self._work = asyncio.Event()
        self._sessions = sessions
        self._max_attempts = max_attempts
        self._first_retry_delay = first_retry_delay
        self._clock = clock
        self._batch_size = batch_size
        self._lease = lease
        self._idle_delay = idle_delay

    def wake(self) -> None:
        """A new event was recorded: process it now rather than at the next poll."""
        self._work.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._work.clear()
            if await self.process_due():
                continue
            if await self._idle(stop):
                return

    async def _idle(self, stop: asyncio.Event) -> bool:
        """Wait for a wake-up or the next poll (due retries need polling); True on stop."""
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._work.wait())}
        try:
            await asyncio.wait(
                waiters, timeout=self._idle_delay, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        return stop.is_set()

    async def process_due(self) -> int:
        """Process one batch of due events; returns how many were claimed."""
        async with UnitOfWork(self._sessions) as uow:
            events = await uow.inbox.claim_due(
                limit=self._batch_size, now=self._clock(), lease=self._lease
            )
            await uow.commit()
        claimed = len(events)
        try:
            events = await self._service.settle_unfollowed(events)
        except SQLAlchemyError as exc:  # each event on its own, then
            log.warning("Could not settle a batch of inbox events at once: %s", exc)
        async with asyncio.TaskGroup() as group:
            for event in events:
                group.create_task(self._process(event))
        return claimed

    async def _process(self, event: InboxEvent) -> None:
        try:
            outcome = await self._service.process(event)
        except UnreadableEventError as exc:
            await self._fail(event, f"unreadable payload: {exc}")
        except OkdeskError as exc:
            await self._retry_or_fail(event, f"Okdesk: {exc.message}")
        except Exception as exc:
            log.exception("Inbox event %s could not be processed", event.id)
            await self._retry_or_fail(event, f"internal error: {type(exc).__name__}")
        else:
            if outcome is Outcome.NOTIFIED and self._on_queued is not None:
                self._on_queued()  # notices are queued: the sender takes them now

    async def _retry_or_fail(self, event: InboxEvent, reason: str) -> None:
        if event.attempts >= self._max_attempts:
            await self._fail(event, f"{reason} (gave up after {event.attempts} attempts)")
            return
        delay = retry_delay(event.attempts, first=self._first_retry_delay)
        log.warning(
            "Inbox event %s (issue %s), attempt %s failed, retrying in %.1f s: %s",
            event.id,
            event.okdesk_issue_id,
            event.attempts,
            delay,
            reason,
        )
        async with UnitOfWork(self._sessions) as uow:
            next_attempt_at = self._clock() + timedelta(seconds=delay)
            await uow.inbox.mark_retry(event.id, next_attempt_at=next_attempt_at, error=reason)
            await uow.commit()

    async def _fail(self, event: InboxEvent, reason: str) -> None:
        log.error("Inbox event %s (issue %s) failed: %s", event.id, event.okdesk_issue_id, reason)
        async with UnitOfWork(self._sessions) as uow:
            await uow.inbox.mark_failed(event.id, now=self._clock(), error=reason)
            await uow.commit()


def notification_workers(
    settings: Settings,
    *,
    texts: Texts,
    okdesk: OkdeskClient,
    sessions: async_sessionmaker[AsyncSession],
    on_queued: Callable[[], None] | None = None,
) -> tuple[InboxWorker, list[Worker]]:
    """The pipeline's workers for ``NOTIFY_MODE``: the inbox worker (also returned apart, to be
    woken by the webhook endpoint), and reconciliation unless webhooks are the only source."""
    service = NotificationService(
        okdesk=okdesk, sessions=sessions, renderer=NoticeRenderer(texts, settings.issue_url)
    )
    lease = timedelta(seconds=settings.notify_lease)
    inbox = InboxWorker(
        service,
        sessions,
        max_attempts=settings.notify_confirm_max_attempts,
        first_retry_delay=settings.notify_confirm_retry_delay,
        lease=lease,
        on_queued=on_queued,
    )
    workers: list[Worker] = [inbox]
    if settings.notify_mode.polls:
        reconciler = Reconciler(okdesk, sessions, interval=settings.notify_poll_interval)
        workers.append(_one_at_a_time(reconciler, settings, sessions, lease))
    return inbox, workers


def _one_at_a_time(
    reconciler: Reconciler,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    lease: timedelta,
) -> Worker:
    """On a shared database (PostgreSQL) only the instance holding the lease reconciles; a
    SQLite file has one process, which needs no election."""
    if make_url(to_async_url(settings.database_url)).get_backend_name() == "sqlite":
        return reconciler
    return LeaderOnly(reconciler, LeaseElection(sessions, RECONCILIATION_LEASE, lease=lease))

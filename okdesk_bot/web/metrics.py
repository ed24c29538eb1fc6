"""`GET /metrics` (Prometheus text format) and the `outbox` component of `/health`.

Counters come from the process's own tallies (`WebhookStats`, `DeliveryStats`) and restart at
zero with the process, as Prometheus expects; gauges are read from the database on each scrape.
Each scrape renders a registry of its own, so nothing global is shared between applications
(or tests). When the database cannot be read the counters are still served, the queue gauges
are left out and `okdesk_bot_database_up` is 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.repositories import InboxStats, OutboxStats
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.services.outbox_worker import DeliveryStats
from okdesk_bot.web.health import Probe
from okdesk_bot.web.webhook import WebhookStats

log = logging.getLogger(__name__)

PREFIX: Final = "okdesk_bot"


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """The inbox and outbox as the database sees them now."""

    inbox: InboxStats
    outbox: OutboxStats


async def read_queues(sessions: async_sessionmaker[AsyncSession], now: datetime) -> QueueFigures:
    async with UnitOfWork(sessions) as uow:
        return QueueFigures(
            inbox=await uow.inbox.stats(now=now), outbox=await uow.outbox.stats(now=now)
        )


def outbox_probe(
    sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime] = utcnow
) -> Probe:
    """The ``outbox`` health component: messages to send, parked, dead, and the oldest's age."""

    async def probe() -> Mapping[str, Any]:
        async with UnitOfWork(sessions) as uow:
            outbox = await uow.outbox.stats(now=clock())
        return {
            "depth": outbox.depth,
            "parked": outbox.parked,
            "dead": outbox.dead,
            "oldest_undelivered_seconds": _seconds(outbox.oldest_pending_age),
        }

    return probe


@dataclass(frozen=True, slots=True)
class MetricsEndpoint:
    """What `/metrics` reads: the process's counters and the database."""

    sessions: async_sessionmaker[AsyncSession]
    webhooks: WebhookStats
    delivery: DeliveryStats
    clock: Callable[[], datetime] = field(default=utcnow)


METRICS_KEY: Final = web.AppKey("metrics", MetricsEndpoint)


def setup_metrics(app: web.Application, endpoint: MetricsEndpoint) -> None:
    """Route ``GET /metrics``."""
    app[METRICS_KEY] = endpoint
    app.router.add_get("/metrics", serve_metrics)


async def serve_metrics(request: web.Request) -> web.Response:
    endpoint = request.app[METRICS_KEY]
    queues: QueueFigures | None
    try:
        queues = await read_queues(endpoint.sessions, endpoint.clock())
    except (SQLAlchemyError, OSError) as exc:
        log.warning("Metrics without queue figures: the database failed (%s)", type(exc).__name__)
        queues = None
    body = render_metrics(endpoint.webhooks, endpoint.delivery, queues)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def render_metrics(
    webhooks: WebhookStats, delivery: DeliveryStats, queues: QueueFigures | None
) -> bytes:
    """The figures in the Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(webhooks, delivery, queues))
    return generate_latest(registry)


@dataclass(frozen=True, slots=True, eq=False)  # a registry keys its collectors by identity
class _Snapshot:
    """A prometheus_client collector over the figures of one scrape."""

    webhooks: WebhookStats
    delivery: DeliveryStats
    queues: QueueFigures | None

    def collect(self) -> Iterator[Metric]:
        hooks, sent = self.webhooks, self.delivery
        yield _counter("webhooks_received", "Okdesk webhook requests received", hooks.received)
        yield _counter("webhooks_accepted", "Okdesk webhooks newly recorded", hooks.accepted)
        yield _counter(
            "webhooks_rejected", "Webhooks refused: wrong secret, bad body", hooks.rejected
        )
        yield _counter("webhooks_duplicates", "Webhooks recorded before", hooks.duplicates)
        yield _counter("notices_sent", "Notifications Telegram accepted", sent.sent)
        yield _counter("notices_retried", "Sends that failed for now, retried later", sent.retried)
        yield _counter("notices_dead", "Notifications given up on (dead letters)", sent.dead)
        yield _counter("notices_parked", "Sends refused because the bot is blocked", sent.parked)
        yield _counter("telegram_flood_waits", "429 answers from Telegram", sent.flood_waits)
        yield _gauge("database_up", "Whether the database answered", int(self.queues is not None))
        if self.queues is not None:
            yield from _queue_gauges(self.queues)


def _queue_gauges(queues: QueueFigures) -> Iterator[Metric]:
    outbox, inbox = queues.outbox, queues.inbox
    yield _gauge(
        "outbox_depth", "Notifications waiting to be sent (incl. in flight)", outbox.depth
    )
    yield _gauge("outbox_parked", "Notifications held while the bot is blocked", outbox.parked)
    yield _gauge("outbox_dead", "Dead letters", outbox.dead)
    yield _gauge(
        "outbox_lag_seconds",
        "Age of the oldest notification waiting to be sent",
        _seconds(outbox.oldest_pending_age) or 0.0,
    )
    yield _gauge("inbox_pending", "Okdesk events not processed yet", inbox.pending)
    yield _gauge("inbox_failed", "Okdesk events given up on", inbox.failed)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


def _seconds(age: timedelta | None) -> float | None:
    return None if age is None else round(age.total_seconds(), 1)

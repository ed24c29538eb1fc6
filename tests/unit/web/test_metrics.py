"""The Prometheus exposition of `/metrics`, rendered from figures."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from okdesk_bot.db.repositories import InboxStats, OutboxStats
from okdesk_bot.services.outbox_worker import DeliveryStats
from okdesk_bot.web.metrics import QueueFigures, render_metrics
from okdesk_bot.web.webhook import WebhookStats


def samples(exposition: bytes) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
    }


def test_counters_and_queue_gauges_are_exposed() -> None:
    webhooks = WebhookStats(received=7, accepted=4, duplicates=1, rejected=2)
    delivery = DeliveryStats(sent=5, retried=3, dead=1, parked=2, flood_waits=4)
    queues = QueueFigures(
        inbox=InboxStats(pending=2, failed=1, oldest_pending_age=timedelta(seconds=3)),
        outbox=OutboxStats(depth=6, parked=2, dead=1, oldest_pending_age=timedelta(seconds=12.34)),
    )

    shown = samples(render_metrics(webhooks, delivery, queues))

    assert shown == {
        "okdesk_bot_webhooks_received_total": 7,
        "okdesk_bot_webhooks_accepted_total": 4,
        "okdesk_bot_webhooks_rejected_total": 2,
        "okdesk_bot_webhooks_duplicates_total": 1,
        "okdesk_bot_notices_sent_total": 5,
        "okdesk_bot_notices_retried_total": 3,
        "okdesk_bot_notices_dead_total": 1,
        "okdesk_bot_notices_parked_total": 2,
        "okdesk_bot_telegram_flood_waits_total": 4,
        "okdesk_bot_database_up": 1,
        "okdesk_bot_outbox_depth": 6,
        "okdesk_bot_outbox_parked": 2,
        "okdesk_bot_outbox_dead": 1,
        "okdesk_bot_outbox_lag_seconds": 12.3,
        "okdesk_bot_inbox_pending": 2,
        "okdesk_bot_inbox_failed": 1,
    }


def test_without_the_database_the_counters_are_still_served() -> None:
    shown = samples(render_metrics(WebhookStats(received=1), DeliveryStats(sent=2), None))

    assert shown["okdesk_bot_database_up"] == 0
    assert shown["okdesk_bot_webhooks_received_total"] == 1
    assert shown["okdesk_bot_notices_sent_total"] == 2
    assert not any(name.startswith(("okdesk_bot_outbox", "okdesk_bot_inbox")) for name in shown)

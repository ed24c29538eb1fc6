"""The aiohttp application: Okdesk webhook endpoint, health, Telegram's webhook in that mode."""

from __future__ import annotations

from aiohttp import web

from okdesk_bot.web.health import HEALTH_KEY, HealthRegistry, health
from okdesk_bot.web.telegram_webhook import TelegramWebhookEndpoint, setup_telegram_webhook
from okdesk_bot.web.webhook import WebhookEndpoint, setup_webhook, webhook_probe


def create_web_app(
    *,
    health_registry: HealthRegistry,
    webhook: WebhookEndpoint,
    telegram: TelegramWebhookEndpoint | None = None,
) -> web.Application:
    """`GET /health` and `POST {webhook.path}`; adds the `webhooks` probe to the registry.

    With `telegram` (webhook mode), also `POST {telegram.path}` for Telegram's updates.

    Request bodies are capped at the webhook's limit (nothing else here takes a body).
    """
    app = web.Application(client_max_size=webhook.max_body_bytes)
    app[HEALTH_KEY] = health_registry
    app.router.add_get("/health", health)
    setup_webhook(app, webhook)
    if telegram is not None:
        setup_telegram_webhook(app, telegram)
    health_registry.add("webhooks", webhook_probe(webhook))
    return app

"""Webhook secrets: the one Okdesk sends back in the webhook URL (Okdesk does not sign webhooks)
and the `secret_token` Telegram sends in a header in webhook mode."""

from __future__ import annotations

import secrets

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.config import Settings
from okdesk_bot.db.uow import UnitOfWork

STATE_KEY = "webhook_secret"  # the app_state row holding a generated secret
TELEGRAM_STATE_KEY = "telegram_webhook_secret"  # the row of a generated Telegram secret_token
MASK = "***"


def generate_secret() -> str:
    """256 bits, URL-safe: fits a query string without encoding."""
    return secrets.token_urlsafe(32)


async def ensure_webhook_secret(
    sessions: async_sessionmaker[AsyncSession],
    configured: SecretStr | None,
    *,
    key: str = STATE_KEY,
) -> str:
    """The configured secret when set; otherwise the one generated on first start and kept
    under `key` (one instance generates it, every other reads the same row)."""
    if configured is not None:
        return configured.get_secret_value()
    async with UnitOfWork(sessions) as uow:
        secret = await uow.app_state.get_or_create(key, generate_secret)
        await uow.commit()
    return secret


def webhook_endpoint_url(settings: Settings, secret: str | None) -> str:
    """The URL to paste into Okdesk; with `secret=None` the secret is masked for logs."""
    base = settings.webhook_url or f"http://{settings.host}:{settings.port}"
    return f"{base}{settings.webhook_path}?secret={secret if secret is not None else MASK}"

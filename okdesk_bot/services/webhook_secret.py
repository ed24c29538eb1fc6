"""The secret Okdesk sends back in the webhook URL (Okdesk does not sign webhooks)."""

from __future__ import annotations

import secrets

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.config import Settings
from okdesk_bot.db.uow import UnitOfWork

STATE_KEY = "webhook_secret"  # the app_state row holding a generated secret
MASK = "***"


def generate_secret() -> str:
    """256 bits, URL-safe: fits a query string without encoding."""
    return secrets.token_urlsafe(32)


async def ensure_webhook_secret(
    sessions: async_sessionmaker[AsyncSession], configured: SecretStr | None
) -> str:
    """`WEBHOOK_SECRET` when set; otherwise the one generated on first start and kept."""
    if configured is not None:
        return configured.get_secret_value()
    async with UnitOfWork(sessions) as uow:
        secret = await uow.app_state.get_or_create(STATE_KEY, generate_secret)
        await uow.commit()
    return secret


def webhook_endpoint_url(settings: Settings, secret: str | None) -> str:
    """The URL to paste into Okdesk; with `secret=None` the secret is masked for logs."""
    base = settings.webhook_url or f"http://{settings.host}:{settings.port}"
    return f"{base}{settings.webhook_path}?secret={secret if secret is not None else MASK}"

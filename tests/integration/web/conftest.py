"""A running web app (health + Okdesk webhook endpoint) over the test database."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.models import InboxEvent
from okdesk_bot.web.app import create_web_app
from okdesk_bot.web.health import HealthRegistry
from okdesk_bot.web.webhook import WebhookEndpoint

SECRET = "s3cr3t-Hook_Value"  # a query-safe value, like the generated ones
PATH = "/okdesk/webhook"

WebClient = TestClient[web.Request, web.Application]


def hook_url(secret: str | None = SECRET) -> str:
    return PATH if secret is None else f"{PATH}?secret={secret}"


@pytest.fixture
def endpoint(session_factory: async_sessionmaker[AsyncSession], now: datetime) -> WebhookEndpoint:
    return WebhookEndpoint(path=PATH, secret=SECRET, sessions=session_factory, clock=lambda: now)


def unused_port() -> int:
    """A local port nobody listens on (bound by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def serve(endpoint: WebhookEndpoint) -> WebClient:
    """A started client of a fresh app on an OS-chosen port (close it when done)."""
    app = create_web_app(health_registry=HealthRegistry(), webhook=endpoint)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(endpoint: WebhookEndpoint) -> AsyncIterator[WebClient]:
    web_client = await serve(endpoint)
    yield web_client
    await web_client.close()


async def inbox_rows(sessions: async_sessionmaker[AsyncSession]) -> list[InboxEvent]:
    async with sessions() as session:
        return list(await session.scalars(select(InboxEvent).order_by(InboxEvent.id)))

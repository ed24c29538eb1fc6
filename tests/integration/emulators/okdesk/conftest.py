"""Fixtures: a running Okdesk emulator, HTTP clients for it and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from tests.integration.emulators.okdesk.support import CONTACT_TOKEN, TOKEN, WebhookReceiver


@pytest.fixture
async def emulator() -> AsyncIterator[OkdeskEmulator]:
    emu = OkdeskEmulator(api_token=TOKEN, contact_api_token=CONTACT_TOKEN, fault_seed=1)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def api(emulator: OkdeskEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``/api/v1`` that sends the employee token with every request."""
    async with httpx.AsyncClient(
        base_url=emulator.api_url, params={"api_token": TOKEN}, timeout=5
    ) as client:
        yield client


@pytest.fixture
async def web_client(emulator: OkdeskEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the emulator's root (staff API, web pages, file links), no token."""
    async with httpx.AsyncClient(base_url=emulator.base_url, timeout=5) as client:
        yield client


@pytest.fixture
async def receiver(emulator: OkdeskEmulator) -> AsyncIterator[WebhookReceiver]:
    """A webhook endpoint already configured as the emulator's only target."""
    hook = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/hook?secret=s3"
    emulator.set_webhook_urls([hook.url])
    yield hook
    await runner.cleanup()

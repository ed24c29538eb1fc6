"""Constants and helpers shared by the Okdesk emulator tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Query = Mapping[str, str | int | Sequence[str | int]]
"""Query parameters as the tests pass them to httpx."""

TOKEN = "employee-token"
CONTACT_TOKEN = "contact-token"


@dataclass
class WebhookReceiver:
    """A real HTTP endpoint that records what the emulator POSTs to it."""

    url: str = ""
    status: int = 200
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    """When set, answers wait for this event (a slow receiver)."""

    async def handle(self, request: web.Request) -> web.Response:
        if self.hold is not None:
            await self.hold.wait()
        self.bodies.append(await request.json())
        self.headers.append(dict(request.headers))
        return web.Response(status=self.status, text="ok")

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [body for body in self.bodies if body["event"]["event_type"] == event_type]

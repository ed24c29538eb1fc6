"""`GET /health`: what an orchestrator or an admin needs to know about the running service."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from okdesk_bot import __version__

# A probe returns details to show (JSON-serialisable); raising means the component is down.
Probe = Callable[[], Awaitable[Mapping[str, Any]]]


@dataclass(slots=True)
class HealthRegistry:
    """Named probes; the service is healthy when every probe passes."""

    started_at: float = field(default_factory=time.monotonic)
    probes: dict[str, Probe] = field(default_factory=dict)

    def add(self, name: str, probe: Probe) -> None:
        self.probes[name] = probe

    async def report(self) -> tuple[bool, dict[str, Any]]:
        healthy = True
        components: dict[str, Any] = {}
        for name, probe in self.probes.items():
            try:
                details = await probe()
            except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
                healthy = False
                components[name] = {"status": "error", "error": type(exc).__name__}
            else:
                components[name] = {"status": "ok", **details}
        return healthy, {
            "status": "ok" if healthy else "error",
            "version": __version__,
            "uptime_seconds": round(time.monotonic() - self.started_at, 1),
            "components": components,
        }


HEALTH_KEY = web.AppKey("health", HealthRegistry)


async def health(request: web.Request) -> web.Response:
    healthy, body = await request.app[HEALTH_KEY].report()
    return web.json_response(body, status=200 if healthy else 503)

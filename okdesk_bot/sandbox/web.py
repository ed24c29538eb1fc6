"""The sandbox page's own HTTP server: the page, a pass-through to the emulators, a live stream.

Routes:

=========  ==========================  ========================================================
GET        /                           the page (``static/index.html``)
GET        /static/{file}              its scripts and styles (no build step, nothing external)
GET        /api/sandbox                who the client is, the bot, the Okdesk statuses
GET        /api/events                 Server-Sent Events: ``chat``, ``tickets``, ``webhooks``
any        /telegram/_user/{path}      passed through to the Telegram emulator's ``/_user/``
any        /okdesk/_staff/{path}       passed through to the Okdesk emulator's ``/_staff/``
=========  ==========================  ========================================================

Everything a person does on the page is a request to the emulators' own person and staff APIs,
relayed over HTTP unchanged, so the bot sees exactly what it would see in production. The
relay exists only so the page has one origin (the emulators send no CORS headers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from yarl import URL

from okdesk_bot.sandbox.feed import LiveFeed

log = logging.getLogger(__name__)

STATIC_DIR: Final = Path(__file__).with_name("static")
KEEPALIVE_SECONDS: Final = 15.0
RELAY_TIMEOUT_SECONDS: Final = 75.0
"""Longer than the longest wait the person API offers (60 s)."""

# The page may load and call only itself: no CDN, no inline script, no third-party request.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_RELAYED_HEADERS: Final = ("Content-Type", "Content-Disposition")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class PageConfig:
    """What the page needs to know once: the client it plays, the bot, the Okdesk statuses."""

    client: Mapping[str, Any]
    bot: Mapping[str, Any]
    statuses: list[Mapping[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"client": dict(self.client), "bot": dict(self.bot), "statuses": self.statuses}


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Base URLs of the emulators the page's actions are relayed to."""

    telegram: str
    okdesk: str


def create_page_app(
    *, config: PageConfig, feed: LiveFeed, http: aiohttp.ClientSession, upstreams: Upstreams
) -> web.Application:
    """The page server; it closes the live streams when it shuts down."""
    app = web.Application()
    app.on_response_prepare.append(_security_headers)
    relay = _Relay(http)

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def sandbox(_request: web.Request) -> web.Response:
        return web.json_response(config.as_json(), dumps=_dumps)

    async def events(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, feed)

    async def close_streams(_app: web.Application) -> None:
        feed.close()

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC_DIR)
    app.router.add_get("/api/sandbox", sandbox)
    app.router.add_get("/api/events", events)
    app.router.add_route(
        "*", "/telegram/_user/{path:.*}", relay.to(upstreams.telegram, "/telegram")
    )
    app.router.add_route("*", "/okdesk/_staff/{path:.*}", relay.to(upstreams.okdesk, "/okdesk"))
    app.on_shutdown.append(close_streams)
    return app


async def stream_events(request: web.Request, feed: LiveFeed) -> web.StreamResponse:
    """Send every part at once, then each part again whenever it changes, until either side
    goes away. A comment line every :data:`KEEPALIVE_SECONDS` keeps proxies from closing it."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    sent: dict[str, str] = {}
    try:
        await response.write(b"retry: 1000\n\n")
        while not feed.closed:
            version = feed.version
            fresh = {name: text for name, text in feed.parts().items() if sent.get(name) != text}
            for name, text in fresh.items():
                await response.write(f"event: {name}\ndata: {text}\n\n".encode())
            sent.update(fresh)
            if await feed.wait_for_change(version, KEEPALIVE_SECONDS) == version:
                await response.write(b": keep-alive\n\n")
    except ConnectionResetError:
        log.debug("Sandbox: a live stream's browser went away")
    return response


class _Relay:
    """Passes a request through to an emulator and its answer back, unchanged."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http

    def to(self, base_url: str, prefix: str) -> Handler:
        async def relay(request: web.Request) -> web.Response:
            path = request.rel_url.raw_path_qs.removeprefix(prefix)
            return await self._forward(request, URL(base_url + path, encoded=True))

        return relay

    async def _forward(self, request: web.Request, url: URL) -> web.Response:
        body = await request.read() if request.body_exists else None
        headers = {"Content-Type": request.content_type} if body else {}
        try:
            async with self._http.request(
                request.method,
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=RELAY_TIMEOUT_SECONDS),
            ) as answer:
                payload = await answer.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Sandbox: %s %s failed: %s", request.method, url.path, exc)
            return web.json_response({"error": f"the emulator did not answer: {exc}"}, status=502)
        relayed = {
            name: answer.headers[name] for name in _RELAYED_HEADERS if name in answer.headers
        }
        return web.Response(status=answer.status, body=payload, headers=relayed)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.path == "/" or request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-cache"  # an edited script shows on reload


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)

"""What the sandbox page shows, read from the emulators' own HTTP APIs and pushed on change.

One :class:`LiveFeed` per sandbox polls three read-only routes a few times a second: the client's
chat (``GET /_user/users/{id}/messages``), the tickets (``GET /_staff/issues``) and the webhook
delivery log (``GET /_staff/webhooks/log``). Each becomes a *part* of the page; when a part's JSON
changes, the feed's version moves on and every waiting stream (see :mod:`.web`) sends the parts
its browser has not seen yet. Polling local HTTP is simple and cannot miss a change that happens
between two notifications.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any, Final

import aiohttp

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS: Final = 0.25
WEBHOOK_LOG_LIMIT: Final = 200
"""The newest deliveries the page shows; older ones stay in the emulator's log."""

_SECRET_IN_URL: Final = re.compile(r"(secret=)[^&#]*")

Json = Any


def current_keyboard(messages: Sequence[Mapping[str, Json]]) -> Json:
    """The reply keyboard a Telegram client shows under the input field, or ``None``.

    As in a real client, it is the one of the newest bot message that set a keyboard or removed
    it (`ReplyKeyboardRemove`); messages without a reply keyboard leave it as it was.
    """
    for message in reversed(messages):
        markup = message.get("reply_markup") if message.get("from_bot") else None
        if not isinstance(markup, Mapping):
            continue
        if "keyboard" in markup:
            return dict(markup)
        if markup.get("remove_keyboard"):
            return None
    return None


def mask_secret(url: str) -> str:
    """The webhook URL as the page shows it: ``…?secret=***`` (the log filter does the same)."""
    return _SECRET_IN_URL.sub(r"\1***", url)


def chat_part(messages: Sequence[Mapping[str, Json]]) -> Json:
    return {"messages": list(messages), "keyboard": current_keyboard(messages)}


def webhooks_part(deliveries: Sequence[Mapping[str, Json]]) -> Json:
    """The newest deliveries first, their URLs masked."""
    newest = list(deliveries)[-WEBHOOK_LOG_LIMIT:]
    return [{**delivery, "url": mask_secret(str(delivery.get("url", "")))} for delivery in newest][
        ::-1
    ]


class LiveFeed:
    """The page's parts (``chat``, ``tickets``, ``webhooks``) and a version that moves on change.

    ``telegram_url`` and ``okdesk_url`` are the emulators' base URLs; ``client_id`` is the
    Telegram user whose chat the page shows.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        telegram_url: str,
        okdesk_url: str,
        client_id: int,
        interval: float = POLL_INTERVAL_SECONDS,
    ) -> None:
        self._http = http
        self._sources = {
            "chat": f"{telegram_url}/_user/users/{client_id}/messages",
            "tickets": f"{okdesk_url}/_staff/issues",
            "webhooks": f"{okdesk_url}/_staff/webhooks/log",
        }
        self._interval = interval
        self._parts: dict[str, str] = {}
        self._version = 0
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def version(self) -> int:
        """Moves on every time a part changes."""
        return self._version

    @property
    def closed(self) -> bool:
        return self._closed

    def parts(self) -> dict[str, str]:
        """Each part's current JSON text (parts not read yet are absent)."""
        return dict(self._parts)

    async def refresh(self) -> None:
        """Read every source once and publish what changed."""
        changed = False
        for name, url in self._sources.items():
            text = await self._read(name, url)
            if text is not None and self._parts.get(name) != text:
                self._parts[name] = text
                changed = True
        if changed:
            self._publish()

    async def run(self) -> None:
        """Refresh until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self._interval)

    async def wait_for_change(self, seen: int, keepalive: float) -> int:
        """The version once it differs from ``seen``; ``seen`` after ``keepalive`` s or close."""
        if self._version == seen and not self._closed:
            with suppress(TimeoutError):
                async with asyncio.timeout(keepalive):
                    await self._changed.wait()
        return self._version

    def close(self) -> None:
        """Wake every waiting stream so it can end (the page server is stopping)."""
        self._closed = True
        self._changed.set()

    def _publish(self) -> None:
        self._version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _read(self, name: str, url: str) -> str | None:
        try:
            async with self._http.get(url) as response:
                response.raise_for_status()
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.debug("Sandbox: could not read %s: %s", name, exc)
            return None
        return _dump(_shape(name, data))


def _shape(name: str, data: Json) -> Json:
    if name == "chat":
        return chat_part(data)
    if name == "webhooks":
        return webhooks_part(data)
    return data


def _dump(data: Json) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

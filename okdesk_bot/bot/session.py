"""What the Bot's HTTP session adds to aiogram: patience with Telegram's flood control.

aiogram raises `TelegramRetryAfter` on a 429 and retries nothing. An answer to a person
(a handler's reply) that Telegram refused with 429 was certainly not delivered, so it is sent
again after `retry_after` (a few times, for short waits). Notifications are not retried here:
the outbox worker pauses all sending on a 429 itself, and this middleware only acts while an
update is being handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)

_HANDLING_UPDATE: ContextVar[bool] = ContextVar("okdesk_bot_handling_update", default=False)


@contextmanager
def handling_update() -> Iterator[None]:
    """Mark the requests made inside the block as answers to a person."""
    token = _HANDLING_UPDATE.set(True)
    try:
        yield
    finally:
        _HANDLING_UPDATE.reset(token)


class FloodWaitMiddleware(BaseRequestMiddleware):
    """Sends a handler's request again after Telegram's `retry_after` (bounded)."""

    def __init__(self, *, attempts: int = 3, max_wait: float = 30.0) -> None:
        self._attempts = attempts
        self._max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if (
                    not _HANDLING_UPDATE.get()
                    or attempt >= self._attempts
                    or exc.retry_after > self._max_wait
                ):
                    raise
                log.info(
                    "Telegram asked to wait %s s before %s; waiting",
                    exc.retry_after,
                    type(method).__name__,
                )
                await asyncio.sleep(exc.retry_after)
                attempt += 1

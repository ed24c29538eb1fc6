"""Webhook delivery: POST each pending update, in order, retrying non-2xx with backoff.

Like Telegram, the emulator sends the update JSON with `X-Telegram-Bot-Api-Secret-Token` when
a secret is set, confirms the update only on a 2xx answer and keeps retrying the same update
(later ones wait behind it) otherwise. A 2xx answer may carry a Bot API call (JSON with a
`method` field or a multipart form, as aiogram's webhook handler sends); it is carried out and
its result discarded. Unlike Telegram, plain `http://` URLs on any port are accepted so that
tests can run a receiver on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import (
    ClientConnectorError,
    ClientError,
    ClientResponse,
    ClientSession,
    ClientTimeout,
    MultipartReader,
)

from okdesk_bot.emulators.telegram.errors import ApiError
from okdesk_bot.emulators.telegram.models import now
from okdesk_bot.emulators.telegram.params import Params, read_multipart
from okdesk_bot.emulators.telegram.updates import UpdateQueue

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret

ReplyExecutor = Callable[[str, Params], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Retry timing of webhook delivery (short by default so tests stay fast)."""

    first_retry_delay: float = 0.05
    max_retry_delay: float = 2.0
    request_timeout: float = 10.0


@dataclass(slots=True)
class WebhookSettings:
    """What `setWebhook` configured, plus the last delivery error for `getWebhookInfo`."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class WebhookWorker:
    """Delivers one bot's pending updates to its webhook until stopped."""

    def __init__(
        self,
        settings: WebhookSettings,
        queue: UpdateQueue,
        *,
        session: ClientSession,
        policy: WebhookPolicy,
        execute_reply: ReplyExecutor,
    ) -> None:
        self.settings = settings
        self._queue = queue
        self._session = session
        self._policy = policy
        self._execute_reply = execute_reply
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start delivering in the background."""
        self._task = asyncio.create_task(self._run(), name="telegram-emulator-webhook")

    async def stop(self) -> None:
        """Stop delivering; an update in flight stays pending."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        delay = self._policy.first_retry_delay
        while True:
            pending = self._queue.peek(1)
            if not pending:
                await self._queue.signal.wait()
                continue
            update = pending[0]
            if await self._deliver(update):
                self._queue.confirm(update["update_id"] + 1)
                delay = self._policy.first_retry_delay
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._policy.max_retry_delay)

    async def _deliver(self, update: dict[str, Any]) -> bool:
        headers = {SECRET_HEADER: self.settings.secret_token} if self.settings.secret_token else {}
        timeout = ClientTimeout(total=self._policy.request_timeout)
        try:
            async with self._session.post(
                self.settings.url, json=update, headers=headers, timeout=timeout
            ) as response:
                if not 200 <= response.status < 300:
                    self._record_error(
                        f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
                    return False
                await self._carry_out_reply(response)
        except TimeoutError:
            self._record_error("Read timeout expired")
            return False
        except ClientConnectorError:
            self._record_error("Connection refused")
            return False
        except ClientError as error:
            self._record_error(f"Connection error: {type(error).__name__}")
            return False
        return True

    def _record_error(self, message: str) -> None:
        self.settings.last_error_date = now()
        self.settings.last_error_message = message

    async def _carry_out_reply(self, response: ClientResponse) -> None:
        try:
            call = await _read_reply(response)
            if call is not None:
                await self._execute_reply(*call)
        except (ApiError, ValueError, ClientError) as error:
            logger.debug("Ignored a webhook reply the Bot API would reject: %s", error)


async def _read_reply(response: ClientResponse) -> tuple[str, Params] | None:
    """The Bot API call carried in a webhook answer, if any."""
    if response.content_type == "application/json":
        body = await response.json()
        if isinstance(body, dict) and isinstance(body.get("method"), str):
            method = body.pop("method")
            return method, Params(body, {})
        return None
    if response.content_type == "multipart/form-data":
        fields, uploads = await read_multipart(MultipartReader(response.headers, response.content))
        method = fields.pop("method", None)
        return (method, Params(fields, uploads)) if method else None
    return None

"""`POST {TELEGRAM_WEBHOOK_PATH}`: where Telegram delivers updates in webhook mode.

Telegram confirms an update only when the answer is a 2xx and retries it otherwise, so the
answer waits for the update to be **handled** (not merely received, as aiogram's
`SimpleRequestHandler(handle_in_background=True)` would do): an update whose handling fails,
or that reaches a process that is shutting down, is delivered again instead of being lost.

Answers:

* 200 ``{"status": "handled"}``; ``"duplicate"`` for an update handled before, by this
  instance or another, before or after a restart (Telegram resends when our answer was lost);
  ``"handling"`` when handling outlasts :data:`ANSWER_TIMEOUT_SECONDS`: it goes on in the
  background (a redelivery could not stop it, only run the update twice), and shutdown waits
  for it;
* 500 when the Dispatcher raised (its error handler did not take the failure): redelivered;
* 503 while the process is shutting down, while another instance is handling the same update
  (Telegram retries later, and then gets its answer), or when the database cannot record the
  claim: nothing is handled, the update is redelivered;
* 401 for a missing or wrong ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time),
  403 for an address outside Telegram's networks when that check is on; nothing is read;
* 400 for a body that is not an update, 413 for one over :data:`MAX_BODY_BYTES`.

Which updates are being handled, or were, is recorded in the database (`telegram_updates`)
before handling starts: an instance claims the update, and a claim whose instance died
expires after :data:`CLAIM_LEASE`. Records older than :data:`REMEMBER_FOR` are pruned;
Telegram gives up on an unconfirmed update after 24 hours.

The client address (for logs and the optional network check) is the TCP peer, or, when the
peer is one of `TRUSTED_PROXIES`, the last address in ``X-Forwarded-For`` that is not.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, Final, TypeAlias

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import hdrs, web
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.repositories import UpdateClaim
from okdesk_bot.db.uow import UnitOfWork

log = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name

Network: TypeAlias = IPv4Network | IPv6Network
Address: TypeAlias = IPv4Address | IPv6Address

TELEGRAM_NETWORKS: Final[tuple[Network, ...]] = (
    ip_network("149.154.160.0/20"),
    ip_network("91.108.4.0/22"),
)
"""Where Telegram sends webhooks from (core.telegram.org/bots/webhooks)."""

MAX_BODY_BYTES: Final = 1024 * 1024
ANSWER_TIMEOUT_SECONDS: Final = 25.0
"""How long an answer waits for handling (Telegram does not say how long it waits; this stays
well under a minute, the usual HTTP client patience)."""

REMEMBERED_UPDATES: Final = 4096
"""Handled update ids this process also keeps in memory (a redelivery costs no query)."""
CLAIM_LEASE: Final = timedelta(seconds=2 * ANSWER_TIMEOUT_SECONDS)
REMEMBER_FOR: Final = timedelta(days=2)
PRUNE_EVERY: Final = 1000
"""Prune old records after this many handled updates (and once on the first)."""
"""How many handled update ids are remembered to recognise a redelivery."""


@dataclass(frozen=True, slots=True)
class ClientAddressPolicy:
    """Which proxies' ``X-Forwarded-For`` to believe, and which clients to accept."""

    trusted_proxies: tuple[Network, ...] = ()
    allowed_networks: tuple[Network, ...] | None = None
    """None: any address; otherwise only these (e.g. :data:`TELEGRAM_NETWORKS`)."""

    def client_of(self, peer: str | None, forwarded_for: Sequence[str]) -> str | None:
        """The client's address as this request shows it (see the module docstring)."""
        if not _within(peer, self.trusted_proxies):
            return peer
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
        client = peer
        for hop in reversed([hop for hop in hops if hop]):
            client = hop
            if not _within(hop, self.trusted_proxies):
                break
        return client

    def allows(self, client: str | None) -> bool:
        return self.allowed_networks is None or _within(client, self.allowed_networks)


def _within(address: str | None, networks: Iterable[Network]) -> bool:
    parsed = _parse_address(address)
    return parsed is not None and any(parsed in network for network in networks)


def _parse_address(address: str | None) -> Address | None:
    if address is None:
        return None
    try:
        return ip_address(address)
    except ValueError:
        return None


class TelegramWebhookEndpoint:
    """Receives Telegram updates and feeds them to the Dispatcher (see the module docstring)."""

    def __init__(
        self,
        *,
        path: str,
        secret: str,
        bot: Bot,
        dispatcher: Dispatcher,
        sessions: async_sessionmaker[AsyncSession],
        addresses: ClientAddressPolicy | None = None,
        answer_timeout: float = ANSWER_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not secret:
            msg = "the Telegram webhook secret must not be empty"
            raise ValueError(msg)
        self.path = path
        self._secret = secret.encode()
        self._bot = bot
        self._dispatcher = dispatcher
        self._addresses = addresses or ClientAddressPolicy()
        self._answer_timeout = answer_timeout
        self._sessions = sessions
        self._clock = clock
        self._handled_count = 0
        self._accepting = True
        self._in_flight: dict[int, asyncio.Task[Any]] = {}
        self._handled: OrderedDict[int, None] = OrderedDict()

    @property
    def secret(self) -> str:
        """The `secret_token` to register with `setWebhook`."""
        return self._secret.decode()

    def __repr__(self) -> str:
        return f"TelegramWebhookEndpoint(path={self.path!r})"

    async def receive(self, request: web.Request) -> web.Response:
        """Check, parse and handle one update, then answer (see the module docstring)."""
        if not self._accepting:
            return web.json_response({"error": "shutting down"}, status=503)
        client = self._addresses.client_of(
            request.remote, request.headers.getall(hdrs.X_FORWARDED_FOR, [])
        )
        if not self._addresses.allows(client):
            log.warning("Rejected a Telegram webhook from %s: not a Telegram network", client)
            return web.json_response({"error": "forbidden"}, status=403)
        presented = request.headers.get(SECRET_HEADER)
        if presented is None or not hmac.compare_digest(presented.encode(), self._secret):
            log.warning(
                "Rejected a Telegram webhook from %s: %s secret",
                client,
                "no" if presented is None else "wrong",
            )
            return web.json_response({"error": "unauthorized"}, status=401)
        update = await self._read_update(request, client)
        if isinstance(update, web.Response):
            return update
        return await self._handle(update)

    async def _read_update(
        self, request: web.Request, client: str | None
    ) -> Update | web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"error": "too large"}, status=413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "too large"}, status=413)
        try:
            return Update.model_validate_json(body, context={"bot": self._bot})
        except ValidationError:
            log.warning("Rejected a Telegram webhook from %s: the body is not an update", client)
            return web.json_response({"error": "not an update"}, status=400)

    async def _handle(self, update: Update) -> web.Response:
        update_id = update.update_id
        if update_id in self._handled:
            return _duplicate(update_id)
        task = self._in_flight.get(update_id)
        if task is None:
            try:
                claim = await self._claim(update_id)
            except (SQLAlchemyError, OSError) as exc:
                log.error(
                    "Telegram update %s: could not record it, answered 503: %s", update_id, exc
                )
                return web.json_response({"error": "unavailable"}, status=503)
            # A delivery of the same update may have started (or ended) here meanwhile.
            if update_id in self._handled:
                return _duplicate(update_id)
            task = self._in_flight.get(update_id)
            if task is None and claim is UpdateClaim.HANDLED:
                self._remember(update_id)
                return _duplicate(update_id)
            if task is None and claim is UpdateClaim.BUSY:
                log.info("Telegram update %s: another instance is handling it", update_id)
                return web.json_response({"error": "being handled elsewhere"}, status=503)
            if task is None:
                task = self._start(update)
        try:
            async with asyncio.timeout(self._answer_timeout):
                await asyncio.shield(task)
        except TimeoutError:
            log.warning(
                "Telegram update %s is still being handled after %g s; answered 200",
                update_id,
                self._answer_timeout,
            )
            return web.json_response({"status": "handling"})
        except Exception:  # noqa: BLE001 - logged by `_finished`; Telegram delivers it again
            return web.json_response({"error": "failed"}, status=500)
        return web.json_response({"status": "handled"})

    async def _claim(self, update_id: int) -> UpdateClaim:
        async with UnitOfWork(self._sessions) as uow:
            claim = await uow.telegram_updates.claim(
                update_id, now=self._clock(), lease=CLAIM_LEASE
            )
            await uow.commit()
        return claim

    def _start(self, update: Update) -> asyncio.Task[Any]:
        update_id = update.update_id
        task = asyncio.create_task(self._run(update), name=f"telegram-update-{update_id}")
        self._in_flight[update_id] = task
        task.add_done_callback(lambda done: self._finished(update_id, done))
        return task

    async def _run(self, update: Update) -> None:
        """Handle the update, then record how it went (a failure gives the claim back)."""
        update_id = update.update_id
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except BaseException:
            await self._record(update_id, handled=False)
            raise
        await self._record(update_id, handled=True)

    async def _record(self, update_id: int, *, handled: bool) -> None:
        now = self._clock()
        try:
            async with UnitOfWork(self._sessions) as uow:
                if handled:
                    await uow.telegram_updates.mark_handled(update_id, now=now)
                    if self._handled_count % PRUNE_EVERY == 0:
                        await uow.telegram_updates.forget_before(now - REMEMBER_FOR)
                    self._handled_count += 1
                else:
                    await uow.telegram_updates.release(update_id)
                await uow.commit()
        except (SQLAlchemyError, OSError) as exc:  # the claim expires after its lease
            log.warning("Telegram update %s: could not record the outcome: %s", update_id, exc)

    def _finished(self, update_id: int, task: asyncio.Task[Any]) -> None:
        del self._in_flight[update_id]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("Telegram update %s failed; answered 500", update_id, exc_info=error)
            return
        self._remember(update_id)

    def _remember(self, update_id: int) -> None:
        self._handled[update_id] = None
        if len(self._handled) > REMEMBERED_UPDATES:
            self._handled.popitem(last=False)

    async def close(self, grace: float) -> bool:
        """Refuse new updates (503) and wait for those in flight; False if some outlast `grace`."""
        self._accepting = False
        pending = set(self._in_flight.values())
        if not pending:
            return True
        _, still_running = await asyncio.wait(pending, timeout=grace)
        return not still_running


def _duplicate(update_id: int) -> web.Response:
    log.info("Telegram update %s: delivered again, already handled", update_id)
    return web.json_response({"status": "duplicate"})


TELEGRAM_WEBHOOK_KEY: Final = web.AppKey("telegram_webhook", TelegramWebhookEndpoint)


def setup_telegram_webhook(app: web.Application, endpoint: TelegramWebhookEndpoint) -> None:
    """Route ``POST endpoint.path`` to the endpoint (other methods get aiohttp's 405)."""
    app[TELEGRAM_WEBHOOK_KEY] = endpoint
    app.router.add_post(endpoint.path, endpoint.receive)


def create_telegram_web_app(endpoint: TelegramWebhookEndpoint) -> web.Application:
    """An app serving only the Telegram webhook (the `bot` command in webhook mode)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    setup_telegram_webhook(app, endpoint)
    return app


@asynccontextmanager
async def webhook_registered(
    endpoint: TelegramWebhookEndpoint,
    *,
    bot: Bot,
    dispatcher: Dispatcher,
    url: str,
    grace: float,
) -> AsyncIterator[None]:
    """Run the Dispatcher in webhook mode: startup, `setWebhook`, and on exit drain and shutdown.

    Enter it once the HTTP server listens. `allowed_updates` names only what the handlers take;
    pending updates are kept. On exit the webhook stays registered: Telegram keeps (24 h) and
    retries what arrives meanwhile, and other instances behind the same URL go on receiving.
    """
    workflow = {"dispatcher": dispatcher, "bots": (bot,), **dispatcher.workflow_data}
    await dispatcher.emit_startup(bot=bot, **workflow)
    try:
        allowed = dispatcher.resolve_used_update_types()
        await bot.set_webhook(
            url,
            secret_token=endpoint.secret,
            allowed_updates=allowed,
            drop_pending_updates=False,
        )
        log.info("Telegram webhook set to %s for %s", url, ", ".join(allowed))
        yield
    finally:
        if not await endpoint.close(grace):
            log.warning("Some Telegram updates were still being handled at shutdown")
        await dispatcher.emit_shutdown(bot=bot, **workflow)

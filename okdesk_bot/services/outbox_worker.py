"""The sender: delivers the outbox to Telegram at the platform's limits, at least once, in order.

Each claim leases the head message of every chat with something due (the repository never
hands out two messages of one chat at a time, across processes too), so messages of one chat
go out one after the other and those of different chats concurrently. Before each send the
`SendGate` enforces Telegram's pace: the global rate (`NOTIFY_RATE`, evenly spaced), about
one message per second per chat, and a pause of everything after a 429. The outcome of each
send is committed before the chat's next message can be claimed, so a message recorded as
sent is never sent again. The pace is kept per process by `SendGate`; with several instances
`okdesk_bot.services.shared_pace.RedisSendGate` keeps one pace, and one 429 pause, for all.

What happens after a send, by outcome (see `Notifier`):

* sent: recorded at once;
* flood wait (429): all sending pauses for `retry_after`, then the same message goes again
  (no attempt is spent);
* temporary failure (5xx, network error, timeout, Okdesk unavailable for a file): retried
  with exponential backoff and jitter. A timeout's outcome is unknown, so the retry may
  duplicate the message: a rare duplicate beats a loss;
* chat blocked (403): the user is marked unreachable and the chat's messages are parked until
  the user unblocks the bot (`release_unblocked_chat`, from `my_chat_member`);
* permanent failure (400, a malformed payload): a dead letter with the reason, as is a message
  whose attempts (`NOTIFY_MAX_ATTEMPTS`) are exhausted. `okdesk-bot outbox retry` revives them.

This module does not know Telegram: the `Notifier` port is implemented by
`okdesk_bot.bot.notifier.TelegramNotifier`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final, Protocol, TypeAlias, assert_never

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.models import OutboxMessage
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.workers import wait_or_stop

log = logging.getLogger(__name__)

BLOCKED_REASON: Final = "the user blocked the bot"
DATABASE_RETRY_SECONDS: Final = 2.0
"""Pause after a failed claim, and the first pause between attempts to record an outcome."""
_MAX_TRACKED_CHATS: Final = 10_000
_jitter = secrets.SystemRandom()


# --- the port ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Telegram accepted the message."""


@dataclass(frozen=True, slots=True)
class FloodWait:
    """429: nothing may be sent for `retry_after` seconds; the message itself is fine."""

    retry_after: float


@dataclass(frozen=True, slots=True)
class TemporaryFailure:
    """Worth retrying later (5xx, network, timeout: the message may even have arrived)."""

    reason: str


@dataclass(frozen=True, slots=True)
class ChatBlocked:
    """403: the user blocked the bot or deleted the account; nothing reaches the chat now."""

    reason: str


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    """The message can never be sent as it is (Telegram rejected it, or it is malformed)."""

    reason: str


SendOutcome: TypeAlias = Sent | FloodWait | TemporaryFailure | ChatBlocked | PermanentFailure


class Notifier(Protocol):
    """Sends one outbox payload to a chat; reports every failure as an outcome, never raises."""

    async def send(self, chat_id: int, payload: Mapping[str, Any]) -> SendOutcome: ...


# --- policy, figures and pacing --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How fast and how persistently the sender delivers.

    Retries of a temporary failure wait `first_retry_delay * 2**(attempt - 1)` seconds, at
    most `max_retry_delay`, scaled by a random factor in [0.5, 1] so that messages failed
    together do not come back together. With the defaults a message gets 8 attempts over
    about 5 to 10 minutes: a Telegram outage of a few minutes loses nothing.

    A claimed message is leased for `lease`. A send starts at most half of that after the
    claim (a message whose turn would come later, after a long 429 pause, is given back), so
    it never outlives the lease; a crashed sender's messages are free again after `lease`.
    """

    rate: float = 25.0
    chat_interval: float = 1.0
    max_attempts: int = 8
    first_retry_delay: float = 5.0
    max_retry_delay: float = 600.0
    lease: timedelta = timedelta(minutes=2)
    idle_interval: float = 0.25

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.chat_interval < 0 or self.max_attempts < 1:
            msg = "rate must be positive, chat_interval not negative, max_attempts at least 1"
            raise ValueError(msg)

    @property
    def concurrency(self) -> int:
        """Messages in hand at once: enough to keep the rate with sends of up to 2 s each."""
        return max(4, math.ceil(self.rate * 2))

    @property
    def hold_limit(self) -> float:
        """Seconds after the claim by which a message's send must start."""
        return self.lease.total_seconds() / 2

    def retry_delay(self, attempt: int, jitter: float) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based); `jitter` is in [0.5, 1]."""
        exponential = self.first_retry_delay * 2.0 ** min(attempt - 1, 32)
        return min(self.max_retry_delay, exponential) * jitter


@dataclass(slots=True)
class DeliveryStats:
    """Counters since the start of the process, for `/metrics`.

    ``sent`` messages accepted by Telegram; ``retried`` sends that failed for now and were
    scheduled again; ``dead`` messages given up on; ``parked`` sends refused because the user
    blocked the bot; ``flood_waits`` 429 answers.
    """

    sent: int = 0
    retried: int = 0
    dead: int = 0
    parked: int = 0
    flood_waits: int = 0


class Pace(Protocol):
    """When the next message may go (`SendGate` in one process, or shared by instances)."""

    async def wait_turn(
        self, chat_id: int, stop: asyncio.Event, *, until: float = math.inf
    ) -> bool: ...

    async def pause(self, seconds: float) -> None: ...

    async def pause_left(self) -> float: ...


class SendGate:
    """When the next message may go: Telegram's pace across all chats and within one chat.

    * Across chats at most `rate` messages per second, evenly spaced. Senders take turns one
      at a time, each at the time it really goes (a token bucket holding one token, in the
      GCRA form), so a stalled event loop never releases a burst of overdue messages. A
      tolerance of `LATENESS_TOLERANCE` seconds absorbs timers that fire late, so under load
      the achieved rate is the configured one.
    * Within one chat at least `chat_interval` seconds between two messages.
    * After a 429 nothing at all goes until `retry_after` has passed (`pause`), including
      senders already waiting for their turn.
    """

    LATENESS_TOLERANCE: Final = 0.01

    def __init__(
        self,
        rate: float,
        *,
        chat_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slot_interval = 1.0 / rate
        self._tolerance = min(self.LATENESS_TOLERANCE, self._slot_interval / 2)
        self._chat_interval = chat_interval
        self._clock = clock
        self._next_slot = -math.inf  # when the next message is due at the configured rate
        self._paused_until = -math.inf
        self._chat_ready: dict[int, float] = {}
        self._turns = asyncio.Lock()

    async def pause(self, seconds: float) -> None:
        """Stop all sending for `seconds` from now (never shortens a longer pause)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def pause_left(self) -> float:
        """Seconds until the current pause ends (0 when sending is not paused)."""
        return max(0.0, self._paused_until - self._clock())

    async def wait_turn(
        self, chat_id: int, stop: asyncio.Event, *, until: float = math.inf
    ) -> bool:
        """Wait until a message to `chat_id` may go and take that turn.

        False, without a turn, if `stop` is set first or the turn would come after `until`
        (a time of the gate's clock).
        """
        chat_ready = self._chat_ready.get(chat_id, -math.inf)
        if not await self._wait_until(lambda: chat_ready, stop, until):
            return False
        async with self._turns:
            if not await self._wait_until(self._next_global_turn, stop, until):
                return False
            now = self._clock()
            self._next_slot = max(self._next_slot, now) + self._slot_interval
            self._remember_chat_turn(chat_id, now)
            return True

    def _next_global_turn(self) -> float:
        return max(self._paused_until, self._next_slot - self._tolerance)

    async def _wait_until(
        self, moment: Callable[[], float], stop: asyncio.Event, until: float
    ) -> bool:
        """Sleep until `moment()` (which a 429 may move); False if stopped or past `until`."""
        while not stop.is_set():
            at = moment()
            if at > until:
                return False
            now = self._clock()
            if at <= now:
                return True
            await wait_or_stop(stop, at - now)
        return False

    def _remember_chat_turn(self, chat_id: int, now: float) -> None:
        if len(self._chat_ready) >= _MAX_TRACKED_CHATS:
            self._chat_ready = {chat: at for chat, at in self._chat_ready.items() if at > now}
        self._chat_ready[chat_id] = now + self._chat_interval


# --- blocking and unblocking ------------------------------------------------------------------


async def park_blocked_chat(uow: UnitOfWork, chat_id: int, *, now: datetime, reason: str) -> int:
    """The user blocked the bot: mark them unreachable and park the chat's unsent messages.

    Returns how many messages were parked. The caller commits.
    """
    await uow.users.mark_unreachable(chat_id, since=now)
    return await uow.outbox.park_chat(chat_id, reason=reason)


async def release_unblocked_chat(uow: UnitOfWork, chat_id: int, *, now: datetime) -> int:
    """The user is back: clear the mark and queue the parked messages, in their order, now.

    Returns how many messages were released. The caller commits.
    """
    await uow.users.clear_unreachable(chat_id)
    return await uow.outbox.unpark_chat(chat_id, now=now)


# --- the worker -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A message in hand, detached from the database session that claimed it."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    attempts: int
    last_error: str | None
    hold_until: float

    @classmethod
    def of(cls, message: OutboxMessage, *, hold_until: float) -> _Claimed:
        return cls(
            id=message.id,
            chat_id=message.chat_id,
            payload=message.payload,
            attempts=message.attempts,
            last_error=message.last_error,
            hold_until=hold_until,
        )


_Write: TypeAlias = Callable[[UnitOfWork], Awaitable[object]]


class OutboxWorker:
    """Delivers the outbox (see the module docstring); one per process is enough.

    `wake()` tells it that something was enqueued, so a notice leaves at once instead of at
    the next poll (every `policy.idle_interval` seconds).
    """

    name = "outbox-sender"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        *,
        policy: DeliveryPolicy | None = None,
        stats: DeliveryStats | None = None,
        clock: Callable[[], datetime] = utcnow,
        gate: Pace | None = None,
    ) -> None:
        """`gate` paces the sends; by default a `SendGate` of this process at the policy's rate."""
        self._sessions = sessions
        self._notifier = notifier
        self._policy = policy or DeliveryPolicy()
        self.stats = stats or DeliveryStats()
        self._clock = clock
        self._gate = gate or SendGate(self._policy.rate, chat_interval=self._policy.chat_interval)
        self._work = asyncio.Event()
        self._in_hand: dict[int, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """New messages are due: claim them now."""
        self._work.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then give back what is still waiting and return."""
        stop_watch = asyncio.create_task(stop.wait())
        stop_watch.add_done_callback(lambda _: self._work.set())
        try:
            while not stop.is_set():
                self._work.clear()
                if not await self._claim_and_start(stop):
                    await self._wait_for_work()
        finally:
            stop_watch.cancel()
            await self._finish_in_hand()

    async def _finish_in_hand(self) -> None:
        """Let the messages in hand finish (those waiting for a turn are given back)."""
        tasks = list(self._in_hand.values())
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            raise

    async def _claim_and_start(self, stop: asyncio.Event) -> bool:
        """Claim what is due (up to the free capacity) and start sending; True to go on at once.

        Nothing is claimed during a 429 pause: the messages would only sit idle in hand.
        """
        if (pause := await self._gate.pause_left()) > 0:
            await wait_or_stop(stop, pause)
            return True
        free = self._policy.concurrency - len(self._in_hand)
        if free <= 0:
            return False
        try:
            claimed = await self._claim(free)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("Could not claim outbox messages: %s", _describe(exc))
            await wait_or_stop(stop, DATABASE_RETRY_SECONDS)
            return False
        for message in claimed:
            if message.id in self._in_hand:  # our own lease ran out while we still record it
                continue
            task = asyncio.create_task(self._deliver(message, stop), name=f"outbox:{message.id}")
            self._in_hand[message.id] = task
            task.add_done_callback(partial(self._finished, message.id))
        return len(claimed) == free

    async def _claim(self, limit: int) -> list[_Claimed]:
        hold_until = time.monotonic() + self._policy.hold_limit
        async with UnitOfWork(self._sessions) as uow:
            rows = await uow.outbox.claim_due(
                limit=limit, now=self._clock(), lease=self._policy.lease
            )
            await uow.commit()
        return [_Claimed.of(row, hold_until=hold_until) for row in rows]

    async def _wait_for_work(self) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(self._policy.idle_interval):
                await self._work.wait()

    def _finished(self, message_id: int, task: asyncio.Task[None]) -> None:
        self._in_hand.pop(message_id, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("Delivering outbox message %s failed", message_id, exc_info=error)
        self._work.set()  # capacity is free again, and the chat's next message may be due

    async def _deliver(self, message: _Claimed, stop: asyncio.Event) -> None:
        """Send one message when its turn comes, and record the outcome."""
        while True:
            if not await self._gate.wait_turn(message.chat_id, stop, until=message.hold_until):
                reason = "the sender stopped" if stop.is_set() else "its turn would come too late"
                pause = await self._gate.pause_left()
                await self._give_back(message, stop, delay=pause, reason=reason)
                return
            outcome = await self._notifier.send(message.chat_id, message.payload)
            if not isinstance(outcome, FloodWait):
                await self._record(message, outcome, stop)
                return
            self.stats.flood_waits += 1
            log.warning(
                "Telegram asked to wait %.0f s (429); all sending paused", outcome.retry_after
            )
            await self._gate.pause(outcome.retry_after)

    async def _record(
        self,
        message: _Claimed,
        outcome: Sent | TemporaryFailure | ChatBlocked | PermanentFailure,
        stop: asyncio.Event,
    ) -> None:
        now = self._clock()
        write: _Write
        match outcome:
            case Sent():
                self.stats.sent += 1
                log.debug("Outbox message %s sent to chat %s", message.id, message.chat_id)
                write = _marking_sent(message.id, now)
            case TemporaryFailure(reason) if message.attempts < self._policy.max_attempts:
                self.stats.retried += 1
                delay = self._policy.retry_delay(message.attempts, _jitter.uniform(0.5, 1.0))
                log.warning(
                    "Outbox message %s to chat %s failed (attempt %s), retry in %.0f s: %s",
                    message.id,
                    message.chat_id,
                    message.attempts,
                    delay,
                    reason,
                )
                write = _marking_retry(message.id, now + timedelta(seconds=delay), reason)
            case TemporaryFailure(reason):
                write = self._bury(message, f"gave up after {message.attempts} attempts: {reason}")
            case PermanentFailure(reason):
                write = self._bury(message, reason)
            case ChatBlocked(reason):
                self.stats.parked += 1
                log.info(
                    "Chat %s is blocked (%s); its messages are parked", message.chat_id, reason
                )
                write = _parking(message.chat_id, now, reason)
            case _:
                assert_never(outcome)
        await self._persist(message, write, stop)

    def _bury(self, message: _Claimed, reason: str) -> _Write:
        self.stats.dead += 1
        log.error("Outbox message %s to chat %s is dead: %s", message.id, message.chat_id, reason)
        return _marking_dead(message.id, reason)

    async def _give_back(
        self, message: _Claimed, stop: asyncio.Event, *, delay: float, reason: str
    ) -> None:
        """Return an unsent message to the queue (the claim has spent one of its attempts)."""
        log.info("Outbox message %s not sent yet (%s); queued again", message.id, reason)
        due = self._clock() + timedelta(seconds=delay)
        await self._persist(
            message, _marking_retry(message.id, due, message.last_error or reason), stop
        )

    async def _persist(self, message: _Claimed, write: _Write, stop: asyncio.Event) -> None:
        """Commit `write`, retrying while the database fails, until it succeeds or the sender
        stops: a sent message whose outcome is lost stays in flight and is sent again when its
        lease expires (a duplicate, never a loss)."""
        pause = DATABASE_RETRY_SECONDS
        while True:
            try:
                async with UnitOfWork(self._sessions) as uow:
                    await write(uow)
                    await uow.commit()
            except (SQLAlchemyError, OSError) as exc:
                if stop.is_set():
                    log.error(
                        "Could not record the outcome of outbox message %s at shutdown: %s",
                        message.id,
                        _describe(exc),
                    )
                    return
                log.warning(
                    "Could not record the outcome of outbox message %s, retrying in %.0f s: %s",
                    message.id,
                    pause,
                    _describe(exc),
                )
                await wait_or_stop(stop, pause)
                pause = min(pause * 2, 30.0)
            else:
                return


def _marking_sent(message_id: int, now: datetime) -> _Write:
    async def write(uow: UnitOfWork) -> None:
        await uow.outbox.mark_sent(message_id, now=now)

    return write


def _marking_retry(message_id: int, due: datetime, error: str) -> _Write:
    async def write(uow: UnitOfWork) -> None:
        await uow.outbox.mark_retry(message_id, next_attempt_at=due, error=error)

    return write


def _marking_dead(message_id: int, reason: str) -> _Write:
    async def write(uow: UnitOfWork) -> None:
        await uow.outbox.mark_dead(message_id, reason=reason)

    return write


def _parking(chat_id: int, now: datetime, reason: str) -> _Write:
    async def write(uow: UnitOfWork) -> None:
        await park_blocked_chat(uow, chat_id, now=now, reason=reason)

    return write


def _describe(exc: Exception) -> str:
    original = getattr(exc, "orig", None)
    return f"{type(original or exc).__name__}: {original or exc}"

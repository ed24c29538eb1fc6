"""Injectable failures: error answers, held (timed-out) requests and per-chat 403s.

Queued faults are consumed in order, each by the first request whose method it applies to, so a
test knows exactly which call fails. Unless a fault names its methods explicitly it skips
`getUpdates`, which a polling bot calls continuously in the background.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from okdesk_bot.emulators.telegram.errors import (
    SERVER_ERROR_DESCRIPTIONS,
    ApiError,
    forbidden,
    too_many_requests,
)

_BACKGROUND_METHODS = frozenset({"getupdates"})
BLOCKED_BY_USER = "bot was blocked by the user"
USER_DEACTIVATED = "user is deactivated"


def _method_set(methods: Iterable[str] | None) -> frozenset[str] | None:
    return None if methods is None else frozenset(name.lower() for name in methods)


@dataclass(frozen=True, slots=True)
class Fault:
    """What happens to one request.

    `delay` holds the request first (longer than the client's timeout, it looks like a network
    timeout while the server still carries the call out: the outcome is unknown to the bot).
    Then `status` (if set) is answered instead of running the method, with `raw_body` replacing
    the JSON body when given (an HTML gateway page, for instance).
    """

    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    raw_body: str | None = None
    methods: frozenset[str] | None = None

    def applies_to(self, method: str) -> bool:
        """Whether this fault targets `method` (case-insensitive)."""
        name = method.lower()
        if self.methods is None:
            return name not in _BACKGROUND_METHODS
        return name in self.methods

    def error(self) -> ApiError | None:
        """The error answer of this fault, if it answers one."""
        if self.status is None:
            return None
        if self.status == 429 and self.raw_body is None:
            return too_many_requests(self.retry_after or 1)
        description = self.description or SERVER_ERROR_DESCRIPTIONS.get(self.status, "Error")
        return ApiError(
            self.status, description, retry_after=self.retry_after, raw_body=self.raw_body
        )


class FaultInjector:
    """The fault plan of one emulator; every method is safe to call at any time."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._share = 0.0
        self._share_fault = Fault(status=502)
        self._random = random.Random(0)  # noqa: S311 - reproducible test faults, not crypto
        self._chat_errors: dict[int, str] = {}

    @property
    def pending(self) -> int:
        """Queued faults not consumed yet."""
        return len(self._queue)

    def push(self, *faults: Fault) -> None:
        """Queue faults; each is consumed by the next request it applies to."""
        self._queue.extend(faults)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        description: str | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer the next `count` requests with `status` (5xx by default)."""
        fault = Fault(status=status, description=description, methods=_method_set(methods))
        self.push(*[fault] * count)

    def flood_next(
        self, count: int = 1, *, retry_after: int = 1, methods: Iterable[str] | None = None
    ) -> None:
        """Answer the next `count` requests with 429 and `retry_after`."""
        fault = Fault(status=429, retry_after=retry_after, methods=_method_set(methods))
        self.push(*[fault] * count)

    def timeout_next(
        self, count: int = 1, *, delay: float, methods: Iterable[str] | None = None
    ) -> None:
        """Hold the next `count` requests for `delay` seconds, then carry them out normally."""
        self.push(*[Fault(delay=delay, methods=_method_set(methods))] * count)

    def fail_share(
        self,
        share: float,
        *,
        status: int = 502,
        seed: int = 0,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer a random `share` (0..1) of requests with `status`, reproducibly by `seed`."""
        if not 0.0 <= share <= 1.0:
            msg = "share must be between 0 and 1"
            raise ValueError(msg)
        self._share = share
        self._share_fault = Fault(status=status, methods=_method_set(methods))
        self._random = random.Random(seed)  # noqa: S311 - reproducible test faults

    def take(self, method: str) -> Fault | None:
        """The fault for this request, if any (queued faults first, then the random share)."""
        for fault in self._queue:
            if fault.applies_to(method):
                self._queue.remove(fault)
                return fault
        applies = self._share > 0 and self._share_fault.applies_to(method)
        if applies and self._random.random() < self._share:
            return self._share_fault
        return None

    def block_chat(self, chat_id: int) -> None:
        """403 "bot was blocked by the user" for this chat, without a my_chat_member update."""
        self._chat_errors[chat_id] = BLOCKED_BY_USER

    def deactivate_chat(self, chat_id: int) -> None:
        """403 "user is deactivated" for this chat (a deleted account)."""
        self._chat_errors[chat_id] = USER_DEACTIVATED

    def allow_chat(self, chat_id: int) -> None:
        """Undo `block_chat` / `deactivate_chat`."""
        self._chat_errors.pop(chat_id, None)

    def chat_error(self, chat_id: int) -> ApiError | None:
        """The injected 403 for `chat_id`, if any."""
        reason = self._chat_errors.get(chat_id)
        return None if reason is None else forbidden(reason)

    def clear(self) -> None:
        """Drop every queued fault, the random share and the per-chat errors."""
        self._queue.clear()
        self._share = 0.0
        self._chat_errors.clear()

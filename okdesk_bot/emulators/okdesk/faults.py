"""Fault injection for the emulated REST API (``/api/v1`` only).

Two mechanisms, both changeable at runtime:

* random faults for a share of requests: added latency (fixed plus uniform jitter), 5xx,
  429 and dropped connections, drawn from a seedable RNG so a run can be replayed;
* a deterministic queue, "fail the next N requests (optionally matching a method and a path
  prefix) with X", for tests that must not be flaky. Queued faults take precedence.

Error answers imitate the nginx in front of Okdesk: an HTML page, not JSON. Nothing about
rate limits is documented, so a 429 carries ``Retry-After`` only when ``retry_after`` is set.
A dropped connection is closed without any answer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

FaultKind = Literal["error", "rate_limit", "drop", "delay"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/v1"
FAULT_KINDS: tuple[FaultKind, ...] = ("error", "rate_limit", "drop", "delay")


@dataclass(slots=True)
class ScheduledFault:
    """A queued fault for the next ``remaining`` matching requests."""

    kind: FaultKind
    remaining: int
    status: int
    delay: float = 0.0
    method: str | None = None
    path_prefix: str | None = None

    def matches(self, method: str, path: str) -> bool:
        method_ok = self.method is None or self.method.upper() == method.upper()
        return method_ok and (self.path_prefix is None or path.startswith(self.path_prefix))


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What happens to one request: a delay, then maybe a failure."""

    delay: float = 0.0
    kind: Literal["error", "rate_limit", "drop"] | None = None
    status: int | None = None


class FaultInjector:
    """Decides, per API request, whether to delay it, fail it or drop the connection."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - test traffic shaping, not cryptography
        self.latency = 0.0
        self.latency_jitter = 0.0
        self.error_rate = 0.0
        self.error_status = 500
        self.rate_limit_rate = 0.0
        self.drop_rate = 0.0
        self.retry_after: int | None = None
        self._queue: list[ScheduledFault] = []

    def configure(
        self,
        *,
        latency: float | None = None,
        latency_jitter: float | None = None,
        error_rate: float | None = None,
        error_status: int | None = None,
        rate_limit_rate: float | None = None,
        drop_rate: float | None = None,
        retry_after: int | None = None,
        seed: int | None = None,
    ) -> None:
        """Change the random faults; arguments left as ``None`` keep their value."""
        error_rate = self.error_rate if error_rate is None else error_rate
        rate_limit_rate = self.rate_limit_rate if rate_limit_rate is None else rate_limit_rate
        drop_rate = self.drop_rate if drop_rate is None else drop_rate
        rates = (error_rate, rate_limit_rate, drop_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must be within [0, 1] and sum to at most 1")
        if error_status is not None and not 500 <= error_status <= 599:
            raise ValueError("error_status must be a 5xx code")
        if any(value is not None and value < 0 for value in (latency, latency_jitter)):
            raise ValueError("latency must not be negative")
        self.error_rate, self.rate_limit_rate, self.drop_rate = rates
        self.latency = self.latency if latency is None else latency
        self.latency_jitter = self.latency_jitter if latency_jitter is None else latency_jitter
        self.error_status = self.error_status if error_status is None else error_status
        self.retry_after = self.retry_after if retry_after is None else retry_after
        if seed is not None:
            self._rng.seed(seed)

    def fail_next(
        self,
        count: int = 1,
        *,
        kind: FaultKind = "error",
        status: int | None = None,
        delay: float = 0.0,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Queue a fault for the next ``count`` matching requests.

        ``kind`` is ``error`` (5xx, ``status`` defaults to 500), ``rate_limit`` (429),
        ``drop`` (close the connection) or ``delay`` (answer normally after ``delay``
        seconds); ``delay`` also postpones the other kinds. ``path_prefix`` is matched
        against the full path, e.g. ``/api/v1/issues``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        if count < 1 or delay < 0:
            raise ValueError("count must be positive and delay not negative")
        if kind == "delay" and delay <= 0:
            raise ValueError("a delay fault needs a positive delay")
        resolved = {"error": status or 500, "rate_limit": 429}.get(kind, 0)
        if kind == "error" and not 500 <= resolved <= 599:
            raise ValueError("error status must be a 5xx code")
        self._queue.append(
            ScheduledFault(kind, count, resolved, delay, method, path_prefix or None)
        )

    def reset(self) -> None:
        """Remove every random and queued fault."""
        self.configure(latency=0, latency_jitter=0, error_rate=0, rate_limit_rate=0, drop_rate=0)
        self.error_status = 500
        self.retry_after = None
        self._queue.clear()

    def snapshot(self) -> dict[str, Any]:
        """The current settings and queue, as JSON."""
        return {
            "latency": self.latency,
            "latency_jitter": self.latency_jitter,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "rate_limit_rate": self.rate_limit_rate,
            "drop_rate": self.drop_rate,
            "retry_after": self.retry_after,
            "queue": [asdict(fault) for fault in self._queue],
        }

    def decide(self, method: str, path: str) -> FaultDecision:
        """Pick the fault for one request (consumes a queued fault or RNG draws)."""
        for fault in self._queue:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._queue.remove(fault)
                if fault.kind == "delay":
                    return FaultDecision(delay=fault.delay)
                return FaultDecision(delay=fault.delay, kind=fault.kind, status=fault.status)
        delay = self.latency
        if self.latency_jitter:
            delay += self._rng.uniform(0, self.latency_jitter)
        if not (self.drop_rate or self.error_rate or self.rate_limit_rate):
            return FaultDecision(delay=delay)
        draw = self._rng.random()
        if draw < self.drop_rate:
            return FaultDecision(delay=delay, kind="drop")
        if draw < self.drop_rate + self.error_rate:
            return FaultDecision(delay=delay, kind="error", status=self.error_status)
        if draw < self.drop_rate + self.error_rate + self.rate_limit_rate:
            return FaultDecision(delay=delay, kind="rate_limit", status=429)
        return FaultDecision(delay=delay)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """aiohttp middleware applying :meth:`decide` to ``/api/v1`` requests."""
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        decision = self.decide(request.method, request.path)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            # Never written (the transport is gone); 444 is nginx's code for "closed the
            # connection without answering", which is what the access log will show.
            return web.Response(status=444)
        if decision.kind is not None and decision.status is not None:
            return self._error_page(decision.status)
        return await handler(request)

    def _error_page(self, status: int) -> web.Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        headers = {}
        if status == 429 and self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        body = (
            f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return web.Response(status=status, text=body, content_type="text/html", headers=headers)

"""Fault injection on /api/v1: queued (deterministic) and random (seeded) faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from okdesk_bot.emulators.okdesk import FaultInjector, OkdeskEmulator


async def test_queued_5xx_answers_an_html_page_then_recovers(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    emulator.faults.fail_next(2, kind="error", status=502)

    first = await api.get("/issues/1")
    second = await api.get("/issues/1")
    third = await api.get("/issues/1")

    assert [first.status_code, second.status_code, third.status_code] == [502, 502, 200]
    assert first.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in first.text


async def test_queued_429_with_retry_after(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    emulator.faults.configure(retry_after=3)
    emulator.faults.fail_next(kind="rate_limit")

    response = await api.get("/issues/1")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


async def test_queued_drop_closes_the_connection(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    emulator.faults.fail_next(kind="drop")

    with pytest.raises(httpx.RemoteProtocolError):
        await api.get("/issues/1")
    assert (await api.get("/issues/1")).status_code == 200


async def test_queued_fault_matches_method_and_path_prefix(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    emulator.faults.fail_next(kind="error", method="POST", path_prefix="/api/v1/issues/1/comments")

    unrelated_get = await api.get("/issues/1/comments")
    other_post = await api.post("/issues/2/comments", json={"content": "x", "author_id": 2})
    matching = await api.post("/issues/1/comments", json={"content": "x", "author_id": 2})

    assert unrelated_get.status_code == 200
    assert other_post.status_code == 200
    assert matching.status_code == 500
    assert len((await api.get("/issues/1/comments")).json()) == 3  # the failed one not stored


async def test_queued_delay_slows_a_request_down(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    emulator.faults.fail_next(kind="delay", delay=0.25)

    with pytest.raises(httpx.ReadTimeout):
        await api.get("/issues/1", timeout=0.05)
    assert (await api.get("/issues/1", timeout=0.1)).status_code == 200


async def test_random_latency_applies_to_every_api_request(
    emulator: OkdeskEmulator, api: httpx.AsyncClient, web_client: httpx.AsyncClient
) -> None:
    emulator.faults.configure(latency=0.2)
    loop = asyncio.get_running_loop()

    started = loop.time()
    await api.get("/issues/statuses")
    api_elapsed = loop.time() - started
    started = loop.time()
    await web_client.get("/_staff/issues")
    staff_elapsed = loop.time() - started

    assert api_elapsed >= 0.2
    assert staff_elapsed < 0.2


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    def draws(seed: int) -> list[str | None]:
        injector = FaultInjector(seed=seed)
        injector.configure(error_rate=0.3, rate_limit_rate=0.2, drop_rate=0.1)
        return [injector.decide("GET", "/api/v1/issues").kind for _ in range(200)]

    first, second = draws(5), draws(5)
    assert first == second
    assert {"error", "rate_limit", "drop", None} == set(first)
    assert 0.2 < first.count("error") / len(first) < 0.4


async def test_random_error_rate_hits_real_requests(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    emulator.faults.configure(error_rate=1.0, error_status=503)
    failing = await api.get("/issues/1")
    emulator.faults.reset()
    healthy = await api.get("/issues/1")

    assert failing.status_code == 503
    assert healthy.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        lambda faults: faults.configure(error_rate=1.5),
        lambda faults: faults.configure(error_rate=0.6, drop_rate=0.6),
        lambda faults: faults.configure(error_status=404),
        lambda faults: faults.fail_next(0),
        lambda faults: faults.fail_next(kind="delay"),
    ],
)
def test_invalid_fault_settings_are_refused(change: Callable[[FaultInjector], None]) -> None:
    with pytest.raises(ValueError):
        change(FaultInjector())

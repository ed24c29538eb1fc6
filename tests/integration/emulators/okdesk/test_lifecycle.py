"""Seeds, starting and stopping, and the long-running ``serve`` entry point."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pydantic
import pytest

from okdesk_bot.emulators.okdesk import OkdeskEmulator, load_seed, serve


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_serve_runs_until_cancelled(tmp_path: Path) -> None:
    seed = load_seed()
    seed["companies"][0]["name"] = "ООО «Из файла»"
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    port = _free_port()
    task = asyncio.create_task(
        serve("127.0.0.1", port, api_token="cli-token", seed_path=str(seed_file), webhook_urls=())
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as client:
            async with asyncio.timeout(5):
                while True:
                    try:
                        response = await client.get(
                            "/companies/1", params={"api_token": "cli-token"}
                        )
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.02)
        assert response.json()["name"] == "ООО «Из файла»"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/issues/1")


async def test_start_returns_the_base_url_and_stop_frees_it() -> None:
    emulator = OkdeskEmulator()
    base = await emulator.start()
    try:
        assert emulator.api_url == base + "/api/v1"
        with pytest.raises(RuntimeError):
            await emulator.start()
    finally:
        await emulator.stop()
    with pytest.raises(RuntimeError):
        _ = emulator.api_url


def test_inconsistent_seed_is_rejected() -> None:
    seed = load_seed()
    seed["issues"][0]["contact_id"] = 404
    with pytest.raises(ValueError, match="issue 1: contact"):
        OkdeskEmulator(seed=seed)


def test_seed_with_unknown_fields_is_rejected() -> None:
    seed = load_seed()
    seed["contacts"][0]["telegram"] = "@anna"
    with pytest.raises(pydantic.ValidationError):
        OkdeskEmulator(seed=seed)

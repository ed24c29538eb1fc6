"""The README's offline recipe: both emulators as commands, then `check` reports all ✓."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, run_cli
from tests.support import free_port


async def wait_until_serving(url: str) -> None:
    async with httpx.AsyncClient(timeout=1) as client, asyncio.timeout(30):
        while True:
            try:
                await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
            else:
                return


@pytest.fixture
async def emulator_processes(tmp_path: Path) -> AsyncIterator[tuple[int, int]]:
    okdesk_port, telegram_port, bot_port = free_port(), free_port(), free_port()
    webhook = f"http://127.0.0.1:{bot_port}/webhook?secret=demo-secret"
    processes = [
        await asyncio.create_subprocess_exec(
            str(CLI),
            *args,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for args in (
            ("emulate", "okdesk", "--port", str(okdesk_port), "--webhook-url", webhook),
            ("emulate", "telegram", "--port", str(telegram_port)),
        )
    ]
    try:
        await wait_until_serving(f"http://127.0.0.1:{okdesk_port}/api/v1/issues/statuses")
        await wait_until_serving(f"http://127.0.0.1:{telegram_port}/")
        yield okdesk_port, telegram_port
    finally:
        for process in processes:
            process.terminate()
            await process.wait()


async def test_check_passes_against_emulators_started_from_the_command_line(
    emulator_processes: tuple[int, int], tmp_path: Path
) -> None:
    okdesk_port, telegram_port = emulator_processes
    env = {
        "PATH": "",
        "BOT_TOKEN": "123456:TEST-token",
        "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram_port}",
        "OKDESK_API_URL": f"http://127.0.0.1:{okdesk_port}/api/v1",
        "OKDESK_API_TOKEN": "test-okdesk-token",
        "WEBHOOK_URL": "http://127.0.0.1:8080",
        "WEBHOOK_SECRET": "demo-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
    }
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.count("✓ ") == 6
    assert "http://127.0.0.1:8080/webhook?secret=demo-secret" in result.stdout

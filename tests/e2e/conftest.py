"""End to end: the real `okdesk-bot` process against the Okdesk and Telegram emulators.

The emulators run inside the test's event loop; the service runs as a child process, exactly
as an admin starts it, configured only through environment variables.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import TelegramEmulator
from tests.support import BOT_TOKEN, OKDESK_TOKEN, free_port

WEBHOOK_SECRET = "e2e-webhook-secret-0123456789"
CLI = Path(sys.executable).with_name("okdesk-bot")


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def service_env(
    okdesk: OkdeskEmulator, telegram: TelegramEmulator, tmp_path: Path
) -> dict[str, str]:
    """The environment an admin would write into .env, pointing at the emulators."""
    port = free_port()
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_URL": telegram.base_url,
        "OKDESK_API_URL": okdesk.api_url,
        "OKDESK_API_TOKEN": OKDESK_TOKEN,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
    }


async def run_cli(*args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60) -> Finished:
    """Run `okdesk-bot ARGS` to completion while the emulators keep serving in this loop."""
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


class Service:
    """A running `okdesk-bot` process; its log goes to a file (a pipe could fill and block)."""

    def __init__(self, process: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    async def wait_healthy(self, timeout: float = 30) -> dict[str, object]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            async with asyncio.timeout(timeout):
                while True:
                    if self.process.returncode is not None:
                        code = self.process.returncode
                        pytest.fail(f"the service exited with {code}: {self.read_log()}")
                    try:
                        response = await client.get("/health")
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                        continue
                    if response.status_code == 200:
                        body: dict[str, object] = response.json()
                        return body
                    await asyncio.sleep(0.1)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout)

    def read_log(self) -> str:
        return self.log.read_text(encoding="utf-8")


StartService = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service(tmp_path: Path) -> AsyncIterator[StartService]:
    started: list[Service] = []

    async def start(*args: str, env: Mapping[str, str]) -> Service:
        log = tmp_path / f"service-{len(started)}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                str(CLI), *args, env=dict(env), cwd=tmp_path, stdout=sink, stderr=sink
            )
        service = Service(process, f"http://127.0.0.1:{env['PORT']}", log)
        started.append(service)
        return service

    yield start
    for service in started:
        if service.process.returncode is None:
            service.process.kill()
            await service.process.wait()

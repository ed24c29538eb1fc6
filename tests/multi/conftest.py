"""Several real `okdesk-bot run` processes sharing this machine's PostgreSQL and Redis.

The emulators run in the test's event loop with Telegram's real flood limits (about 30
messages/s per bot, about 1/s per chat): a pace kept per process instead of per bot shows as
429 answers. Every message the emulator accepts is timed when it passes flood control.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.models import UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import ChatMessage, TelegramEmulator
from tests.support import BOT_TOKEN, OKDESK_TOKEN, free_port

CLI = Path(sys.executable).with_name("okdesk-bot")
REDIS_URL = "redis://127.0.0.1:6379/14"
WEBHOOK_SECRET = "multi-instance-webhook-secret-0123"
NOTIFY_RATE = 25
LEASE_SECONDS = 10
TELEGRAM_GLOBAL_RATE = 30.0
TELEGRAM_CHAT_RATE = 1.0
FIRST_USER_ID = 7_000_000_001


@pytest.fixture(params=["postgresql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """Several processes need a shared database: PostgreSQL only."""
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis database of its own, emptied before and after."""
    async with Redis.from_url(REDIS_URL) as redis:
        await redis.flushdb()
        yield REDIS_URL
        await redis.flushdb()


@dataclass(frozen=True, slots=True)
class Accepted:
    """One message the Telegram emulator accepted: when (monotonic) and what."""

    at: float
    message: ChatMessage


class SendLog:
    """Times every message at the moment it passes the emulator's flood control."""

    def __init__(self, telegram: TelegramEmulator) -> None:
        self._telegram = telegram
        self._times: list[float] = []
        self._more = asyncio.Event()

    def record(self, monkeypatch: pytest.MonkeyPatch) -> None:
        flood = self._telegram.flood
        acquire = flood.acquire

        def timed(bot_id: int, chat_id: int) -> None:
            acquire(bot_id, chat_id)  # a 429 raises: only accepted messages are timed
            self._times.append(time.monotonic())
            self._more.set()

        monkeypatch.setattr(flood, "acquire", timed)

    async def wait_for(self, count: int) -> None:
        """Until `count` messages were accepted (cheap: nothing is copied)."""
        while len(self._times) < count:
            self._more.clear()
            await self._more.wait()

    def accepted(self) -> list[Accepted]:
        """Accepted messages in order (flood control and the message list advance together)."""
        messages = self._telegram.sent_messages()
        assert len(messages) == len(self._times), "every accepted message is timed"
        return [Accepted(at, message) for at, message in zip(self._times, messages, strict=True)]


@pytest.fixture
def send_log(telegram: TelegramEmulator, monkeypatch: pytest.MonkeyPatch) -> SendLog:
    log = SendLog(telegram)
    log.record(monkeypatch)
    return log


@dataclass(slots=True)
class Instance:
    """One running `okdesk-bot run` process."""

    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook?secret={WEBHOOK_SECRET}"

    def read_log(self) -> str:
        return self.log.read_text(encoding="utf-8")

    async def wait_healthy(self, timeout: float = 30) -> None:
        async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(timeout):
            while True:
                if self.process.returncode is not None:
                    pytest.fail(f"{self.name} exited: {self.read_log()}")
                try:
                    response = await client.get(f"http://127.0.0.1:{self.port}/health")
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 200:
                    return
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)


@dataclass(slots=True)
class Cluster:
    """Starts instances configured like an admin's `.env`, all against the same backends."""

    env: Mapping[str, str]
    workdir: Path
    instances: list[Instance] = field(default_factory=list)

    async def start(self, count: int) -> list[Instance]:
        """Start `count` instances; Telegram's webhook points at the first one.

        Several instances cannot long-poll one bot (Telegram answers 409 Conflict to all but
        one), so they run in Telegram webhook mode, as behind a load balancer; the first
        instance's address stands in for the balancer.
        """
        ports = [free_port() for _ in range(count)]
        balancer = f"http://127.0.0.1:{ports[0]}"
        started = [
            await self._start_one(f"instance-{n}", port, balancer) for n, port in enumerate(ports)
        ]
        for instance in started:
            await instance.wait_healthy()
        return started

    async def _start_one(self, name: str, port: int, balancer: str) -> Instance:
        log = self.workdir / f"{name}.log"
        env = {
            **self.env,
            "PORT": str(port),
            "WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "TELEGRAM_WEBHOOK_URL": balancer,
        }
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                str(CLI), "run", env=env, cwd=self.workdir, stdout=sink, stderr=sink
            )
        instance = Instance(name, process, port, log)
        self.instances.append(instance)
        return instance

    async def stop_all(self) -> None:
        for instance in self.instances:
            if instance.process.returncode is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                await asyncio.wait_for(instance.process.wait(), 20)
            except TimeoutError:
                instance.process.kill()
                await instance.process.wait()


@pytest.fixture
async def cluster(
    database_url: str,
    redis_url: str,
    okdesk: OkdeskEmulator,
    telegram: TelegramEmulator,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_URL": telegram.base_url,
        "OKDESK_API_URL": okdesk.api_url,
        "OKDESK_API_TOKEN": OKDESK_TOKEN,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "NOTIFY_RATE": str(NOTIFY_RATE),
        "NOTIFY_LEASE": str(LEASE_SECONDS),
        "NOTIFY_POLL_INTERVAL": "3",
        "LOG_LEVEL": "INFO",
    }
    running = Cluster(env, tmp_path)
    yield running
    await running.stop_all()


@dataclass(frozen=True, slots=True)
class Client:
    """A client of the service company: an Okdesk contact with one ticket, bound in Telegram."""

    contact_id: int
    issue_id: int
    chat_id: int


@pytest.fixture
def clients_factory(
    database_url: str, okdesk: OkdeskEmulator, telegram: TelegramEmulator
) -> ClientsFactory:
    return ClientsFactory(database_url, okdesk, telegram)


class ClientsFactory:
    """Creates contacts and tickets in Okdesk and binds Telegram users to them in the database
    (as a finished registration leaves them), before any instance starts."""

    def __init__(self, database_url: str, okdesk: OkdeskEmulator, telegram: TelegramEmulator):
        self._database_url = database_url
        self._okdesk = okdesk
        self._telegram = telegram

    async def create(self, count: int) -> list[Client]:
        clients = []
        for n in range(count):
            contact = self._okdesk.state.create_contact(
                {"first_name": f"Клиент{n}", "last_name": "Тестов"}
            )
            issue = await self._okdesk.create_issue(f"Заявка клиента {n}", contact_id=contact.id)
            chat_id = FIRST_USER_ID + n
            self._telegram.user(chat_id, f"Клиент{n}")
            clients.append(Client(contact.id, issue.id, chat_id))
        engine = create_engine(self._database_url)
        try:
            async with UnitOfWork(create_session_factory(engine)) as uow:
                for n, client in enumerate(clients):
                    await uow.users.get_or_create(
                        client.chat_id, chat_id=client.chat_id, language_code="ru"
                    )
                    await uow.users.save_binding(
                        client.chat_id,
                        kind=UserKind.INDIVIDUAL,
                        phone=f"+7999{n:07d}",
                        okdesk_contact_id=client.contact_id,
                        registered_at=datetime.now(UTC),
                    )
                await uow.commit()
        finally:
            await engine.dispose()
        return clients

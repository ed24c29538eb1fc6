"""The bench rig: fresh databases, the emulators, the service as `okdesk-bot` child processes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from okdesk_bot.db.engine import create_engine, create_session_factory, to_async_url
from okdesk_bot.db.migrate import upgrade_async
from okdesk_bot.db.models import INBOX_UNPROCESSED, InboxEvent, User, UserKind
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.okdesk.webhooks import code_name, issue_event
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator

BOT_TOKEN = "424242:BENCH-token"  # noqa: S105 - the emulator's fake token
OKDESK_TOKEN = "bench-okdesk-token"  # noqa: S105 - the emulator's fake token
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 - a local, throwaway secret
_STARTUP_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0
# Seed data of the Okdesk emulator: contact 1 (company 1) owns ticket 1; nobody here is bound
# to contact 2, the owner of ticket 2.
FOLLOWED_ISSUE = 1
FOLLOWED_CONTACT = 1
FOLLOWED_COMPANY = 1
UNFOLLOWED_ISSUE = 2
SPREAD_FIRST_TICKET = 10_000
"""The first id of the tickets `StatusWebhooks` spreads over (contact 2's, like ticket 2)."""
SPREAD_TICKETS = 100
"""How many tickets the load of the ingest and notice benchmarks is spread over."""


@asynccontextmanager
async def fresh_database(backend: str, workdir: Path, postgres_url: str) -> AsyncIterator[str]:
    """A migrated, empty database: a new SQLite file or a new PostgreSQL database (dropped
    afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        await upgrade_async(url)
        yield url
        return
    name = f"okdesk_bot_bench_{uuid.uuid4().hex[:12]}"
    await _admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        await upgrade_async(url)
        yield url
    finally:
        await _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(
        to_async_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def bind_users(database_url: str, first_id: int, count: int) -> list[int]:
    """Store `count` finished registrations (contact 1, company 1); returns their Telegram ids."""
    ids = list(range(first_id, first_id + count))
    now = datetime.now(UTC)
    rows = [
        {
            "telegram_user_id": user_id,
            "chat_id": user_id,
            "language_code": "ru",
            "kind": UserKind.INDIVIDUAL,
            "phone": "+79991234567",
            "okdesk_contact_id": FOLLOWED_CONTACT,
            "okdesk_company_id": FOLLOWED_COMPANY,
            "registered_at": now,
        }
        for user_id in ids
    ]
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            for start in range(0, len(rows), 1000):
                await session.execute(insert(User), rows[start : start + 1000])
            await session.commit()
    finally:
        await engine.dispose()
    return ids


async def count_inbox(database_url: str, *, unprocessed_only: bool = False) -> int:
    """Rows in the inbox (or only those not processed yet)."""
    query = select(func.count()).select_from(InboxEvent)
    if unprocessed_only:
        query = query.where(InboxEvent.status.in_(INBOX_UNPROCESSED))
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(query) or 0)
    finally:
        await engine.dispose()


@dataclass(slots=True)
class SendLog:
    """When the Telegram emulator accepted each `sendMessage` (perf_counter seconds)."""

    accepted: list[float] = field(default_factory=list)
    _awaited: int = 0
    _reached: asyncio.Event = field(default_factory=asyncio.Event)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if request.path.endswith("/sendMessage") and response.status == HTTPStatus.OK:
            self.accepted.append(time.perf_counter())
            if len(self.accepted) >= self._awaited:
                self._reached.set()
        return response

    async def wait_for(self, count: int, timeout: float) -> None:  # noqa: ASYNC109 - a bound
        """Until `count` messages were accepted, or `timeout` s passed (then the caller sees
        fewer in `accepted`)."""
        self._awaited = count
        self._reached.clear()
        if len(self.accepted) >= count:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reached.wait(), timeout)


@asynccontextmanager
async def emulators(
    *, per_chat_rate: float | None = None, global_rate: float | None = None
) -> AsyncIterator[tuple[OkdeskEmulator, TelegramEmulator, SendLog]]:
    """Both emulators on free ports (Okdesk at zero latency); Telegram's limits as given."""
    okdesk = OkdeskEmulator(api_token=OKDESK_TOKEN)
    telegram = TelegramEmulator(
        tokens=[BOT_TOKEN], per_chat_rate=per_chat_rate, global_rate=global_rate
    )
    sends = SendLog()
    telegram.app.middlewares.append(sends.middleware)
    await okdesk.start()
    await telegram.start()
    try:
        yield okdesk, telegram, sends
    finally:
        await telegram.stop()
        await okdesk.stop()


@dataclass(slots=True)
class ServiceProcess:
    """One `okdesk-bot` child process."""

    process: asyncio.subprocess.Process
    port: int

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook?secret={WEBHOOK_SECRET}"

    def rss_mib(self) -> float:
        """Resident set size now, from /proc (Linux)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def free_port() -> int:
    """A TCP port nobody listens on right now (for a child process to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_environment(
    okdesk: OkdeskEmulator,
    telegram: TelegramEmulator,
    database_url: str,
    *,
    port: int,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Everything the child needs, from the environment only (it runs in an empty directory)."""
    return {
        **plain_environment(),
        "BOT_TOKEN": BOT_TOKEN,
        "OKDESK_API_URL": okdesk.api_url,
        "OKDESK_API_TOKEN": OKDESK_TOKEN,
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_URL": database_url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NOTIFY_MODE": "webhook",
        "LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


@asynccontextmanager
async def service(
    command: str,
    okdesk: OkdeskEmulator,
    telegram: TelegramEmulator,
    database_url: str,
    *,
    extra: Mapping[str, str] | None = None,
) -> AsyncIterator[ServiceProcess]:
    """`okdesk-bot <command>` (`run` or `webhook`) until the block exits, then SIGTERM."""
    port = free_port()
    env = service_environment(okdesk, telegram, database_url, port=port, extra=extra)
    async with child_process(["okdesk_bot", command], env, port) as child:
        yield child


@asynccontextmanager
async def child_process(
    module_args: list[str], env: Mapping[str, str], port: int
) -> AsyncIterator[ServiceProcess]:
    """`python -m <module_args>` in an empty directory, ready once GET /health answers."""
    with tempfile.TemporaryDirectory(prefix="okdesk-bench-") as workdir:
        log_path = Path(workdir) / "child.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                *module_args,
                env=dict(env),
                cwd=workdir,
                stdout=log_file,
                stderr=log_file,
            )
            child = ServiceProcess(process, port)
            try:
                await _wait_healthy(child, log_path)
                yield child
            finally:
                await _stop(process)


def plain_environment() -> dict[str, str]:
    """The child's environment without any of the service's settings."""
    return {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}


async def _wait_healthy(child: ServiceProcess, log_path: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if child.process.returncode is not None:
                break
            try:
                async with session.get(f"http://127.0.0.1:{child.port}/health") as answer:
                    await answer.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    log_text = await asyncio.to_thread(log_path.read_text, encoding="utf-8", errors="replace")
    tail = log_text[-2000:]
    msg = f"the service did not come up on port {child.port}; its log ends:\n{tail}"
    raise RuntimeError(msg)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()


class StatusWebhooks:
    """Status-change webhooks, each with its own event time (so its own dedup key), built by
    the Okdesk emulator's own payload code from one of its tickets.

    With ``tickets`` > 1 the webhooks take turns over that many tickets of the same contact
    (ids from :data:`SPREAD_FIRST_TICKET`), as an account's traffic does; with 1, every
    webhook is about the same ticket, whose events the service must process in order.
    """

    def __init__(self, okdesk: OkdeskEmulator, issue_id: int, *, tickets: int = 1) -> None:
        state = okdesk.state
        issue = state.issues[issue_id]
        opened, in_progress = state.statuses["opened"], state.statuses["in_progress"]
        self._template = issue_event(
            state,
            issue,
            "new_ticket_status",
            okdesk.staff.employee(None),
            old_status=code_name(opened),
            new_status=code_name(in_progress),
            attachments=[],
        )
        self._tickets = tickets
        # Whole seconds (a timestamp may lose its fraction), from a future minute of this run.
        self._base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        self._numbers = itertools.count()

    def __call__(self, _index: int) -> dict[str, Any]:
        """The next webhook: the template with an event time no earlier call used."""
        number = next(self._numbers)
        moment = self._base + timedelta(seconds=number)
        event = {**self._template["event"], "created_at": moment.isoformat()}
        webhook = {**self._template, "event": event}
        if self._tickets > 1:
            ticket = SPREAD_FIRST_TICKET + number % self._tickets
            webhook["issue"] = {**self._template["issue"], "id": ticket}
        return webhook


async def open_chats(telegram: TelegramEmulator, user_ids: list[int]) -> list[EmulatedUser]:
    """Each person writes to the bot once: Telegram lets a bot write only to such people."""
    people = [
        telegram.user(user_id, f"Bench {user_id}", language_code="ru") for user_id in user_ids
    ]
    for person in people:
        await person.send_text("Здравствуйте")
    return people

"""One writer at a time, in arrival order, for a SQLite file shared by one process's tasks.

SQLite lets one connection write at a time. When a second connection wants to write, SQLite's
busy handler makes it sleep and try again (1, 2, 5, 10 … up to 100 ms between tries) until
`busy_timeout` runs out. Under a steady stream of short write transactions a waiter keeps
losing the race to newcomers, so a few writes wait for a second or more: at 200 webhooks/s
the webhook answer's p99 was about 1 s while its p50 was 10 ms.

`WriteGate` queues the process's writers instead. A connection takes the gate (an
`asyncio.Lock`, which serves waiters first come, first served) just before its first writing
statement, and gives it back when it returns to the pool, after its commit or rollback. Within
the process SQLite never sees two writers, so nobody sleeps in the busy handler. Reads do not
take the gate: in WAL mode they never wait for a writer.

The gate is hooked into SQLAlchemy's connection events. They run synchronously inside the
greenlet that SQLAlchemy's asyncio layer drives, where `sqlalchemy.util.await_` may wait for
the lock without blocking the event loop. A writer that cannot get the gate within the
busy timeout fails the same way SQLite would ("database is locked"), so a task that writes
on two connections at once gets an error instead of waiting for itself forever.
Other processes on the same file (an admin's `okdesk-bot db upgrade`, say) still meet
SQLite's own locking and its busy timeout.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

_WRITING: Final = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|WITH|BEGIN)\b", re.IGNORECASE
)
"""Statements that take (or may take) SQLite's write lock; `WITH` may lead to a write."""


class WriteGate:
    """The process's queue for SQLite's write lock (see the module docstring)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._holder: object | None = None  # the pool entry of the connection holding it

    @property
    def locked(self) -> bool:
        """True while some connection holds the gate."""
        return self._lock.locked()

    def install(self, engine: AsyncEngine) -> None:
        """Make every connection of `engine` take the gate before writing."""
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine.pool, "checkin", self._on_checkin)

    def _before_execute(
        self,
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        # The pool entry outlives an invalidated DBAPI connection, so checkin always finds it.
        record = connection.connection._connection_record
        if record is None or record is self._holder or not _WRITING.match(statement):
            return
        await_(self._acquire())
        self._holder = record

    async def _acquire(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock.acquire()
        except TimeoutError:
            msg = f"database is locked (no write turn within {self.timeout:g} s)"
            raise sqlite3.OperationalError(msg) from None

    def _on_checkin(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record is self._holder:
            self._holder = None
            self._lock.release()

"""Async engine and session factory for the `DATABASE_URL` an admin writes.

Admins write ordinary (sync) URLs such as `sqlite:///okdesk_bot.db` or
`postgresql://bot:secret@db/bot`; `to_async_url` maps them onto the async drivers the service
uses (aiosqlite, asyncpg). Error messages never repeat the URL: it may hold a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sqlalchemy import event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from okdesk_bot.db.sqlite_gate import WriteGate

SQLITE_ASYNC_SCHEME: Final = "sqlite+aiosqlite"
POSTGRES_ASYNC_SCHEME: Final = "postgresql+asyncpg"

_ASYNC_SCHEMES: Final[dict[str, str]] = {
    "sqlite": SQLITE_ASYNC_SCHEME,
    "sqlite+pysqlite": SQLITE_ASYNC_SCHEME,
    SQLITE_ASYNC_SCHEME: SQLITE_ASYNC_SCHEME,
    "postgresql": POSTGRES_ASYNC_SCHEME,
    "postgres": POSTGRES_ASYNC_SCHEME,
    "postgresql+psycopg2": POSTGRES_ASYNC_SCHEME,
    "postgresql+psycopg": POSTGRES_ASYNC_SCHEME,
    POSTGRES_ASYNC_SCHEME: POSTGRES_ASYNC_SCHEME,
}

SQLITE_BUSY_TIMEOUT_MS: Final = 5000
_SQLITE_PRAGMAS: Final = (
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
)


class DatabaseUrlError(ValueError):
    """`DATABASE_URL` cannot be used; the message is written for the admin."""


def to_async_url(url: str) -> str:
    """Map a sync database URL onto its async driver; async URLs come back unchanged.

    Raises `DatabaseUrlError` (a `ValueError`) for anything but SQLite and PostgreSQL.
    """
    scheme, separator, rest = url.strip().partition("://")
    async_scheme = _ASYNC_SCHEMES.get(scheme.lower()) if separator else None
    if async_scheme is None:
        shown = f"scheme {scheme!r}" if separator else "a value without a scheme"
        msg = (
            f"DATABASE_URL has {shown}; use SQLite (sqlite:///path/to/bot.db) "
            "or PostgreSQL (postgresql://user:password@host:5432/dbname)"
        )
        raise DatabaseUrlError(msg)
    return f"{async_scheme}://{rest}"


# Connections one process may hold. An update being handled holds up to two at once (its unit
# of work and the dialog storage), so the Dispatcher handles at most
# `bot.middlewares.MAX_CONCURRENT_UPDATES` updates at a time, leaving room for the workers.
POOL_SIZE = 10
POOL_OVERFLOW = 20


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for `url` (sync or async form) with per-backend tuning.

    SQLite gets WAL journaling (files only), a busy timeout, enforced foreign keys and
    `synchronous=NORMAL` on every connection, and a file's writers queue in the process
    (`okdesk_bot.db.sqlite_gate`); PostgreSQL gets a pre-pinged, recycled pool.
    """
    async_url = make_url(to_async_url(url))
    if async_url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(async_url, echo=echo)
    return _create_async_engine(
        async_url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_recycle=1800,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no implicit reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _create_sqlite_engine(url: URL, *, echo: bool) -> AsyncEngine:
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or url.query.get("mode") == "memory"
    if not in_memory:
        _require_parent_directory(Path(database))
    engine = (
        _create_async_engine(url, echo=echo)
        if in_memory
        else _create_async_engine(url, echo=echo, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    )
    pragmas = _SQLITE_PRAGMAS if in_memory else ("PRAGMA journal_mode = WAL", *_SQLITE_PRAGMAS)
    if not in_memory:  # an in-memory database lives in one connection: nothing to queue for
        WriteGate(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000).install(engine)

    @event.listens_for(engine.sync_engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    return engine


def _require_parent_directory(path: Path) -> None:
    directory = path.absolute().parent
    if not directory.is_dir():
        msg = (
            f"DATABASE_URL points at a SQLite file in {directory}, which does not exist; "
            "create the directory or change DATABASE_URL"
        )
        raise DatabaseUrlError(msg)

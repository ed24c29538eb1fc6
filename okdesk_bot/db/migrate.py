"""Schema migrations (Alembic) driven from code, so they work from an installed package.

There is no `alembic.ini`: `alembic_config()` builds the configuration with `script_location`
pointing into this package. Migrations run on the service's own async engine (same driver
mapping and SQLite pragmas as at run time), except that SQLite foreign keys are not enforced
while migrating (see `migration_engine`).

Call `upgrade()`/`downgrade()` from synchronous code (the CLI) and `upgrade_async()` from a
running event loop; the latter shares one connection with Alembic instead of nesting loops.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

from okdesk_bot.db.engine import create_engine

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Key of `Config.attributes` through which a caller hands env.py an open connection.
CONNECTION_ATTRIBUTE: Final = "connection"


def migration_engine(database_url: str) -> AsyncEngine:
    """The service's engine, except that SQLite does not enforce foreign keys while migrating.

    SQLite's batch operations re-create a table and drop the old copy; with enforcement on,
    that DROP deletes every row first and cascades the deletes into the child tables.
    """
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _disable_sqlite_foreign_keys)
    return engine


def _disable_sqlite_foreign_keys(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = OFF")
    finally:
        cursor.close()


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic configuration for this package's migrations (and a database, if given).

    Also the way to write a new migration:
    `alembic.command.revision(alembic_config(url), message="...", autogenerate=True)`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        # The ini-style parser interpolates `%`; URL-encoded passwords contain it.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision this code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        msg = f"no migrations found in {MIGRATIONS_DIR}"
        raise RuntimeError(msg)
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`; call without a running event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision`; call without a running event loop."""
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """`upgrade()` for code already running in an event loop (e.g. service start-up)."""
    engine = migration_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, revision)
    finally:
        await engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    return asyncio.run(current_revision_async(database_url))


async def current_revision_async(database_url: str) -> str | None:
    """`current_revision()` for code already running in an event loop."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision_on)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes[CONNECTION_ATTRIBUTE] = connection
    command.upgrade(config, revision)


def _current_revision_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()

"""Alembic migration environment (async engine; no alembic.ini, see `okdesk_bot.db.migrate`).

Two ways in: a caller running inside an event loop hands over an open connection through
`config.attributes` (`migrate.upgrade_async`); otherwise (the CLI, `alembic.command.*`) this
module opens its own engine from `sqlalchemy.url` and runs it in a fresh event loop.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from okdesk_bot.db import models  # noqa: F401 - importing it registers the tables
from okdesk_bot.db.base import Base
from okdesk_bot.db.migrate import CONNECTION_ATTRIBUTE, migration_engine

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: autogenerate "move and copy" batch operations.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(database_url: str) -> None:
    engine = migration_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        msg = "offline (--sql) migrations are not supported; run them against a database"
        raise RuntimeError(msg)
    config = context.config
    connection: Connection | None = config.attributes.get(CONNECTION_ATTRIBUTE)
    if connection is not None:
        run_migrations(connection)
        return
    database_url = config.get_main_option("sqlalchemy.url")
    if database_url is None:
        msg = "no database given: build the config with okdesk_bot.db.migrate.alembic_config(url)"
        raise RuntimeError(msg)
    asyncio.run(run_with_own_engine(database_url))


main()

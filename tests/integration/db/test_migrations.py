from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from okdesk_bot.db import migrate
from okdesk_bot.db.base import Base
from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    current_revision_async,
    downgrade,
    head_revision,
    upgrade,
    upgrade_async,
)
from okdesk_bot.db.uow import UnitOfWork


def _revisions_oldest_first() -> list[tuple[str, str]]:
    """(revision, the revision below it or "base") for every migration, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    steps = [
        (revision.revision, str(revision.down_revision or "base"))
        for revision in script.walk_revisions()
    ]
    return steps[::-1]


async def _table_names(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            names: list[str] = await connection.run_sync(
                lambda sync: inspect(sync).get_table_names()
            )
    finally:
        await engine.dispose()
    return set(names)


def test_stairway_every_migration_upgrades_downgrades_and_upgrades_again(
    empty_database_url: str,
) -> None:
    for revision, previous in _revisions_oldest_first():
        upgrade(empty_database_url, revision)
        downgrade(empty_database_url, previous)
        upgrade(empty_database_url, revision)
        assert current_revision(empty_database_url) == revision

    assert current_revision(empty_database_url) == head_revision()


def test_upgrade_creates_every_model_table_and_downgrade_removes_them(
    empty_database_url: str,
) -> None:
    assert current_revision(empty_database_url) is None

    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
    assert asyncio.run(_table_names(empty_database_url)) == {
        "alembic_version",
        *Base.metadata.tables,
    }

    downgrade(empty_database_url, "base")
    assert current_revision(empty_database_url) is None
    assert asyncio.run(_table_names(empty_database_url)) == {"alembic_version"}


async def test_upgrade_from_a_running_event_loop(empty_database_url: str) -> None:
    assert await current_revision_async(empty_database_url) is None

    await upgrade_async(empty_database_url)

    assert await current_revision_async(empty_database_url) == head_revision()


def _schema_differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)

    assert differences == []


BATCH_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("phone", type_=sa.String(32))


def downgrade() -> None:
    pass
"""


async def _seed_user_with_ticket(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(create_session_factory(engine)) as uow:
            user = await uow.users.get_or_create(1, chat_id=1)
            await uow.tickets.create_draft(user_id=user.id, dedup_key="1:1", title="t", payload={})
            await uow.commit()
    finally:
        await engine.dispose()


async def _count_tickets(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            count: int = await connection.scalar(text("SELECT count(*) FROM tickets"))
    finally:
        await engine.dispose()
    return count


@pytest.mark.parametrize("from_event_loop", [False, True], ids=["sync", "async"])
def test_sqlite_table_rebuild_does_not_cascade_into_child_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, from_event_loop: bool
) -> None:
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(database_url)
    asyncio.run(_seed_user_with_ticket(database_url))
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_rebuild_users.py").write_text(
        BATCH_MIGRATION.format(head=head_revision())
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)

    if from_event_loop:
        asyncio.run(upgrade_async(database_url))
    else:
        upgrade(database_url)

    assert current_revision(database_url) == "9999"
    assert asyncio.run(_count_tickets(database_url)) == 1

from __future__ import annotations

from pathlib import Path

import pytest

from okdesk_bot.db.engine import DatabaseUrlError, create_engine, to_async_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///okdesk_bot.db", "sqlite+aiosqlite:///okdesk_bot.db"),
        ("sqlite:///data/bot.db", "sqlite+aiosqlite:///data/bot.db"),
        ("sqlite:////var/lib/bot/bot.db", "sqlite+aiosqlite:////var/lib/bot/bot.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite+pysqlite:///bot.db", "sqlite+aiosqlite:///bot.db"),
        ("sqlite+aiosqlite:///bot.db", "sqlite+aiosqlite:///bot.db"),
        ("postgresql://bot:s%40cret@db:5432/bot", "postgresql+asyncpg://bot:s%40cret@db:5432/bot"),
        ("postgres://bot@db/bot", "postgresql+asyncpg://bot@db/bot"),
        ("postgresql+psycopg2://bot@db/bot", "postgresql+asyncpg://bot@db/bot"),
        ("postgresql+psycopg://bot@db/bot", "postgresql+asyncpg://bot@db/bot"),
        (
            "postgresql+asyncpg://bot@db/bot?ssl=require",
            "postgresql+asyncpg://bot@db/bot?ssl=require",
        ),
        ("  postgresql://bot@db/bot\n", "postgresql+asyncpg://bot@db/bot"),
    ],
)
def test_sync_urls_map_to_async_drivers(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


@pytest.mark.parametrize(
    "url", ["mysql://bot:hunter2@db/bot", "okdesk_bot.db", "", "redis://localhost:6379/0"]
)
def test_unsupported_url_is_rejected_naming_the_setting(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as caught:
        to_async_url(url)
    assert "hunter2" not in str(caught.value)


def test_sqlite_file_in_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(DatabaseUrlError, match="does not exist") as caught:
        create_engine(f"sqlite:///{missing / 'bot.db'}")
    assert str(missing) in str(caught.value)

"""`okdesk-bot check`: what an admin sees before the first start."""

from __future__ import annotations

import re
from pathlib import Path

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from tests.e2e.conftest import WEBHOOK_SECRET, run_cli
from tests.support import BOT_TOKEN, OKDESK_TOKEN


async def test_all_checks_pass_against_the_emulators(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    result = await run_cli("check", env=service_env, cwd=tmp_path)
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    for name in (
        "Okdesk API",
        "Okdesk companies by INN",
        "Okdesk contacts",
        "Telegram",
        "Database",
        "Okdesk webhook",
    ):
        assert any(line.startswith(f"✓ {name}:") for line in lines), (name, result.stdout)
    assert "✗" not in result.stdout
    webhook = f"{service_env['WEBHOOK_URL']}/webhook?secret={WEBHOOK_SECRET}"
    assert webhook in lines
    assert "All checks passed." in result.stdout


async def test_a_rejected_okdesk_token_is_explained_without_leaking_it(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    wrong = "wrong-okdesk-token-123"
    result = await run_cli("check", env={**service_env, "OKDESK_API_TOKEN": wrong}, cwd=tmp_path)
    assert result.code == 1
    assert "✗ Okdesk API: Okdesk rejected the token (HTTP 401)" in result.stdout
    assert "fix: copy OKDESK_API_TOKEN again" in result.stdout
    assert "skipped" in result.stdout  # the rights checks are not failed twice
    assert "✓ Telegram" in result.stdout  # the other checks still ran
    assert wrong not in result.output
    assert OKDESK_TOKEN not in result.output


async def test_an_api_url_without_api_v1_is_explained(
    service_env: dict[str, str], okdesk: OkdeskEmulator, tmp_path: Path
) -> None:
    env = {**service_env, "OKDESK_API_URL": okdesk.base_url + "/api/v2"}
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "✗ Okdesk API:" in result.stdout
    assert "HTTP 404" in result.stdout
    assert "must be the API base" in result.stdout


async def test_an_unreachable_okdesk_is_explained(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "OKDESK_API_URL": "http://127.0.0.1:9/api/v1"}
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "✗ Okdesk API: cannot connect to 127.0.0.1:9" in result.stdout


async def test_a_wrong_inn_parameter_code_is_explained(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "OKDESK_INN_PARAMETER_CODE": "tax_number"}
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "✗ Okdesk companies by INN:" in result.stdout
    assert "'tax_number'" in result.stdout
    assert re.search(r"attribute codes seen: [^)]*\binn\b", result.stdout)


async def test_a_rejected_bot_token_is_explained(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    unknown = "987654:UNKNOWN-token-abcdefgh"
    result = await run_cli("check", env={**service_env, "BOT_TOKEN": unknown}, cwd=tmp_path)
    assert result.code == 1
    assert "✗ Telegram: Telegram rejected BOT_TOKEN (401 Unauthorized)" in result.stdout
    assert unknown not in result.output
    assert BOT_TOKEN not in result.output


async def test_an_unwritable_database_is_explained(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'bot.db'}"}
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "✗ Database: cannot use the database" in result.stdout
    assert "skipped" not in result.stdout.split("Database", 1)[1].split("\n")[0]


async def test_missing_settings_are_named(service_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in service_env.items() if k not in {"BOT_TOKEN", "OKDESK_API_TOKEN"}}
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "BOT_TOKEN is not set" in result.stdout
    assert "OKDESK_API_TOKEN is not set" in result.stdout

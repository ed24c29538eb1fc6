"""`okdesk-bot run` as an admin starts it: health, Telegram intake, clean shutdown."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from okdesk_bot import __version__
from okdesk_bot.emulators.telegram import TelegramEmulator
from tests.e2e.conftest import CLI, StartService, run_cli


@pytest.mark.parametrize("backend_url", ["sqlite", "postgresql"], indirect=True)
async def test_run_serves_health_and_answers_in_telegram(
    service_env: dict[str, str],
    telegram: TelegramEmulator,
    start_service: StartService,
    empty_database_url: str,
) -> None:
    service = await start_service("run", env={**service_env, "DATABASE_URL": empty_database_url})
    health = await service.wait_healthy()
    assert health["status"] == "ok"
    assert health["version"] == __version__
    components = health["components"]
    assert isinstance(components, dict)
    assert components["database"]["status"] == "ok"

    person = telegram.user(5_000_000_001, "Анна", language_code="ru")
    await person.send_command("/start")
    greeting = await person.wait_for_bot_message(timeout=20)
    assert greeting.text is not None
    assert "Анна" in greeting.text

    english = telegram.user(5_000_000_002, "John", language_code="en")
    await english.send_command("/help")
    help_text = await english.wait_for_bot_message(timeout=20)
    assert help_text.text is not None
    assert "What I can do" in help_text.text

    commands = {call.params.get("language_code") for call in telegram.calls("setMyCommands")}
    assert commands == {None, "en"}

    assert await service.stop(signal.SIGTERM) == 0
    log = service.read_log()
    assert "Stopped" in log
    assert "Traceback" not in log
    assert service_env["BOT_TOKEN"] not in log


async def test_sigint_stops_the_service_cleanly(
    service_env: dict[str, str], start_service: StartService
) -> None:
    service = await start_service("run", env=service_env)
    await service.wait_healthy()
    assert await service.stop(signal.SIGINT) == 0
    assert "Traceback" not in service.read_log()


async def test_the_halves_run_as_two_processes_on_one_database(
    service_env: dict[str, str], telegram: TelegramEmulator, start_service: StartService
) -> None:
    web = await start_service("webhook", env=service_env)
    await web.wait_healthy()
    bot = await start_service("bot", env={**service_env, "PORT": "9"})  # no HTTP server here
    person = telegram.user(5_000_000_003, "Пётр")
    await person.send_command("/start")
    assert "Пётр" in ((await person.wait_for_bot_message(timeout=20)).text or "")
    assert await bot.stop() == 0
    assert await web.stop() == 0


async def test_a_bad_configuration_stops_before_starting(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "BOT_TOKEN": "your_bot_token_here"}
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2
    assert "BOT_TOKEN is empty or a placeholder" in result.stderr
    assert "@BotFather" in result.stderr


async def test_db_upgrade_version_and_help(service_env: dict[str, str], tmp_path: Path) -> None:
    database = tmp_path / "only-db.db"
    env = {"PATH": service_env["PATH"], "DATABASE_URL": f"sqlite:///{database}"}
    upgraded = await run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.code == 0, upgraded.output
    assert database.exists()
    version = await run_cli("--version", env=env, cwd=tmp_path)
    assert version.stdout.strip() == f"okdesk-bot {__version__}"
    help_result = await run_cli("--help", env=env, cwd=tmp_path)
    for command in ("run", "bot", "webhook", "check", "db", "emulate"):
        assert f"    {command} " in help_result.stdout, command


async def test_python_dash_m_is_the_same_cli(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(CLI.with_name("python")),
        "-m",
        "okdesk_bot",
        "--version",
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    stdout, _ = await process.communicate()
    assert stdout.decode().strip() == f"okdesk-bot {__version__}"

"""Settings: the admin's contract. Names, defaults, placeholders and secrecy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from okdesk_bot.config import (
    ConfigError,
    DatabaseSettings,
    Settings,
    derive_web_url,
    load_database_settings,
    load_settings,
)

VALID = {
    "BOT_TOKEN": "123456789:AAExampleExampleExample_-1",
    "OKDESK_API_URL": "https://acme.okdesk.ru/api/v1",
    "OKDESK_API_TOKEN": "d2c4f1e0a9b8",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """No variable or .env file from the developer's machine leaks into a test."""
    for name in (
        *VALID,
        "WEBHOOK_SECRET",
        "OKDESK_WEB_URL",
        "OKDESK_TIMEZONE",
        "DATABASE_URL",
        "WEBHOOK_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in {**VALID, **values}.items():
        monkeypatch.setenv(name, value)


def test_reads_the_original_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, WEBHOOK_PATH="/okdesk", PORT="9000", HOST="127.0.0.1")
    settings = load_settings()
    assert settings.bot_token.get_secret_value() == VALID["BOT_TOKEN"]
    assert settings.okdesk_api_url == VALID["OKDESK_API_URL"]
    assert settings.webhook_path == "/okdesk"
    assert (settings.host, settings.port) == ("127.0.0.1", 9000)
    assert settings.database_url == "sqlite:///okdesk_bot.db"


def test_reads_a_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    lines = [f"{name}={value}" for name, value in VALID.items()]
    (tmp_path / ".env").write_text("\n".join(lines), encoding="utf-8")  # type: ignore[operator]
    assert load_settings().okdesk_api_token.get_secret_value() == VALID["OKDESK_API_TOKEN"]


def test_web_url_is_derived_from_the_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch)
    assert load_settings().issue_url(42) == "https://acme.okdesk.ru/issues/42"


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("https://acme.okdesk.ru/api/v1", "https://acme.okdesk.ru"),
        ("https://acme.okdesk.ru/api/v1/", "https://acme.okdesk.ru"),
        ("https://sd.example.com/helpdesk/api/v1", "https://sd.example.com/helpdesk"),
        ("http://127.0.0.1:8081/api/v1", "http://127.0.0.1:8081"),
    ],
)
def test_derive_web_url(api_url: str, web_url: str) -> None:
    assert derive_web_url(api_url) == web_url


def test_explicit_web_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OKDESK_WEB_URL="https://portal.example.com/")
    assert load_settings().issue_url(7) == "https://portal.example.com/issues/7"


def test_missing_values_are_named_with_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKDESK_API_URL", VALID["OKDESK_API_URL"])
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "BOT_TOKEN is not set" in message
    assert "@BotFather" in message
    assert "OKDESK_API_TOKEN is not set" in message
    assert "OKDESK_API_URL" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOT_TOKEN", "your_bot_token_here"),
        ("BOT_TOKEN", "<token>"),
        ("BOT_TOKEN", "not-a-token"),
        ("OKDESK_API_TOKEN", "changeme"),
        ("OKDESK_API_TOKEN", "your-okdesk-token"),
        ("OKDESK_API_URL", "https://<account>.okdesk.ru/api/v1"),
        ("OKDESK_API_URL", "acme.okdesk.ru"),
    ],
)
def test_placeholders_and_malformed_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    configure(monkeypatch, **{name: value})
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert name in str(caught.value)
    assert value not in str(caught.value) or name == "OKDESK_API_URL"


def test_the_account_time_zone_is_moscow_unless_an_admin_names_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch)
    assert str(load_settings().okdesk_timezone) == "Europe/Moscow"
    monkeypatch.setenv("OKDESK_TIMEZONE", " Asia/Yekaterinburg ")
    assert str(load_settings().okdesk_timezone) == "Asia/Yekaterinburg"


@pytest.mark.parametrize("value", ["MSK+2", "Europe/Nowhere", "../../etc/passwd", "UTC+5"])
def test_an_unknown_time_zone_is_refused_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    configure(monkeypatch, OKDESK_TIMEZONE=value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "OKDESK_TIMEZONE" in str(caught.value)
    assert "Asia/Yekaterinburg" in str(caught.value)  # what a valid value looks like


def test_secrets_never_show_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, WEBHOOK_SECRET="s3cr3t-webhook-value", PORT="not-a-port")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "PORT" in str(caught.value)
    for secret in (VALID["BOT_TOKEN"], VALID["OKDESK_API_TOKEN"], "s3cr3t-webhook-value"):
        assert secret not in str(caught.value)
    monkeypatch.setenv("PORT", "8080")
    settings = load_settings()
    for secret in (VALID["BOT_TOKEN"], VALID["OKDESK_API_TOKEN"], "s3cr3t-webhook-value"):
        assert secret not in repr(settings)
        assert secret not in str(settings.model_dump())


def test_empty_optional_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, WEBHOOK_SECRET="", REDIS_URL="", WEBHOOK_URL="")
    settings = load_settings()
    assert settings.webhook_secret is None
    assert settings.redis_url is None
    assert settings.webhook_url is None


def test_database_maintenance_needs_no_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/okdesk")
    settings = load_database_settings()
    assert isinstance(settings, DatabaseSettings)
    assert not isinstance(settings, Settings)
    assert settings.database_url == "postgresql://u@db/okdesk"


def test_every_setting_is_documented_in_env_example_and_readme() -> None:
    root = Path(__file__).resolve().parents[2]
    example = (root / ".env.example").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        variable = name.upper()
        assert re.search(rf"^{variable}=", example, re.MULTILINE), f"{variable} in .env.example"
        assert f"`{variable}`" in readme, f"{variable} in README"

"""Settings of Telegram webhook mode: the URL, its secret and the trusted proxies."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from okdesk_bot.config import ConfigError, load_settings

REQUIRED = {
    "BOT_TOKEN": "123456789:AAExampleExampleExample_-1",
    "OKDESK_API_URL": "https://acme.okdesk.ru/api/v1",
    "OKDESK_API_TOKEN": "d2c4f1e0a9b8",
}
OPTIONAL = (
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_PATH",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_WEBHOOK_CHECK_IP",
    "TRUSTED_PROXIES",
    "WEBHOOK_PATH",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """Only what each test sets: no developer variable or .env file."""
    for name in OPTIONAL:
        monkeypatch.delenv(name, raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(str(tmp_path))


def test_long_polling_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "")
    settings = load_settings()
    assert settings.telegram_webhook_endpoint is None
    assert settings.trusted_proxies == ()
    assert settings.telegram_webhook_check_ip is False


def test_webhook_endpoint_is_the_base_url_and_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_PATH", "/tg/updates")
    assert load_settings().telegram_webhook_endpoint == "https://bot.example.com/tg/updates"


def test_trusted_proxies_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", " 127.0.0.1, 172.16.0.0/12,,::1 ")
    assert load_settings().trusted_proxies == (
        ip_network("127.0.0.1/32"),
        ip_network("172.16.0.0/12"),
        ip_network("::1/128"),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_WEBHOOK_URL", "bot.example.com"),
        ("TELEGRAM_WEBHOOK_PATH", "telegram"),
        ("TELEGRAM_WEBHOOK_PATH", "/webhook"),  # the Okdesk endpoint's path
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces"),
        ("TELEGRAM_WEBHOOK_SECRET", "changeme"),
        ("TELEGRAM_WEBHOOK_SECRET", "x" * 257),
        ("TRUSTED_PROXIES", "proxy.local"),
    ],
)
def test_bad_values_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_the_telegram_secret_stays_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "Tg_secret-value-123")
    settings = load_settings()
    assert settings.telegram_webhook_secret is not None
    assert settings.telegram_webhook_secret.get_secret_value() == "Tg_secret-value-123"
    assert "Tg_secret-value-123" not in repr(settings)

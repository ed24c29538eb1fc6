"""Service settings: one pydantic-settings class read from the environment and an optional `.env`.

The variable names of the original design (`BOT_TOKEN`, `OKDESK_API_URL`, `OKDESK_API_TOKEN`,
`WEBHOOK_URL`, `WEBHOOK_PATH`, `WEBHOOK_SECRET`, `DATABASE_URL`, `HOST`, `PORT`) are the
contract with admins and never change meaning. Secrets are `SecretStr`: masked in `repr`,
never printed, and rejected when they still hold a placeholder from an example file.
"""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_TELEGRAM_API_URL: Final = "https://api.telegram.org"
DEFAULT_DATABASE_URL: Final = "sqlite:///okdesk_bot.db"
DEFAULT_OKDESK_TIMEZONE: Final = "Europe/Moscow"

_BOT_TOKEN_RE: Final = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")
# What Telegram accepts as a webhook `secret_token`.
_TELEGRAM_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PLACEHOLDER_RE: Final = re.compile(
    r"^(?:|<.*>|\.\.\.|x+|changeme|change[_-]?me|todo|none|null|placeholder|secret|token"
    r"|your[_-].*|.*[_-]here|example.*)$",
    re.IGNORECASE,
)

# Where an admin gets each required value; shown when it is missing or a placeholder.
HOW_TO_GET: Final[dict[str, str]] = {
    "BOT_TOKEN": "create a bot with @BotFather in Telegram (/newbot) and copy the token it gives",
    "OKDESK_API_URL": (
        "your account's API address, https://<account>.okdesk.ru/api/v1 "
        "(or your own domain followed by /api/v1)"
    ),
    "OKDESK_API_TOKEN": (
        "Okdesk → Settings → API → create a key for an employee "
        "whose role can read companies, contacts and issues"
    ),
}


class LogFormat(StrEnum):
    """How log records are rendered."""

    CONSOLE = "console"
    JSON = "json"


class NotifyMode(StrEnum):
    """Where notifications learn about ticket changes."""

    WEBHOOK = "webhook"  # Okdesk webhooks only
    POLL = "poll"  # reconciliation only: reading Okdesk periodically, no webhook needed
    BOTH = "both"  # webhooks, with reconciliation catching the lost ones

    @property
    def polls(self) -> bool:
        return self is not NotifyMode.WEBHOOK


class ConfigError(Exception):
    """The settings cannot be used; the message is written for the admin."""


def is_placeholder(value: str) -> bool:
    """True for empty values and the usual stand-ins copied from example files."""
    return bool(_PLACEHOLDER_RE.match(value.strip()))


def derive_web_url(api_url: str) -> str:
    """`https://acc.okdesk.ru/api/v1` → `https://acc.okdesk.ru` (base of ticket links)."""
    parts = urlsplit(api_url)
    path = parts.path.rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def _http_url(value: str, name: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = f"{name} must be an http(s) URL, got {value!r}"
        raise ValueError(msg)
    return value.rstrip("/")


class DatabaseSettings(BaseSettings):
    """The part of the settings that database maintenance (`okdesk-bot db`) needs."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    database_url: str = DEFAULT_DATABASE_URL


class Settings(DatabaseSettings):
    """Everything the service reads from its environment."""

    bot_token: SecretStr = Field(description="Telegram bot token from @BotFather")
    okdesk_api_url: str = Field(description="Okdesk API base, https://<account>.okdesk.ru/api/v1")
    okdesk_api_token: SecretStr = Field(description="Okdesk API key of an employee")
    okdesk_web_url: str | None = Field(
        default=None, description="Base of ticket links; derived from OKDESK_API_URL when unset"
    )
    okdesk_inn_parameter_code: str = Field(
        default="inn", description="Code of the company custom parameter that holds the INN"
    )
    okdesk_timeout: Annotated[float, Field(gt=0, le=120)] = 15.0
    okdesk_timezone: ZoneInfo = Field(
        default=ZoneInfo(DEFAULT_OKDESK_TIMEZONE),
        description="The Okdesk account's time zone (an IANA name): Okdesk reads date filters "
        "in it, and people are shown times in it",
    )

    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    tickets_per_hour: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=10, description="How many tickets one person may create per hour"
    )

    webhook_url: str | None = Field(
        default=None, description="Public base URL of this service, e.g. https://bot.example.com"
    )
    webhook_path: str = "/webhook"
    webhook_secret: SecretStr | None = None

    telegram_webhook_url: str | None = Field(
        default=None,
        description="Public base URL Telegram sends updates to; unset: long polling",
    )
    telegram_webhook_path: str = "/telegram"
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_check_ip: bool = Field(
        default=False,
        description="Accept Telegram webhooks only from Telegram's published networks",
    )
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = Field(
        default=(),
        description="Proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
        "is believed",
    )

    redis_url: SecretStr | None = None

    notify_rate: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=25.0,
        description="Notifications per second across all chats (Telegram allows about 30)",
    )
    notify_max_attempts: Annotated[int, Field(ge=1, le=100)] = Field(
        default=8,
        description="Delivery attempts of one notification before it becomes a dead letter",
    )

    notify_mode: NotifyMode = Field(
        default=NotifyMode.BOTH,
        description="Sources of ticket changes: webhook, poll (reconciliation only) or both",
    )
    notify_poll_interval: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=60.0, description="Seconds between reconciliation runs (poll and both modes)"
    )
    notify_confirm_max_attempts: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=24,
        description="Attempts at confirming an Okdesk event through the API before giving up",
    )
    notify_confirm_retry_delay: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=5.0,
        description="Seconds before the first retry of an unconfirmed event (doubles each time)",
    )
    notify_lease: Annotated[float, Field(ge=10, le=3600)] = Field(
        default=120.0,
        description=(
            "Seconds after which an event or notice held by a stopped instance, and the "
            "reconciliation leadership, pass to another instance"
        ),
    )

    host: str = "0.0.0.0"  # noqa: S104 - a service in a container listens on all interfaces
    port: Annotated[int, Field(ge=1, le=65535)] = 8080

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.CONSOLE

    @field_validator("bot_token")
    @classmethod
    def _check_bot_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if is_placeholder(token):
            raise ValueError("is empty or a placeholder")
        if not _BOT_TOKEN_RE.match(token):
            raise ValueError("does not look like a bot token (<digits>:<letters>)")
        return SecretStr(token)

    @field_validator("okdesk_timezone", mode="before")
    @classmethod
    def _check_timezone(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        name = value.strip()
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a valid key at all
            msg = (
                f"{name!r} is not a time zone; use a name of the IANA time zone database, "
                "the one the Okdesk account is set to: Europe/Moscow, Asia/Yekaterinburg, …"
            )
            raise ValueError(msg) from None

    @field_validator("okdesk_api_token")
    @classmethod
    def _check_okdesk_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if is_placeholder(token):
            raise ValueError("is empty or a placeholder")
        return SecretStr(token)

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value().strip()
        if is_placeholder(secret):
            raise ValueError("is a placeholder")
        if not _TELEGRAM_SECRET_RE.match(secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return SecretStr(secret)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(ip_network(item.strip()) for item in value.split(",") if item.strip())
        return value

    @field_validator("webhook_secret", "telegram_webhook_secret", "redis_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("okdesk_web_url", "webhook_url", "telegram_webhook_url", mode="before")
    @classmethod
    def _empty_url_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("okdesk_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if is_placeholder(value) or "<account>" in value:
            raise ValueError("is empty or a placeholder")
        return _http_url(value, "OKDESK_API_URL")

    @field_validator("telegram_api_url")
    @classmethod
    def _check_telegram_url(cls, value: str) -> str:
        return _http_url(value, "TELEGRAM_API_URL")

    @field_validator("webhook_path", "telegram_webhook_path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/") or "?" in value or " " in value:
            raise ValueError("must be a path starting with '/', e.g. /webhook")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if self.okdesk_web_url is None:
            self.okdesk_web_url = derive_web_url(self.okdesk_api_url)
        else:
            self.okdesk_web_url = _http_url(self.okdesk_web_url, "OKDESK_WEB_URL")
        if self.webhook_url is not None:
            self.webhook_url = _http_url(self.webhook_url, "WEBHOOK_URL")
        if self.telegram_webhook_url is not None:
            self.telegram_webhook_url = _http_url(
                self.telegram_webhook_url, "TELEGRAM_WEBHOOK_URL"
            )
        if self.telegram_webhook_path == self.webhook_path:
            msg = "TELEGRAM_WEBHOOK_PATH must differ from WEBHOOK_PATH"
            raise ValueError(msg)
        return self

    @property
    def web_url(self) -> str:
        """Base of links to tickets in the Okdesk web interface."""
        assert self.okdesk_web_url is not None  # set by the validator
        return self.okdesk_web_url

    @property
    def telegram_webhook_endpoint(self) -> str | None:
        """The URL given to Telegram's `setWebhook`; None in long-polling mode."""
        if self.telegram_webhook_url is None:
            return None
        return f"{self.telegram_webhook_url}{self.telegram_webhook_path}"

    def issue_url(self, issue_id: int) -> str:
        """Link to one ticket in the Okdesk web interface."""
        return f"{self.web_url}/issues/{issue_id}"


_S = TypeVar("_S", bound=DatabaseSettings)


def _load(cls: type[_S]) -> _S:
    try:
        return cls()
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from None


def load_settings() -> Settings:
    """Read the settings, turning validation errors into one message for the admin."""
    return _load(Settings)


def load_database_settings() -> DatabaseSettings:
    """Read only what database maintenance needs (no tokens required)."""
    return _load(DatabaseSettings)


def describe_errors(exc: ValidationError) -> str:
    """One line per bad variable: its name, what is wrong and how to fix it."""
    lines = ["The configuration is incomplete:"]
    for error in exc.errors(include_input=False, include_url=False):
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        problem = "is not set" if error["type"] == "missing" else _clean(error["msg"])
        hint = HOW_TO_GET.get(name)
        line = f"  - {name} {problem}"
        if hint:
            line += f": {hint}"
        lines.append(line)
    lines.append("Set them in the environment or in a .env file (see .env.example).")
    return "\n".join(lines)


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")

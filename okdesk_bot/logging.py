"""One logging setup for the whole service: console or JSON lines, with secrets redacted.

Redaction happens in a filter on the handler, so it covers records from every library (aiogram,
aiohttp, httpx, SQLAlchemy) and the formatted traceback text, not only our own messages.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

from okdesk_bot.config import LogFormat

REDACTED: Final = "***"

# Secrets that can reach a log line without us putting them there: the Okdesk token travels in
# the query string (`api_token=`), the Telegram token in the path (`/bot<token>/`), the webhook
# secret in the URL Okdesk calls (`secret=`).
_PATTERNS: Final = (
    re.compile(r"(?i)(api_token=)[^&\s'\"]+"),
    re.compile(r"(?i)(secret=)[^&\s'\"]+"),
    re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"),
    re.compile(r"()\b\d{6,}:[A-Za-z0-9_-]{30,}\b"),
)

_STANDARD_ATTRS: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and secret-shaped substrings with `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


# Identifies the unit of work a log line belongs to: `update_id` of a Telegram update,
# `request_id` of an HTTP request. Set with `log_context(...)`; added to every record.
_EMPTY: Mapping[str, object] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("okdesk_bot_log_context", default=_EMPTY)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add `fields` to every log record written inside the block (this task and its children)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current `log_context` fields onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get()
        for key, value in context.items():
            setattr(record, key, value)
        record.context = "".join(f" {key}={value}" for key, value in context.items())
        return True


class RedactingFilter(logging.Filter):
    """Renders each record's message once and removes secrets from it and its traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self._secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={...}` fields are kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key != "context"
        )
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False, default=str)


def setup_logging(
    level: str = "INFO", fmt: LogFormat = LogFormat.CONSOLE, *, secrets: Iterable[str] = ()
) -> None:
    """Configure the root logger once, replacing handlers installed before."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secrets))
    if fmt is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(context)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log every request at INFO would drown the service's own lines.
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

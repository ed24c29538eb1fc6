"""Secrets never reach a log line, whichever library writes it."""

from __future__ import annotations

import json
import logging

import pytest

from okdesk_bot.config import LogFormat
from okdesk_bot.logging import log_context, setup_logging

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class Captured:
    """What the handler wrote: setup_logging binds whatever sys.stderr is when it runs."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._text = ""

    def getvalue(self) -> str:
        self._text += self._capsys.readouterr().err
        return self._text


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> Captured:
    return Captured(capsys)


@pytest.fixture(autouse=True)
def restore_root_logger() -> object:
    """setup_logging changes the root logger and the levels of chatty libraries: undo both."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    libraries = {
        name: logging.getLogger(name).level for name in ("httpx", "httpcore", "aiohttp.access")
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in libraries.items():
        logging.getLogger(name).setLevel(library_level)


def test_known_secrets_and_secret_shapes_are_redacted(captured: Captured) -> None:
    setup_logging("DEBUG", secrets=["okdesk-key-123"])
    log = logging.getLogger("httpx")
    log.warning("GET https://a.okdesk.ru/api/v1/issues?api_token=abc&x=1 failed")
    logging.getLogger("aiogram").error("POST https://api.telegram.org/bot%s/getMe", BOT_TOKEN)
    logging.getLogger("any").info("key is %s", "okdesk-key-123")
    logging.getLogger("web").info("POST /webhook?secret=hunter2 200")
    output = captured.getvalue()
    for secret in ("abc&", BOT_TOKEN, "okdesk-key-123", "hunter2"):
        assert secret not in output
    assert "api_token=***&x=1" in output
    assert "/bot***/getMe" in output


def test_tracebacks_are_redacted(captured: Captured) -> None:
    setup_logging(secrets=["okdesk-key-123"])
    try:
        raise RuntimeError("request to ?api_token=okdesk-key-123 failed")
    except RuntimeError:
        logging.getLogger("x").exception("boom")
    assert "okdesk-key-123" not in captured.getvalue()
    assert "RuntimeError" in captured.getvalue()


def test_json_format_is_one_object_per_line(captured: Captured) -> None:
    setup_logging("INFO", LogFormat.JSON)
    logging.getLogger("okdesk_bot.test").info("hello %s", "world", extra={"update_id": 7})
    record = json.loads(captured.getvalue().strip())
    assert record["message"] == "hello world"
    assert record["level"] == "INFO"
    assert record["update_id"] == 7


def test_log_context_tags_records_in_both_formats(captured: Captured) -> None:
    setup_logging("INFO", LogFormat.JSON)
    with log_context(update_id=42):
        logging.getLogger("okdesk_bot.bot").info("handled")
    logging.getLogger("okdesk_bot.bot").info("outside")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["update_id"] == 42
    assert "update_id" not in second

    setup_logging("INFO", LogFormat.CONSOLE)
    with log_context(update_id=7, request_id="r1"):
        logging.getLogger("x").info("tagged")
    assert captured.getvalue().splitlines()[-1].endswith("tagged update_id=7 request_id=r1")

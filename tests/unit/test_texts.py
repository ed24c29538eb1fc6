"""Texts: every key in every locale, escaping of arguments, language choice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from okdesk_bot.bot.commands import COMMANDS
from okdesk_bot.texts import DEFAULT_LOCALE, MissingTextError, Texts, choose_locale

PACKAGE = Path(__file__).resolve().parents[2] / "okdesk_bot"
# t("key"), texts.get("key", ...), and keys built for commands: f"cmd-{name}".
_KEY_USE = re.compile(r"""\b(?:t|texts\.get|self\._texts\.get)\(\s*["']([a-z0-9-]+)["']""")


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load()


def keys_used_in_code() -> set[str]:
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        used.update(_KEY_USE.findall(path.read_text(encoding="utf-8")))
    return used


def test_every_locale_defines_the_same_keys(texts: Texts) -> None:
    reference = texts.keys(DEFAULT_LOCALE)
    for locale in texts.locales:
        assert texts.keys(locale) == reference, locale


def test_every_key_used_in_code_exists(texts: Texts) -> None:
    used = keys_used_in_code() | {f"cmd-{name}" for name in COMMANDS}
    assert used, "the scan found no keys: the pattern is broken"
    for locale in texts.locales:
        assert used <= texts.keys(locale), (locale, used - texts.keys(locale))


def test_arguments_are_escaped_for_telegram_html(texts: Texts) -> None:
    rendered = texts.get("start-greeting", "ru", name="<b>Иван</b> & Co")
    assert "&lt;b&gt;Иван&lt;/b&gt; &amp; Co" in rendered
    assert "<b>Иван" not in rendered


@pytest.mark.parametrize(
    ("language_code", "locale"),
    [("ru", "ru"), ("en", "en"), ("en-US", "en"), ("uk", "ru"), (None, "ru"), ("", "ru")],
)
def test_language_choice(language_code: str | None, locale: str) -> None:
    assert choose_locale(language_code) == locale


def test_english_user_gets_english_and_unknown_key_fails(texts: Texts) -> None:
    assert texts.for_locale("en")("cancelled") == "Cancelled."
    assert texts.for_locale("ru")("cancelled") == "Действие отменено."
    with pytest.raises(MissingTextError):
        texts.get("no-such-key")

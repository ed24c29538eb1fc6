"""User-facing texts from Fluent files (`locales/<lang>/*.ftl`), Russian first, English second.

`Texts` is independent of aiogram, so background workers render notifications with the same
catalogue as handlers. Every string argument is escaped for Telegram HTML before it is
interpolated: Fluent messages may contain markup, their arguments never do.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeAlias

from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax.ast import Message

LOCALES_DIR: Final = Path(__file__).parent / "locales"
DEFAULT_LOCALE: Final = "ru"
SUPPORTED_LOCALES: Final = ("ru", "en")

TextArg: TypeAlias = str | int | float | Decimal | None


class MissingTextError(LookupError):
    """A key used in code is absent from the default locale."""


def choose_locale(language_code: str | None) -> str:
    """Map a Telegram `language_code` (`en-US`, `ru`, None) to a supported locale."""
    if language_code:
        primary = language_code.split("-")[0].lower()
        if primary in SUPPORTED_LOCALES:
            return primary
    return DEFAULT_LOCALE


def _escape_args(args: Mapping[str, TextArg]) -> dict[str, str | int | float | Decimal]:
    escaped: dict[str, str | int | float | Decimal] = {}
    for name, value in args.items():
        if value is None:
            escaped[name] = ""
        elif isinstance(value, str):
            escaped[name] = html.escape(value, quote=False)
        else:
            escaped[name] = value
    return escaped


@dataclass(frozen=True, slots=True)
class Translator:
    """Texts of one locale, with a fallback to the default one."""

    texts: Texts
    locale: str

    def __call__(self, key: str, /, **args: TextArg) -> str:
        return self.texts.get(key, self.locale, **args)


class Texts:
    """The Fluent catalogue of every supported locale."""

    def __init__(self, sources: Mapping[str, Sequence[str]]) -> None:
        """`sources` maps a locale to the Fluent texts (file contents) that define it."""
        if DEFAULT_LOCALE not in sources:
            msg = f"the default locale {DEFAULT_LOCALE!r} has no texts"
            raise ValueError(msg)
        self._bundles: dict[str, FluentBundle] = {}
        self._keys: dict[str, frozenset[str]] = {}
        for locale, texts in sources.items():
            bundle = FluentBundle([locale], use_isolating=False)
            keys: set[str] = set()
            for text in texts:
                resource = FluentResource(text)
                keys.update(item.id.name for item in resource.body if isinstance(item, Message))
                bundle.add_resource(resource)
            self._bundles[locale] = bundle
            self._keys[locale] = frozenset(keys)

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Texts:
        """Parse every `*.ftl` file of every supported locale below `directory`."""
        return cls(
            {
                locale: [
                    path.read_text(encoding="utf-8")
                    for path in sorted((directory / locale).glob("*.ftl"))
                ]
                for locale in SUPPORTED_LOCALES
            }
        )

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self._bundles)

    def keys(self, locale: str) -> frozenset[str]:
        """Message ids defined for one locale."""
        return self._keys[locale]

    def has(self, key: str, locale: str) -> bool:
        return self._bundles[locale].has_message(key)

    def for_locale(self, language_code: str | None) -> Translator:
        return Translator(self, choose_locale(language_code))

    def get(self, key: str, locale: str = DEFAULT_LOCALE, /, **args: TextArg) -> str:
        """Format `key` in `locale` (falling back to Russian) with HTML-escaped arguments."""
        bundle = self._bundles.get(locale)
        if bundle is None or not bundle.has_message(key):
            bundle = self._bundles[DEFAULT_LOCALE]
            if not bundle.has_message(key):
                raise MissingTextError(key)
        message = bundle.get_message(key)
        if message.value is None:
            raise MissingTextError(key)
        text, errors = bundle.format_pattern(message.value, _escape_args(args))
        if errors:
            msg = f"text {key!r} in {locale!r}: {errors[0]}"
            raise ValueError(msg)
        return str(text)

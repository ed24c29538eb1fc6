"""Times shown to people: in the Okdesk account's time zone, and named.

Okdesk writes times with an offset; whatever offset a value came with, the bot shows it in
the zone the admin set as ``OKDESK_TIMEZONE`` and names that zone: Moscow time as «МСК» (as
Russian support desks write it), any other zone by its offset from UTC on that date
(«UTC+5», «UTC−3:30»), which stays right across daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from babel.dates import format_datetime

from okdesk_bot.texts import Translator

LONG_PATTERN: Final = "d MMMM y, HH:mm"
"""«1 марта 2025, 09:05»: on a ticket card."""
SHORT_PATTERN: Final = "dd.MM.y HH:mm"
"""«01.03.2025 09:05»: in a list of many (the comment history)."""

_MOSCOW_KEYS: Final = frozenset({"Europe/Moscow", "W-SU"})


def shown_moment(
    t: Translator, moment: datetime, zone: tzinfo, *, pattern: str = LONG_PATTERN
) -> str:
    """`moment` in `zone`, formatted for the reader's locale and followed by the zone's name.

    A naive `moment` is taken as UTC (the models make Okdesk's times aware; this is a guard).
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    shown = format_datetime(local, pattern, tzinfo=zone, locale=t.locale)
    return t("moment", moment=shown, zone=zone_name(t, local))


def zone_name(t: Translator, local: datetime) -> str:
    """«МСК» for Moscow time, else the offset from UTC of `local` («UTC+7», «UTC»)."""
    if getattr(local.tzinfo, "key", None) in _MOSCOW_KEYS:
        return t("zone-moscow")
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "−"  # a minus sign, as typography wants
    hours, minutes = divmod(abs(offset) // timedelta(minutes=1), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")

"""Times are shown in the Okdesk account's zone and say which zone that is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from okdesk_bot.bot.moments import SHORT_PATTERN, shown_moment
from okdesk_bot.texts import Texts, Translator

NOON_UTC = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load()


@pytest.fixture(scope="module")
def t(texts: Texts) -> Translator:
    return texts.for_locale("ru")


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Europe/Moscow", "1 марта 2025, 15:00 МСК"),
        ("Asia/Yekaterinburg", "1 марта 2025, 17:00 UTC+5"),
        ("Europe/Kaliningrad", "1 марта 2025, 14:00 UTC+2"),
        ("Asia/Kolkata", "1 марта 2025, 17:30 UTC+5:30"),
        ("America/St_Johns", "1 марта 2025, 08:30 UTC−3:30"),
        ("UTC", "1 марта 2025, 12:00 UTC"),
    ],
)
def test_a_time_is_shown_in_the_account_zone_with_its_name(
    t: Translator, zone: str, shown: str
) -> None:
    assert shown_moment(t, NOON_UTC, ZoneInfo(zone)) == shown


def test_the_offset_shown_is_the_one_in_force_on_that_date(t: Translator) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    summer = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)

    assert shown_moment(t, NOON_UTC, berlin) == "1 марта 2025, 13:00 UTC+1"
    assert shown_moment(t, summer, berlin) == "1 июля 2025, 14:00 UTC+2"


def test_whatever_offset_okdesk_wrote_the_zone_shown_is_the_account_one(t: Translator) -> None:
    written_in_utc_plus_7 = datetime(2025, 3, 1, 19, 0, tzinfo=timezone(timedelta(hours=7)))

    assert shown_moment(t, written_in_utc_plus_7, ZoneInfo("Europe/Moscow")) == (
        "1 марта 2025, 15:00 МСК"
    )


def test_a_short_form_and_english(texts: Texts) -> None:
    en = texts.for_locale("en")
    moscow = ZoneInfo("Europe/Moscow")

    assert shown_moment(en, NOON_UTC, moscow) == "1 March 2025, 15:00 Moscow time"
    assert shown_moment(en, NOON_UTC, moscow, pattern=SHORT_PATTERN) == (
        "01.03.2025 15:00 Moscow time"
    )

"""Encoding, date formatting, retry timing and redaction rules of the Okdesk client."""

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import httpx
import pytest

from okdesk_bot.okdesk._http import (
    Redactor,
    backoff_delay,
    encode_query,
    flatten_params,
    form_fields,
    format_filter_datetime,
    is_under,
    parse_retry_after,
)
from okdesk_bot.okdesk.errors import flatten_errors

MSK = timezone(timedelta(hours=3))


class TestQueryEncoding:
    def test_plus_in_a_phone_travels_as_percent_2b(self) -> None:
        query = encode_query({"phone": "+7 (999) 123-45-67"})

        assert query == "phone=%2B7%20%28999%29%20123-45-67"
        assert parse_qsl(query) == [("phone", "+7 (999) 123-45-67")]

    def test_arrays_use_rails_brackets_and_repeat_the_name(self) -> None:
        assert encode_query({"contact_ids": [1, 2]}) == "contact_ids[]=1&contact_ids[]=2"

    def test_nested_mappings_become_bracketed_names(self) -> None:
        query = encode_query(
            {"page": {"size": 50, "number": 2}, "custom_parameters": {"inn": "7707083893"}}
        )

        assert query == "page[size]=50&page[number]=2&custom_parameters[inn]=7707083893"

    def test_none_values_are_left_out_and_booleans_are_words(self) -> None:
        assert encode_query({"a": None, "opened": True, "b": {"c": None}, "x": False}) == (
            "opened=true&x=false"
        )

    def test_reserved_characters_in_values_are_escaped(self) -> None:
        assert encode_query({"custom_parameters": {"inn": "#null"}, "q": "a&b=c/d"}) == (
            "custom_parameters[inn]=%23null&q=a%26b%3Dc%2Fd"
        )

    def test_arrays_of_objects_are_refused(self) -> None:
        with pytest.raises(TypeError, match="scalar"):
            flatten_params({"items": [{"a": 1}]})


def test_form_fields_group_repeated_names_for_httpx() -> None:
    fields = form_fields({"issue": {"title": "T", "observer_ids": [1, 2], "public": False}})

    assert fields == {
        "issue[title]": "T",
        "issue[observer_ids][]": ["1", "2"],
        "issue[public]": "false",
    }


class TestFilterDatetime:
    def test_is_day_month_year_hours_minutes_in_the_account_zone(self) -> None:
        moment = datetime(2026, 3, 1, 21, 5, 59, tzinfo=UTC)

        assert format_filter_datetime(moment, MSK) == "02-03-2026 00:05"

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            format_filter_datetime(datetime(2026, 3, 1, 12, 0), MSK)  # noqa: DTZ001


class TestRetryAfter:
    NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("7", 7.0),
            (" 0.5 ", 0.5),
            ("-3", 0.0),
            ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
            ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
            ("soon", None),
            ("", None),
            (None, None),
        ],
    )
    def test_reads_seconds_or_an_http_date(self, header: str | None, expected: float) -> None:
        assert parse_retry_after(header, now=self.NOW) == expected


def test_backoff_grows_exponentially_within_the_cap_with_full_jitter() -> None:
    delays = [backoff_delay(3, base=0.5, cap=8.0) for _ in range(200)]
    capped = [backoff_delay(10, base=0.5, cap=8.0) for _ in range(200)]

    assert all(0 <= delay <= 4.0 for delay in delays)
    assert max(delays) > 2.0  # jitter spreads over the whole interval
    assert all(0 <= delay <= 8.0 for delay in capped)


class TestRedactor:
    def test_removes_the_token_in_raw_and_url_encoded_forms(self) -> None:
        redact = Redactor("a+b/c")

        text = redact("raw a+b/c, encoded a%2Bb%2Fc, url ?api_token=a%2Bb%2Fc&x=1")

        assert "a+b/c" not in text
        assert "a%2Bb%2Fc" not in text
        assert text.endswith("api_token=***&x=1")

    def test_removes_any_api_token_query_value(self) -> None:
        assert Redactor("mine")("GET /x?API_TOKEN=other-token") == "GET /x?API_TOKEN=***"


def test_is_under_requires_same_origin_and_path_prefix() -> None:
    base = httpx.URL("https://acc.okdesk.ru/api/v1/")

    assert is_under(httpx.URL("https://acc.okdesk.ru/api/v1/issues/1"), base)
    assert not is_under(httpx.URL("https://static.okdesk.ru/api/v1/issues/1"), base)
    assert not is_under(httpx.URL("http://acc.okdesk.ru/api/v1/issues/1"), base)
    assert not is_under(httpx.URL("https://acc.okdesk.ru:8443/api/v1/x"), base)
    assert not is_under(httpx.URL("https://acc.okdesk.ru/attachments/1.jpg"), base)


class TestFlattenErrors:
    def test_nested_objects_become_dotted_field_paths(self) -> None:
        general, fields = flatten_errors(
            {
                "created_until": ["Неверный формат даты"],
                "observer_ids": {"1": ["должно иметь тип integer"]},
                "page": {
                    "size": ["должно быть меньше или равно 100"],
                    "direction": ["должен быть одним из: reverse, forward"],
                },
            }
        )

        assert general == []
        assert fields == {
            "created_until": ["Неверный формат даты"],
            "observer_ids.1": ["должно иметь тип integer"],
            "page.size": ["должно быть меньше или равно 100"],
            "page.direction": ["должен быть одним из: reverse, forward"],
        }

    def test_a_plain_string_is_a_general_error(self) -> None:
        assert flatten_errors("author_id: отсутствует") == (["author_id: отсутствует"], {})

    def test_lists_and_bare_field_strings_are_accepted(self) -> None:
        general, fields = flatten_errors(["one", "two"])
        _, single = flatten_errors({"last_name": "не может быть пустым"})

        assert general == ["one", "two"]
        assert fields == {}
        assert single == {"last_name": ["не может быть пустым"]}

"""Request parameters the Rails way: nested keys, type coercion, dates and pagination.

Query strings and form bodies arrive as flat ``key=value`` pairs with Rails-style keys
(``issue[attachments][0][attachment]``, ``contact_ids[]``, ``page[size]``);
:func:`parse_rails_pairs` turns them into the same nested structure a JSON body has, so one
set of coercion helpers serves both. Coercion failures raise :class:`ValidationError` with
the messages Okdesk uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal, TypeVar

from okdesk_bot.emulators.okdesk.state import (
    ACCOUNT_TZ,
    BLANK,
    BadRequestError,
    FileUpload,
    ValidationError,
)

T = TypeVar("T")
Params = dict[str, Any]
Direction = Literal["reverse", "forward"]

NOT_INTEGER = "должно иметь тип integer"
NOT_STRING = "должно иметь тип string"
NOT_BOOLEAN = "должно иметь тип boolean"
BAD_DATE = "Неверный формат даты"
BAD_DIRECTION = "должен быть одним из: reverse, forward"

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_LOCAL_MOMENT = re.compile(
    r"(?:(?P<ru_day>\d{1,2})[-.](?P<ru_month>\d{1,2})[-.](?P<ru_year>\d{4})"
    r"|(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2}))"
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
)
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no", ""}
_ATTACHMENT_KEYS = ("attachments", "attachments_attributes", "files_attributes")
_FILE_KEYS = ("attachment", "file")


def parse_rails_pairs(pairs: Iterable[tuple[str, object]]) -> Params:
    """Nest ``a[b][c]=v`` and ``a[]=v`` pairs like Rails' ``params`` does."""
    params: Params = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            params[key] = value
            continue
        segments = [match.group(1), *_SEGMENT.findall(match.group(2))]
        _store(params, segments, value, key)
    return params


def _store(container: Params, segments: list[str], value: object, key: str) -> None:
    head, *rest = segments
    if not rest:
        container[head] = value
        return
    if rest[0] == "":
        items = container.setdefault(head, [])
        if not isinstance(items, list):
            raise BadRequestError(f"conflicting parameter {key!r}")
        if len(rest) == 1:
            items.append(value)
            return
        # ``a[][k]=v``: fill the last hash unless it already has ``k`` (Rails' rule).
        if not items or not isinstance(items[-1], dict) or rest[1] in items[-1]:
            items.append({})
        _store(items[-1], rest[1:], value, key)
        return
    child = container.setdefault(head, {})
    if not isinstance(child, dict):
        raise BadRequestError(f"conflicting parameter {key!r}")
    _store(child, rest, value, key)


def unwrap(body: Params, root: str) -> Params:
    """Return ``body[root]`` for a Rails-wrapped body (``{"issue": {...}}``), else the body."""
    inner = body.get(root)
    return dict(inner) if isinstance(inner, Mapping) else body


def indexed_list(value: object) -> list[Any]:
    """A JSON array, a Rails indexed hash (``{"0": …, "1": …}``) or one value, as a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and value and all(str(k).isdigit() for k in value):
        return [value[k] for k in sorted(value, key=lambda k: int(str(k)))]
    return [value]


def _invalid(path: Sequence[str], message: str) -> ValidationError:
    errors: Params = {path[-1]: [message]}
    for key in reversed(path[:-1]):
        errors = {key: errors}
    return ValidationError(errors)


def opt_str(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid([key], NOT_STRING)
    return str(value)


def to_int(value: object, path: Sequence[str]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise _invalid(path, NOT_INTEGER)


def opt_int(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    return to_int(value, [key])


def opt_bool(params: Mapping[str, Any], key: str) -> bool | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid([key], NOT_BOOLEAN)


def int_list(params: Mapping[str, Any], key: str) -> list[int] | None:
    """``key[]=1&key[]=2`` (or a JSON array) as ints; ``None`` when the filter is absent."""
    if key not in params:
        return None
    return [to_int(item, [key, str(i)]) for i, item in enumerate(indexed_list(params[key]))]


def str_list(params: Mapping[str, Any], key: str) -> list[str] | None:
    if key not in params:
        return None
    return [str(item) for item in indexed_list(params[key])]


def opt_mapping(params: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _invalid([key], "должно иметь тип hash")
    return dict(value)


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime | None:
    """Parse the date formats Okdesk clients send; ``None`` when none fits.

    Accepted: ``DD-MM-YYYY``, ``YYYY-MM-DD`` (optionally with ``HH:MM`` or ``HH:MM:SS``) and
    ISO 8601. Naive values are in the account's time zone. A date without a time means the
    start of that day, or its end when ``end_of_day`` is set (for ``*_until`` filters).
    """
    text = text.strip()
    match = _LOCAL_MOMENT.fullmatch(text)
    if match is None:
        return _parse_iso(text)
    parts = match.groupdict()
    year, month, day = (
        (parts["year"], parts["month"], parts["day"])
        if parts["year"]
        else (parts["ru_year"], parts["ru_month"], parts["ru_day"])
    )
    try:
        moment_date = date(int(year), int(month), int(day))
        if parts["hour"] is None:
            return _at_day_edge(moment_date, end_of_day=end_of_day)
        moment_time = time(int(parts["hour"]), int(parts["minute"]), int(parts["second"] or 0))
    except ValueError:
        return None
    return datetime.combine(moment_date, moment_time, tzinfo=ACCOUNT_TZ)


def _parse_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ACCOUNT_TZ)


def _at_day_edge(day: date, *, end_of_day: bool) -> datetime:
    return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=ACCOUNT_TZ)


def opt_moment(
    params: Mapping[str, Any], key: str, *, end_of_day: bool = False
) -> datetime | None:
    value = opt_str(params, key)
    if value is None or not value.strip():
        return None
    moment = parse_moment(value, end_of_day=end_of_day)
    if moment is None:
        raise _invalid([key], BAD_DATE)
    return moment


@dataclass(frozen=True, slots=True)
class MomentRange:
    """An inclusive ``<name>_since`` / ``<name>_until`` filter."""

    since: datetime | None
    until: datetime | None

    @classmethod
    def parse(cls, params: Mapping[str, Any], name: str) -> MomentRange:
        return cls(
            since=opt_moment(params, f"{name}_since"),
            until=opt_moment(params, f"{name}_until", end_of_day=True),
        )

    def admits(self, moment: datetime | None) -> bool:
        if self.since is None and self.until is None:
            return True
        if moment is None:
            return False
        after_start = self.since is None or moment >= self.since
        return after_start and (self.until is None or moment <= self.until)


def _page_params(params: Mapping[str, Any]) -> Params:
    page = params.get("page")
    if page is None:
        return {}
    if not isinstance(page, Mapping):
        raise _invalid(["page"], "должно иметь тип hash")
    return dict(page)


def _page_size(page: Mapping[str, Any], *, default: int, maximum: int) -> int:
    if page.get("size") in (None, ""):
        return default
    size = to_int(page["size"], ["page", "size"])
    if size > maximum:
        raise _invalid(["page", "size"], f"должно быть меньше или равно {maximum}")
    if size < 1:
        raise _invalid(["page", "size"], "должно быть больше или равно 1")
    return size


@dataclass(frozen=True, slots=True)
class Cursor:
    """Cursor pagination of the ``*/list`` endpoints (``page[size|from_id|direction]``)."""

    size: int
    from_id: int | None
    direction: Direction

    @classmethod
    def parse(cls, params: Mapping[str, Any], *, default_size: int = 50) -> Cursor:
        page = _page_params(params)
        size = _page_size(page, default=default_size, maximum=100)
        from_id = None
        if page.get("from_id") not in (None, ""):
            from_id = to_int(page["from_id"], ["page", "from_id"])
        direction: Direction
        match page.get("direction") or "reverse":
            case "reverse":
                direction = "reverse"
            case "forward":
                direction = "forward"
            case _:
                raise _invalid(["page", "direction"], BAD_DIRECTION)
        return cls(size=size, from_id=from_id, direction=direction)

    def apply(self, records: Iterable[T], key: Callable[[T], int]) -> list[T]:
        """``reverse`` (the default): ids below ``from_id``, largest first; ``forward``: ids
        above ``from_id``, smallest first. Without ``from_id`` start from the matching end."""
        ordered = sorted(records, key=key, reverse=self.direction == "reverse")
        if self.from_id is not None:
            start = self.from_id
            if self.direction == "reverse":
                ordered = [r for r in ordered if key(r) < start]
            else:
                ordered = [r for r in ordered if key(r) > start]
        return ordered[: self.size]


@dataclass(frozen=True, slots=True)
class PageNumber:
    """Page-number pagination of ``issues/list`` (``page[number]``, ``page[size]`` ≤ 50)."""

    number: int
    size: int

    @classmethod
    def parse(cls, params: Mapping[str, Any], *, default_size: int = 50) -> PageNumber:
        page = _page_params(params)
        size = _page_size(page, default=default_size, maximum=50)
        number = 1
        if page.get("number") not in (None, ""):
            number = to_int(page["number"], ["page", "number"])
            if number < 1:
                raise _invalid(["page", "number"], "должно быть больше или равно 1")
        return cls(number=number, size=size)

    def apply(self, records: Sequence[T]) -> list[T]:
        start = (self.number - 1) * self.size
        return list(records[start : start + self.size])


def uploads(params: Mapping[str, Any]) -> list[FileUpload]:
    """Files sent as ``[attachments][i][attachment]`` (or the variants clients use:
    ``attachments_attributes``, ``files_attributes`` and ``[file]``)."""
    found: list[FileUpload] = []
    for key in _ATTACHMENT_KEYS:
        for index, entry in enumerate(indexed_list(params.get(key))):
            found.append(_upload(entry, [key, str(index)]))
    return found


def _upload(entry: object, path: list[str]) -> FileUpload:
    if isinstance(entry, FileUpload):
        return entry
    if not isinstance(entry, Mapping):
        raise _invalid([*path, "attachment"], BLANK)
    file = next((entry[k] for k in _FILE_KEYS if isinstance(entry.get(k), FileUpload)), None)
    if file is None:
        raise _invalid([*path, "attachment"], BLANK)
    return FileUpload(
        file_name=file.file_name,
        content=file.content,
        content_type=file.content_type,
        description=opt_str(entry, "description") or "",
        is_public=opt_bool(entry, "is_public"),
    )

"""Wire-level helpers of the Okdesk client: parameter encoding, the token, retry timing.

Kept apart from :mod:`okdesk_bot.okdesk.client` so that the endpoint methods read as a list of
API calls, and so that these rules can be tested on their own.
"""

import random
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import httpx
from pydantic import JsonValue

AUTH_QUERY_PARAM = "api_token"
_REDACTED = "***"
_TOKEN_IN_TEXT = re.compile(rf"({AUTH_QUERY_PARAM}(?:=|%3D))[^&\s'\"<>]+", re.IGNORECASE)


def flatten_params(params: Mapping[str, JsonValue], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested parameters into Rails-style ``(name, value)`` pairs.

    ``{"page": {"size": 50}, "contact_ids": [1, 2], "issue": {"custom_parameters": {"inn": "7"}}}``
    becomes ``page[size]=50``, ``contact_ids[]=1``, ``contact_ids[]=2``,
    ``issue[custom_parameters][inn]=7``. ``None`` values are left out, booleans are written as
    ``true``/``false``. The same rules serve query strings and multipart form fields.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        pairs.extend(_flatten_value(name, value))
    return pairs


def _flatten_value(name: str, value: JsonValue) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return flatten_params(value, name)
    if isinstance(value, list):
        items: list[tuple[str, str]] = []
        for item in value:
            if isinstance(item, list | Mapping):
                msg = f"parameter {name!r}: arrays may only hold scalar values"
                raise TypeError(msg)
            items.extend(_flatten_value(f"{name}[]", item))
        return items
    return [(name, _scalar(value))]


def _scalar(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_query(params: Mapping[str, JsonValue]) -> str:
    """Encode parameters as a query string Okdesk reads correctly.

    Values are fully percent-encoded, so a ``+`` in a phone number travels as ``%2B`` (the
    apidoc warns that a bare ``+`` is read as a space) and ``#null`` as ``%23null``. Brackets in
    names stay literal, as in the apidoc examples (``contact_ids[]=1&contact_ids[]=2``).
    """
    return "&".join(
        f"{quote(name, safe='[]')}={quote(value, safe='')}"
        for name, value in flatten_params(params)
    )


def form_fields(params: Mapping[str, JsonValue]) -> dict[str, str | list[str]]:
    """Flatten parameters into the ``data`` mapping httpx needs for a multipart body."""
    fields: dict[str, str | list[str]] = {}
    for name, value in flatten_params(params):
        previous = fields.get(name)
        if previous is None:
            fields[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            fields[name] = [previous, value]
    return fields


def format_filter_datetime(value: datetime, account_timezone: tzinfo) -> str:
    """Format a moment for Okdesk's date filters: ``DD-MM-YYYY HH:MM``.

    This is the form of the apidoc examples (``reacted_since=03-12-2018 15:30``) and the one
    clients report Okdesk expects. Okdesk reads it in the account's time zone, so the moment is
    converted there first. Seconds are dropped, which moves a ``*_since`` bound earlier: a
    filter may return a little more, never less.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        msg = "Okdesk filter datetimes must be timezone-aware"
        raise ValueError(msg)
    return value.astimezone(account_timezone).strftime("%d-%m-%Y %H:%M")


class Redactor:
    """Removes the API token from any text before it reaches a log or an exception."""

    def __init__(self, token: str) -> None:
        self._secrets = tuple(
            sorted({token, quote(token, safe=""), quote(token)} - {""}, key=len, reverse=True)
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return _TOKEN_IN_TEXT.sub(rf"\g<1>{_REDACTED}", text)


class ApiTokenTransport(httpx.AsyncBaseTransport):
    """Adds ``api_token`` to the query of requests aimed at the Okdesk API.

    The token is added here, below httpx's client layer, instead of in the request URL. The
    ``httpx.Request`` objects that httpx logs (``HTTP Request: GET …`` at INFO), attaches to
    exceptions and to responses therefore never hold it. Only requests under the API base URL
    get the token: an attachment download from another host must not receive it.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, api_base: httpx.URL, api_token: str
    ) -> None:
        self._inner = inner
        self._api_base = api_base
        self._token_param = f"{AUTH_QUERY_PARAM}={quote(api_token, safe='')}".encode("ascii")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_base={str(self._api_base)!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if is_under(request.url, self._api_base):
            query = request.url.query
            url = request.url.copy_with(
                query=query + b"&" + self._token_param if query else self._token_param
            )
            request = httpx.Request(
                request.method,
                url,
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def is_under(url: httpx.URL, base: httpx.URL) -> bool:
    """Whether ``url`` has the origin of ``base`` and a path inside ``base``'s path."""
    return (
        url.scheme == base.scheme
        and url.host == base.host
        and url.port == base.port
        and url.path.startswith(base.path)
    )


def backoff_delay(retry_number: int, *, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(cap, base * 2**n)]``."""
    ceiling = min(cap, base * 2**retry_number)
    return random.uniform(0, ceiling)  # noqa: S311 - retry jitter, not cryptography


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - now).total_seconds()
    return max(seconds, 0.0)

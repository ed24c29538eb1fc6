"""HTTP plumbing shared by the REST, staff and web routes of the emulator."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from multidict import MultiDictProxy

from okdesk_bot.emulators.okdesk.params import Params, parse_rails_pairs
from okdesk_bot.emulators.okdesk.state import Actor, BadRequestError, FileUpload

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ACTOR = web.RequestKey("okdesk_actor", Actor)
"""Who the request's ``api_token`` belongs to (set by the auth middleware)."""

MAX_BODY_BYTES = 64 * 1024 * 1024

_dumps = partial(json.dumps, ensure_ascii=False)


def respond(data: object, *, status: int = 200) -> web.Response:
    """A JSON response with UTF-8 text left unescaped, as Rails renders it."""
    return web.json_response(data, status=status, dumps=_dumps)


def add_route(router: web.UrlDispatcher, method: str, path: str, handler: Handler) -> None:
    """Register ``path`` with and without a trailing slash (clients use both)."""
    router.add_route(method, path, handler)
    router.add_route(method, path + "/", handler)


def query_params(request: web.Request) -> Params:
    """The query string as nested Rails params (``api_token`` excluded)."""
    return parse_rails_pairs((k, v) for k, v in request.query.items() if k != "api_token")


async def read_body(request: web.Request) -> Params:
    """A JSON object, a multipart form or a urlencoded form, as nested params.

    Files of a multipart body become :class:`FileUpload` values.
    """
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return parse_rails_pairs(_form_pairs(await request.post()))
    if not request.body_exists:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadRequestError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequestError("the request body must be a JSON object")
    return data


def _form_pairs(
    form: MultiDictProxy[str | bytes | bytearray | web.FileField],
) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = []
    for key, value in form.items():
        if isinstance(value, web.FileField):
            upload = FileUpload(
                file_name=value.filename,
                content=value.file.read(),
                content_type=value.content_type or "application/octet-stream",
            )
            pairs.append((key, upload))
        elif isinstance(value, bytes | bytearray):
            pairs.append((key, bytes(value).decode("utf-8", errors="replace")))
        else:
            pairs.append((key, value))
    return pairs


class ApiKeys:
    """The account's API keys; each belongs to an employee or a contact."""

    def __init__(self, keys: Mapping[str, Actor]) -> None:
        self._keys = dict(keys)

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self._keys)} keys>)"

    def owner(self, token: str | None) -> Actor | None:
        """The key's owner, compared in constant time; ``None`` for unknown keys."""
        if not token:
            return None
        found = None
        for candidate, actor in self._keys.items():
            if secrets.compare_digest(candidate.encode(), token.encode()):
                found = actor
        return found


class TemporaryLinks:
    """Short-lived download links for attachments (Okdesk's expire after 30 seconds)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._links: dict[str, tuple[int, float]] = {}

    def issue(self, attachment_id: int) -> str:
        """Create a token for one attachment."""
        now = time.monotonic()
        self._links = {t: link for t, link in self._links.items() if link[1] > now}
        token = secrets.token_urlsafe(18)
        self._links[token] = (attachment_id, now + self.ttl)
        return token

    def resolve(self, token: str) -> int | None:
        """The attachment id of a live token, ``None`` for unknown or expired ones."""
        link = self._links.get(token)
        if link is None or link[1] <= time.monotonic():
            return None
        return link[0]


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log without query strings: they carry the ``api_token``."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s -> %s in %.3f s", request.method, request.path, response.status, time
        )


def json_errors(errors: Any, status: int) -> web.Response:
    """The Okdesk error body: ``{"errors": <string or field mapping>}``."""
    return respond({"errors": errors}, status=status)

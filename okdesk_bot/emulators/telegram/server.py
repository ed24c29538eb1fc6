"""The Bot API over HTTP: `/bot<token>/<method>` and `/file/bot<token>/<file_path>`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from okdesk_bot.emulators.telegram.bot_api import BotApi
from okdesk_bot.emulators.telegram.errors import ApiError, not_found
from okdesk_bot.emulators.telegram.params import read_request_params
from okdesk_bot.emulators.telegram.state import EmulatorState


def ok_response(result: Any) -> web.Response:
    """A successful Bot API answer."""
    return web.json_response({"ok": True, "result": result})


def error_response(error: ApiError) -> web.Response:
    """A failed Bot API answer (or the raw body an injected gateway fault carries)."""
    if error.raw_body is not None:
        return web.Response(status=error.error_code, text=error.raw_body, content_type="text/html")
    return web.json_response(error.to_json(), status=error.error_code)


class BotApiHttp:
    """aiohttp handlers of the Bot API routes."""

    def __init__(self, state: EmulatorState, api: BotApi) -> None:
        self._state = state
        self._api = api

    def register(self, app: web.Application) -> None:
        """Add the Bot API routes to `app`."""
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)

    async def fallback(self, _request: web.Request) -> web.Response:
        """Any other path: the Bot API's JSON 404."""
        return error_response(not_found())

    async def _method(self, request: web.Request) -> web.Response:
        try:
            bot = self._state.authenticate(request.match_info["token"])
            params = await read_request_params(request)
        except ApiError as error:
            self._state.stats.errors[error.error_code] += 1
            return error_response(error)
        try:
            result = await self._api.call(bot, request.match_info["method"], params)
        except ApiError as error:  # already counted and recorded by the call
            return error_response(error)
        return ok_response(result)

    async def _download(self, request: web.Request) -> web.Response:
        try:
            self._state.authenticate(request.match_info["token"])
        except ApiError as error:
            return error_response(error)
        stored = self._state.files.by_path(request.match_info["file_path"])
        if stored is None:
            return error_response(not_found())
        content_type = stored.attributes.get("mime_type", "application/octet-stream")
        return web.Response(body=stored.data, content_type=content_type)

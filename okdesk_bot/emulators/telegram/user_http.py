"""The person-side API over HTTP (JSON) under `/_user/`, for a browser sandbox or other tools.

    GET  /_user/bots                                  registered bots and their command menus
    POST /_user/users                                 create a person {id, first_name, ...}
    GET  /_user/users/{id}/messages                   the chat, both sides
    GET  /_user/users/{id}/next-bot-message?timeout=  wait for the next bot message (408 if none)
    GET  /_user/users/{id}/callbacks/{query}?timeout= a pressed button's answer (waits if asked)
    POST /_user/users/{id}/{action}                   text, command, contact, photo, document,
                                                      voice, sticker, location, album, reply,
                                                      press, press-reply, block, unblock
    GET  /_user/files/{file_id}                       a file's bytes

Every route takes an optional `bot_id` query parameter (the first registered bot by default).
Binary payloads travel base64-encoded (`data_base64`, `photos_base64`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from okdesk_bot.emulators.telegram.errors import UserActionError
from okdesk_bot.emulators.telegram.models import CallbackQueryRecord, ChatMessage, UserProfile

if TYPE_CHECKING:
    from okdesk_bot.emulators.telegram.emulator import TelegramEmulator
    from okdesk_bot.emulators.telegram.users import EmulatedUser

Action = Callable[["EmulatedUser", dict[str, Any]], Awaitable[Any]]


def message_json(message: ChatMessage) -> dict[str, Any]:
    """A chat message as the user API shows it."""
    return {**dataclasses.asdict(message), "chat_id": message.chat_id}


def profile_json(profile: UserProfile) -> dict[str, Any]:
    """A person as the user API shows it."""
    return dataclasses.asdict(profile)


def callback_json(query: CallbackQueryRecord) -> dict[str, Any]:
    """A button press and its answer as the user API shows them."""
    return {
        "id": query.id,
        "chat_id": query.chat_id,
        "message_id": query.message_id,
        "data": query.data,
        "answered": query.answered,
        "answer_text": query.answer_text,
        "show_alert": query.show_alert,
        "url": query.url,
    }


def _field(body: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        msg = f"field {name!r} must be of type {kind.__name__}"
        raise UserActionError(msg)
    return value


def _optional(body: dict[str, Any], name: str, kind: type[Any]) -> Any:
    return None if body.get(name) is None else _field(body, name, kind)


def _bytes(body: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(_field(body, name, str), validate=True)
    except binascii.Error:
        msg = f"field {name!r} must be base64"
        raise UserActionError(msg) from None


async def _text(user: EmulatedUser, body: dict[str, Any]) -> Any:
    return message_json(await user.send_text(_field(body, "text", str)))


async def _command(user: EmulatedUser, body: dict[str, Any]) -> Any:
    command = _field(body, "command", str)
    return message_json(await user.send_command(command, _optional(body, "payload", str)))


async def _contact(user: EmulatedUser, body: dict[str, Any]) -> Any:
    message = await user.share_contact(
        _optional(body, "phone_number", str),
        user_id=_optional(body, "user_id", int),
        first_name=_optional(body, "first_name", str),
        last_name=_optional(body, "last_name", str),
    )
    return message_json(message)


async def _photo(user: EmulatedUser, body: dict[str, Any]) -> Any:
    caption = _optional(body, "caption", str)
    if body.get("data_base64") is None:
        return message_json(await user.send_photo(caption=caption))
    return message_json(await user.send_photo(_bytes(body, "data_base64"), caption=caption))


async def _document(user: EmulatedUser, body: dict[str, Any]) -> Any:
    message = await user.send_document(
        _bytes(body, "data_base64"),
        _field(body, "file_name", str),
        mime_type=_optional(body, "mime_type", str),
        caption=_optional(body, "caption", str),
    )
    return message_json(message)


async def _voice(user: EmulatedUser, body: dict[str, Any]) -> Any:
    duration = _optional(body, "duration", int) or 1
    if body.get("data_base64") is None:
        return message_json(await user.send_voice(duration=duration))
    return message_json(await user.send_voice(_bytes(body, "data_base64"), duration=duration))


async def _sticker(user: EmulatedUser, body: dict[str, Any]) -> Any:
    return message_json(await user.send_sticker(_optional(body, "emoji", str) or "👍"))


async def _location(user: EmulatedUser, body: dict[str, Any]) -> Any:
    latitude, longitude = body.get("latitude"), body.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        msg = "latitude and longitude must be numbers"
        raise UserActionError(msg)
    return message_json(await user.send_location(float(latitude), float(longitude)))


async def _album(user: EmulatedUser, body: dict[str, Any]) -> Any:
    encoded = _field(body, "photos_base64", list)
    photos = [_bytes({"photo": item}, "photo") for item in encoded]
    messages = await user.send_album(photos, caption=_optional(body, "caption", str))
    return [message_json(message) for message in messages]


async def _reply(user: EmulatedUser, body: dict[str, Any]) -> Any:
    message = await user.reply_to(_field(body, "message_id", int), _field(body, "text", str))
    return message_json(message)


async def _press(user: EmulatedUser, body: dict[str, Any]) -> Any:
    query = await user.press_button(_field(body, "message_id", int), _field(body, "button", str))
    return callback_json(query)


async def _press_reply(user: EmulatedUser, body: dict[str, Any]) -> Any:
    return message_json(await user.press_reply_button(_field(body, "text", str)))


async def _block(user: EmulatedUser, _body: dict[str, Any]) -> Any:
    await user.block()
    return {"blocked": True}


async def _unblock(user: EmulatedUser, _body: dict[str, Any]) -> Any:
    await user.unblock()
    return {"blocked": False}


_ACTIONS: dict[str, Action] = {
    "text": _text,
    "command": _command,
    "contact": _contact,
    "photo": _photo,
    "document": _document,
    "voice": _voice,
    "sticker": _sticker,
    "location": _location,
    "album": _album,
    "reply": _reply,
    "press": _press,
    "press-reply": _press_reply,
    "block": _block,
    "unblock": _unblock,
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class UserHttpApi:
    """aiohttp handlers of the `/_user/` routes, bound to one emulator."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self._emulator = emulator

    def register(self, app: web.Application) -> None:
        """Add the `/_user/` routes to `app`."""
        app.router.add_get("/_user/bots", self._bots)
        app.router.add_post("/_user/users", self._create_user)
        app.router.add_get("/_user/users/{user_id}/messages", self._messages)
        app.router.add_get("/_user/users/{user_id}/next-bot-message", self._next_bot_message)
        app.router.add_get("/_user/users/{user_id}/callbacks/{query_id}", self._callback)
        app.router.add_post("/_user/users/{user_id}/{action}", self._act)
        app.router.add_get("/_user/files/{file_id}", self._file)

    @web.middleware
    async def errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Turn refused actions (400), unknown people or bots (404) and bad input (400) into
        JSON errors on `/_user/` routes."""
        if not request.path.startswith("/_user/"):
            return await handler(request)
        try:
            return await handler(request)
        except UserActionError as error:
            return _error(400, str(error))
        except LookupError as error:
            return _error(404, str(error))
        except ValueError as error:
            return _error(400, f"bad request: {error}")

    def _user(self, request: web.Request) -> EmulatedUser:
        user_id = int(request.match_info["user_id"])
        if user_id not in self._emulator.people:
            msg = f"no user {user_id}"
            raise LookupError(msg)
        return self._emulator.user(user_id, bot_id=self._bot_id(request))

    @staticmethod
    def _bot_id(request: web.Request) -> int | None:
        raw = request.query.get("bot_id")
        return int(raw) if raw else None

    @staticmethod
    def _timeout(request: web.Request) -> float:
        return min(float(request.query.get("timeout", "0")), 60.0)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.body_exists:
            return {}
        body = await request.json()
        if not isinstance(body, dict):
            msg = "a JSON object is expected"
            raise UserActionError(msg)
        return body

    async def _bots(self, _request: web.Request) -> web.Response:
        return web.json_response(self._emulator.bots_overview())

    async def _create_user(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        user = self._emulator.user(
            _field(body, "id", int),
            _optional(body, "first_name", str) or "Test",
            last_name=_optional(body, "last_name", str),
            username=_optional(body, "username", str),
            language_code=_optional(body, "language_code", str) or "ru",
            phone_number=_optional(body, "phone_number", str),
            bot_id=self._bot_id(request),
        )
        return web.json_response(profile_json(user.profile), status=201)

    async def _messages(self, request: web.Request) -> web.Response:
        messages = self._user(request).messages()
        return web.json_response([message_json(message) for message in messages])

    async def _next_bot_message(self, request: web.Request) -> web.Response:
        user = self._user(request)
        try:
            message = await user.wait_for_bot_message(timeout=self._timeout(request))
        except TimeoutError as error:
            return _error(408, str(error))
        return web.json_response(message_json(message))

    async def _callback(self, request: web.Request) -> web.Response:
        user = self._user(request)
        query = self._emulator.callback_query(request.match_info["query_id"], bot_id=user.bot_id)
        if query is None or query.chat_id != user.id:
            return _error(404, "no such callback query")
        timeout = self._timeout(request)
        if timeout > 0 and not query.answered:
            try:
                await query.wait_answered(timeout)
            except TimeoutError as error:
                return _error(408, str(error))
        return web.json_response(callback_json(query))

    async def _act(self, request: web.Request) -> web.Response:
        action = _ACTIONS.get(request.match_info["action"])
        if action is None:
            return _error(404, f"unknown action {request.match_info['action']!r}")
        result = await action(self._user(request), await self._body(request))
        return web.json_response(result)

    async def _file(self, request: web.Request) -> web.Response:
        stored = self._emulator.files.get(request.match_info["file_id"])
        if stored is None:
            return _error(404, "no such file")
        content_type = stored.attributes.get("mime_type", "application/octet-stream")
        return web.Response(body=stored.data, content_type=content_type)

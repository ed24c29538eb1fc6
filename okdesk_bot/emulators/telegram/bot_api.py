"""The Bot API methods the emulator implements, with the real server's validation and errors."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

from okdesk_bot.emulators.telegram.errors import (
    ApiError,
    bad_request,
    conflict,
    forbidden,
    not_found,
)
from okdesk_bot.emulators.telegram.faults import BLOCKED_BY_USER
from okdesk_bot.emulators.telegram.markup import parse_reply_markup
from okdesk_bot.emulators.telegram.models import (
    MAX_DOWNLOAD_BYTES,
    ApiCall,
    ChatMessage,
    StoredFile,
    guess_mime_type,
    image_size,
    now,
)
from okdesk_bot.emulators.telegram.params import Params, Upload
from okdesk_bot.emulators.telegram.state import BotState, ChatState, EmulatorState
from okdesk_bot.emulators.telegram.text import FormattedText, format_text
from okdesk_bot.emulators.telegram.updates import MAX_UPDATES_PER_CALL
from okdesk_bot.emulators.telegram.waiting import wait_until
from okdesk_bot.emulators.telegram.webhook import WebhookSettings, WebhookWorker

Handler = Callable[[BotState, Params], Awaitable[Any]]

MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
SET_WEBHOOK_TERMINATION = "terminated by setWebhook request"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
_CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})
_SCOPES = _CHAT_SCOPES | {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_MEDIA_GROUP_KINDS = frozenset({"photo", "document"})


def _inline_markup(message: ChatMessage) -> dict[str, Any] | None:
    markup = message.reply_markup
    return markup if markup and "inline_keyboard" in markup else None


def _text_fields(text: FormattedText, *, caption: bool) -> dict[str, Any]:
    body = {"caption": text.text or None} if caption else {"text": text.text}
    return {
        **body,
        "entities": text.entities,
        "source": text.source or None,
        "parse_mode": text.parse_mode,
    }


class BotApi:
    """Dispatches Bot API calls to their implementations, counting and recording each one."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    async def call(
        self, bot: BotState, method: str, params: Params, *, inject_faults: bool = True
    ) -> Any:
        """Run one call (method names are case-insensitive); raises `ApiError` on failure."""
        name, handler = self._handlers.get(method.lower(), (method, None))
        self._state.stats.calls[name] += 1
        try:
            if inject_faults:
                await self._inject_fault(name)
            if handler is None:
                raise not_found()
            result = await handler(bot, params)
        except ApiError as error:
            self._state.stats.errors[error.error_code] += 1
            self._record(bot, name, params, error.error_code, description=error.description)
            raise
        self._record(bot, name, params, 200, result=result)
        return result

    def _record(
        self,
        bot: BotState,
        method: str,
        params: Params,
        status: int,
        *,
        result: Any = None,
        description: str | None = None,
    ) -> None:
        call = ApiCall(bot.identity.id, method, params.to_record(), status, result, description)
        self._state.calls.append(call)

    async def _inject_fault(self, method: str) -> None:
        fault = self._state.faults.take(method)
        if fault is None:
            return
        if fault.delay:
            await self._state.pause(fault.delay)
        error = fault.error()
        if error is not None:
            raise error

    # --- chats and common checks -------------------------------------------------------------

    def _chat(self, bot: BotState, params: Params) -> ChatState:
        raw = params.get_str("chat_id")
        if not raw:
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except ValueError:
            raise bad_request("chat not found") from None
        chat = bot.chats.get(chat_id)
        if chat is None or not chat.started:
            if chat_id in self._state.people:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if chat.blocked:
            raise forbidden(BLOCKED_BY_USER)
        injected = self._state.faults.chat_error(chat_id)
        if injected is not None:
            raise injected
        return chat

    def _format(self, params: Params, field: str, *, caption: bool = False) -> FormattedText:
        return format_text(
            params,
            text_field=field,
            entities_field="caption_entities" if caption else "entities",
            strict_ampersand=self._state.strict_ampersand,
            caption=caption,
        )

    @staticmethod
    def _reply_target(chat: ChatState, params: Params) -> int | None:
        reply = params.get_json("reply_parameters")
        if reply is None:
            message_id = params.get_int("reply_to_message_id")
            allow_without = params.get_bool("allow_sending_without_reply")
        elif isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
            message_id = reply["message_id"]
            allow_without = bool(reply.get("allow_sending_without_reply"))
        else:
            raise bad_request("can't parse reply parameters JSON object")
        if message_id is None or chat.find(message_id) is not None:
            return message_id
        if allow_without:
            return None
        raise bad_request("message to be replied not found")

    def _post(self, bot: BotState, chat: ChatState, params: Params, **content: Any) -> ChatMessage:
        """Validate markup and reply target, pass flood control, then add the bot's message."""
        markup = parse_reply_markup(params)
        reply_to = self._reply_target(chat, params)
        self._state.flood.acquire(bot.identity.id, chat.id)
        message = chat.add(
            sender=bot.identity.to_api(),
            from_bot=True,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **content,
        )
        bot.sent.append(message)
        if markup is not None and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        return message

    def _input_file(self, value: Upload | str | None, kind: str) -> StoredFile:
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, str):
            stored = self._state.files.get(value)
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise bad_request(
                    f"can't use file of type {stored.kind.title()} as {kind.title()}"
                )
            return stored
        if not value.data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            if len(value.data) > MAX_PHOTO_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            width, height = image_size(value.data)
            return self._state.files.add("photo", value.data, width=width, height=height)
        return self._state.files.add(
            "document",
            value.data,
            file_name=value.filename,
            mime_type=guess_mime_type(value.filename, value.content_type),
        )

    @staticmethod
    def _editable(chat: ChatState, params: Params) -> ChatMessage:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        message_id = params.require_int(
            "message_id", missing="message identifier is not specified"
        )
        message = chat.find(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    # --- bot identity and updates ------------------------------------------------------------

    async def _get_me(self, bot: BotState, _params: Params) -> dict[str, Any]:
        return bot.identity.get_me()

    async def _get_updates(self, bot: BotState, params: Params) -> list[dict[str, Any]]:
        if bot.webhook is not None:
            raise conflict(WEBHOOK_ACTIVE)
        queue = bot.updates
        limit = min(max(params.get_int("limit") or MAX_UPDATES_PER_CALL, 1), MAX_UPDATES_PER_CALL)
        timeout = max(params.get_int("timeout") or 0, 0)
        queue.set_allowed(params.get_json("allowed_updates"))
        queue.confirm(params.get_int("offset") or 0)
        poll = queue.begin_poll()

        def ready() -> list[dict[str, Any]] | None:
            if poll.conflict is not None or self._state.closing:
                return []
            return queue.peek(limit) or None

        try:
            updates = await wait_until(queue.signal, ready, within=timeout) or []
        finally:
            queue.end_poll(poll)
        if poll.conflict is not None:
            raise conflict(poll.conflict)
        return updates

    async def _set_webhook(self, bot: BotState, params: Params) -> bool:
        url = params.get_str("url") or ""
        if not url:
            return await self._delete_webhook(bot, params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get_str("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = min(max(params.get_int("max_connections") or 40, 1), 100)
        bot.updates.set_allowed(params.get_json("allowed_updates"))
        if params.get_bool("drop_pending_updates"):
            bot.updates.drop_all()
        bot.updates.terminate_poll(SET_WEBHOOK_TERMINATION)
        await bot.remove_webhook()
        settings = WebhookSettings(url, secret, max_connections, params.get_str("ip_address"))
        bot.webhook = WebhookWorker(
            settings,
            bot.updates,
            session=self._state.http_session(),
            policy=self._state.webhook_policy,
            execute_reply=functools.partial(self.call, bot, inject_faults=False),
        )
        bot.webhook.start()
        return True

    async def _delete_webhook(self, bot: BotState, params: Params) -> bool:
        await bot.remove_webhook()
        if params.get_bool("drop_pending_updates"):
            bot.updates.drop_all()
        return True

    async def _get_webhook_info(self, bot: BotState, _params: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": bot.updates.pending_count,
        }
        if bot.webhook is None:
            return info
        settings = bot.webhook.settings
        info.update(url=settings.url, max_connections=settings.max_connections)
        optional = {
            "ip_address": settings.ip_address,
            "last_error_date": settings.last_error_date,
            "last_error_message": settings.last_error_message,
            "allowed_updates": bot.updates.allowed_updates,
        }
        info.update({key: value for key, value in optional.items() if value is not None})
        return info

    # --- sending -----------------------------------------------------------------------------

    async def _send_message(self, bot: BotState, params: Params) -> dict[str, Any]:
        chat = self._chat(bot, params)
        text = self._format(params, "text")
        message = self._post(bot, chat, params, **_text_fields(text, caption=False))
        return chat.render(message)

    async def _send_photo(self, bot: BotState, params: Params) -> dict[str, Any]:
        chat = self._chat(bot, params)
        photo = self._input_file(params.get_file("photo"), "photo")
        caption = self._format(params, "caption", caption=True)
        message = self._post(
            bot,
            chat,
            params,
            media={"photo": [photo.to_api()]},
            **_text_fields(caption, caption=True),
        )
        return chat.render(message)

    async def _send_document(self, bot: BotState, params: Params) -> dict[str, Any]:
        chat = self._chat(bot, params)
        document = self._input_file(params.get_file("document"), "document")
        caption = self._format(params, "caption", caption=True)
        message = self._post(
            bot,
            chat,
            params,
            media={"document": document.to_api()},
            **_text_fields(caption, caption=True),
        )
        return chat.render(message)

    async def _send_media_group(self, bot: BotState, params: Params) -> list[dict[str, Any]]:
        chat = self._chat(bot, params)
        items = params.get_json("media")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise bad_request("can't parse media JSON object")
        if not 2 <= len(items) <= 10:
            raise bad_request("wrong number of media in the group: 2-10 are allowed")
        kinds = {item.get("type") for item in items}
        if not kinds <= _MEDIA_GROUP_KINDS:
            raise bad_request("the emulator supports only photo and document media groups")
        if len(kinds) > 1:
            raise bad_request("document can't be mixed with other media types")
        contents = [self._media_group_item(params, item) for item in items]
        reply_to = self._reply_target(chat, params)
        self._state.flood.acquire(bot.identity.id, chat.id)
        group_id = bot.next_media_group_id()
        messages = [
            chat.add(
                sender=bot.identity.to_api(),
                from_bot=True,
                media_group_id=group_id,
                reply_to_message_id=reply_to,
                **content,
            )
            for content in contents
        ]
        bot.sent.extend(messages)
        return [chat.render(message) for message in messages]

    def _media_group_item(self, params: Params, item: dict[str, Any]) -> dict[str, Any]:
        kind = item["type"]
        media = item.get("media")
        if not isinstance(media, str):
            raise bad_request("can't parse InputMedia JSON object")
        stored = self._input_file(params.resolve_attachment(media), kind)
        caption = self._format(Params(item, {}), "caption", caption=True)
        payload = [stored.to_api()] if kind == "photo" else stored.to_api()
        return {"media": {kind: payload}, **_text_fields(caption, caption=True)}

    async def _send_chat_action(self, bot: BotState, params: Params) -> bool:
        self._chat(bot, params)
        if params.get_str("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # --- editing and deleting ----------------------------------------------------------------

    async def _edit_message_text(self, bot: BotState, params: Params) -> dict[str, Any]:
        chat = self._chat(bot, params)
        message = self._editable(chat, params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text = self._format(params, "text")
        markup = parse_reply_markup(params, inline_only=True)
        current = (message.text, message.entities, _inline_markup(message))
        if (text.text, text.entities, markup) == current:
            raise bad_request(NOT_MODIFIED)
        message.text = text.text
        message.entities = text.entities
        message.source = text.source
        message.parse_mode = text.parse_mode
        if markup is not None or _inline_markup(message) is not None:
            message.reply_markup = markup
        message.edit_date = now()
        chat.signal.notify()
        return chat.render(message)

    async def _edit_message_reply_markup(self, bot: BotState, params: Params) -> dict[str, Any]:
        chat = self._chat(bot, params)
        message = self._editable(chat, params)
        markup = parse_reply_markup(params, inline_only=True)
        if markup == _inline_markup(message):
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = now()
        chat.signal.notify()
        return chat.render(message)

    async def _delete_message(self, bot: BotState, params: Params) -> bool:
        chat = self._chat(bot, params)
        message_id = params.require_int(
            "message_id", missing="message identifier is not specified"
        )
        message = chat.find(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True
        chat.signal.notify()
        return True

    # --- callbacks, files, commands ----------------------------------------------------------

    async def _answer_callback_query(self, bot: BotState, params: Params) -> bool:
        query = bot.callbacks.get(params.require_str("callback_query_id"))
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get_str("text") or None
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer(
            text=text, show_alert=params.get_bool("show_alert"), url=params.get_str("url")
        )
        return True

    async def _get_file(self, _bot: BotState, params: Params) -> dict[str, Any]:
        stored = self._state.files.get(params.require_str("file_id"))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return stored.file_info()

    async def _set_my_commands(self, bot: BotState, params: Params) -> bool:
        raw = params.get_json("commands")
        if not isinstance(raw, list):
            raise bad_request("can't parse commands JSON object")
        if len(raw) > 100:
            raise bad_request("too many commands specified")
        commands = [_bot_command(item) for item in raw]
        key = _commands_key(params)
        if commands:
            bot.commands[key] = commands
        else:
            bot.commands.pop(key, None)
        return True

    async def _get_my_commands(self, bot: BotState, params: Params) -> list[dict[str, str]]:
        return list(bot.commands.get(_commands_key(params), []))

    async def _delete_my_commands(self, bot: BotState, params: Params) -> bool:
        bot.commands.pop(_commands_key(params), None)
        return True


def _bot_command(item: object) -> dict[str, str]:
    if not isinstance(item, dict):
        raise bad_request("can't parse BotCommand JSON object")
    command, description = item.get("command"), item.get("description")
    if not isinstance(command, str) or not _COMMAND.fullmatch(command):
        raise bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description) <= 256:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command, "description": description}


def commands_scope_key(scope: object) -> str:
    """A stable key for a `BotCommandScope` (chat scopes include the chat and user ids)."""
    if scope is None:
        return "default"
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = str(scope["type"])
    if kind not in _CHAT_SCOPES:
        return kind
    parts = [kind, str(scope.get("chat_id"))]
    if kind == "chat_member":
        parts.append(str(scope.get("user_id")))
    return ":".join(parts)


def _commands_key(params: Params) -> tuple[str, str]:
    language = params.get_str("language_code") or ""
    if language and not _LANGUAGE_CODE.fullmatch(language):
        raise bad_request("invalid language code specified")
    return commands_scope_key(params.get_json("scope")), language

"""Emulated people: what a Telegram client lets a person do in a private chat with a bot.

Every action produces the update a real client would cause (`message`, `callback_query`,
`my_chat_member`); actions a real client would not allow raise `UserActionError`. Reads return
snapshots of the chat as the person sees it now: edits applied, deleted messages gone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from okdesk_bot.emulators.telegram.errors import UserActionError
from okdesk_bot.emulators.telegram.markup import reply_buttons
from okdesk_bot.emulators.telegram.models import (
    CallbackQueryRecord,
    ChatMessage,
    UserProfile,
    guess_mime_type,
    image_size,
    now,
)
from okdesk_bot.emulators.telegram.state import BotState, ChatState, EmulatorState
from okdesk_bot.emulators.telegram.text import detect_bot_commands
from okdesk_bot.emulators.telegram.waiting import wait_until

MessagePredicate = Callable[[ChatMessage], bool]

SAMPLE_PHOTO = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00"
    b"\xfd\xd4\x9as\x00\x00\x00\x11IDATx\x9cc\xf8\xcf\xc0\x00D\x0c`\xf2?\x00\x1b\xf2\x03\xfd"
    b"\xf3\xe7K\xb1\x00\x00\x00\x00IEND\xaeB`\x82"
)
"""A valid 2x2 PNG, the default picture of `send_photo`."""
SAMPLE_VOICE = b"OggS\x00\x02" + bytes(58)
SAMPLE_STICKER = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + bytes(14)


class EmulatedUser:
    """One person in their private chat with one bot (`chat.id == user.id`)."""

    def __init__(self, state: EmulatorState, bot: BotState, profile: UserProfile) -> None:
        self._state = state
        self._bot = bot
        self.profile = profile
        self._cursor = 0

    def __repr__(self) -> str:
        return f"EmulatedUser(id={self.id}, bot_id={self.bot_id})"

    @property
    def id(self) -> int:
        """The user id, also the id of the private chat."""
        return self.profile.id

    @property
    def chat_id(self) -> int:
        """The private chat id (== user id)."""
        return self.profile.id

    @property
    def bot_id(self) -> int:
        """The bot this person talks to."""
        return self._bot.identity.id

    @property
    def reply_keyboard(self) -> dict[str, Any] | None:
        """The reply keyboard the bot currently shows this person, if any."""
        chat = self._bot.chats.get(self.id)
        return copy.deepcopy(chat.reply_keyboard) if chat is not None else None

    # --- sending -----------------------------------------------------------------------------

    async def send_text(self, text: str) -> ChatMessage:
        """Type and send `text`; `/commands` in it get `bot_command` entities."""
        if not text.strip():
            msg = "a Telegram client does not send an empty message"
            raise UserActionError(msg)
        return self._send(text=text, entities=detect_bot_commands(text))

    async def send_command(self, command: str, payload: str | None = None) -> ChatMessage:
        """Send `/command` (the slash is optional), with a deep-link style payload."""
        text = "/" + command.removeprefix("/")
        return await self.send_text(f"{text} {payload}" if payload else text)

    async def reply_to(self, message_id: int, text: str) -> ChatMessage:
        """Reply to a message of the chat; the update carries the full replied message."""
        if self._active_chat().find(message_id) is None:
            msg = f"chat {self.id} has no message {message_id} to reply to"
            raise UserActionError(msg)
        return self._send(
            text=text, entities=detect_bot_commands(text), reply_to_message_id=message_id
        )

    async def share_contact(
        self,
        phone_number: str | None = None,
        *,
        user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> ChatMessage:
        """Share a contact: one's own by default; another `user_id` is a forwarded card."""
        phone = phone_number or self.profile.phone_number
        if not phone:
            msg = f"user {self.id} has no phone number; pass phone_number"
            raise UserActionError(msg)
        own = user_id is None or user_id == self.id
        contact = {
            "phone_number": phone,
            "first_name": first_name or (self.profile.first_name if own else "Contact"),
            "user_id": self.id if user_id is None else user_id,
        }
        last = last_name or (self.profile.last_name if own else None)
        if last:
            contact["last_name"] = last
        return self._send(media={"contact": contact})

    async def send_photo(
        self, data: bytes = SAMPLE_PHOTO, *, caption: str | None = None
    ) -> ChatMessage:
        """Send a picture (a tiny PNG by default) with an optional caption."""
        return self._send(**self._photo_fields(data, caption))

    async def send_album(
        self, photos: Sequence[bytes], *, caption: str | None = None
    ) -> list[ChatMessage]:
        """Send 2-10 pictures as one album: one update per picture, same `media_group_id`."""
        if not 2 <= len(photos) <= 10:
            msg = "an album holds 2 to 10 pictures"
            raise UserActionError(msg)
        group_id = self._bot.next_media_group_id()
        return [
            self._send(
                media_group_id=group_id,
                **self._photo_fields(data, caption if index == 0 else None),
            )
            for index, data in enumerate(photos)
        ]

    async def send_document(
        self,
        data: bytes,
        file_name: str = "document.pdf",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        """Send a file as a document."""
        stored = self._state.files.add(
            "document", data, file_name=file_name, mime_type=guess_mime_type(file_name, mime_type)
        )
        return self._send(media={"document": stored.to_api()}, caption=caption)

    async def send_voice(self, data: bytes = SAMPLE_VOICE, *, duration: int = 1) -> ChatMessage:
        """Send a voice note."""
        stored = self._state.files.add("voice", data, duration=duration, mime_type="audio/ogg")
        return self._send(media={"voice": stored.to_api()})

    async def send_sticker(self, emoji: str = "👍") -> ChatMessage:
        """Send a sticker."""
        stored = self._state.files.add(
            "sticker",
            SAMPLE_STICKER,
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            emoji=emoji,
        )
        return self._send(media={"sticker": stored.to_api()})

    async def send_location(self, latitude: float, longitude: float) -> ChatMessage:
        """Share a location."""
        return self._send(media={"location": {"latitude": latitude, "longitude": longitude}})

    # --- keyboards ---------------------------------------------------------------------------

    async def press_button(self, message_id: int, button: str) -> CallbackQueryRecord:
        """Press an inline button of a bot message, found by its text or its callback_data.

        Returns the callback query record; `await record.wait_answered()` to see the answer.
        """
        chat = self._active_chat()
        message = chat.find(message_id)
        if message is None or not message.from_bot:
            msg = f"chat {self.id} has no bot message {message_id}"
            raise UserActionError(msg)
        found = next(
            (
                each
                for each in message.buttons
                if button in (each["text"], each.get("callback_data"))
            ),
            None,
        )
        if found is None:
            texts = [each["text"] for each in message.buttons]
            msg = f"message {message_id} has no button {button!r}; its buttons: {texts}"
            raise UserActionError(msg)
        data = found.get("callback_data")
        if data is None:
            msg = f"button {found['text']!r} is not a callback button"
            raise UserActionError(msg)
        query = CallbackQueryRecord(self._bot.next_callback_id(), self.id, message_id, data)
        self._bot.callbacks[query.id] = query
        self._bot.updates.push(
            "callback_query",
            {
                "id": query.id,
                "from": self.profile.to_api(),
                "message": chat.render(message),
                "chat_instance": f"{self.bot_id}{self.id}",
                "data": data,
            },
        )
        return query

    async def press_reply_button(self, text: str) -> ChatMessage:
        """Press a button of the reply keyboard the bot shows (a contact button shares one's own
        contact, any other sends its text)."""
        chat = self._active_chat()
        buttons = reply_buttons(chat.reply_keyboard)
        found = next((each for each in buttons if each["text"] == text), None)
        if found is None:
            texts = [each["text"] for each in buttons]
            msg = f"the reply keyboard has no button {text!r}; it shows {texts}"
            raise UserActionError(msg)
        if found.get("request_contact"):
            return await self.share_contact()
        if any(key.startswith("request_") or key == "web_app" for key in found):
            msg = f"button {text!r} needs a client feature the emulator does not emulate"
            raise UserActionError(msg)
        return await self.send_text(text)

    # --- membership --------------------------------------------------------------------------

    async def block(self) -> None:
        """Block the bot: its messages now fail with 403, and it gets `my_chat_member`."""
        self._set_blocked(blocked=True)

    async def unblock(self) -> None:
        """Unblock the bot (it gets `my_chat_member` with status `member`)."""
        self._set_blocked(blocked=False)

    def _set_blocked(self, *, blocked: bool) -> None:
        chat = self._bot.chats.get(self.id)
        if chat is None or not chat.started:
            msg = f"user {self.id} has not started the bot yet"
            raise UserActionError(msg)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        bot_user = self._bot.identity.to_api()
        member = {"status": "member", "user": bot_user}
        kicked = {"status": "kicked", "user": bot_user, "until_date": 0}
        self._bot.updates.push(
            "my_chat_member",
            {
                "chat": self.profile.chat(),
                "from": self.profile.to_api(),
                "date": now(),
                "old_chat_member": member if blocked else kicked,
                "new_chat_member": kicked if blocked else member,
            },
        )

    # --- reading -----------------------------------------------------------------------------

    def messages(self) -> list[ChatMessage]:
        """Every message of the chat, both sides, in order (edits and deletions applied)."""
        chat = self._bot.chats.get(self.id)
        return [copy.deepcopy(message) for message in chat.visible()] if chat else []

    def bot_messages(self) -> list[ChatMessage]:
        """The bot's messages of the chat, in order (edits and deletions applied)."""
        return [message for message in self.messages() if message.from_bot]

    async def wait_for_bot_message(
        self,
        *,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API; the error lists the chat
    ) -> ChatMessage:
        """The next bot message not returned by an earlier call (matching `predicate`).

        Messages sent before the call count too, so a fast answer is never missed; skipped
        messages that do not match the predicate are not returned later. Raises TimeoutError.
        """
        chat = self._bot.open_chat(self.profile)

        def next_message() -> ChatMessage | None:
            for message in chat.visible():
                if not message.from_bot or message.message_id <= self._cursor:
                    continue
                if predicate is None or predicate(copy.deepcopy(message)):
                    return message
            return None

        found = await wait_until(chat.signal, next_message, within=timeout)
        if found is None:
            seen = [message.text or message.caption for message in chat.visible()]
            msg = f"no new bot message in chat {self.id} within {timeout} s; chat: {seen}"
            raise TimeoutError(msg)
        self._cursor = found.message_id
        return copy.deepcopy(found)

    # --- helpers -----------------------------------------------------------------------------

    def _active_chat(self) -> ChatState:
        chat = self._bot.open_chat(self.profile)
        if chat.blocked:
            msg = f"user {self.id} has blocked the bot; unblock() first"
            raise UserActionError(msg)
        return chat

    def _photo_fields(self, data: bytes, caption: str | None) -> dict[str, Any]:
        width, height = image_size(data)
        stored = self._state.files.add("photo", data, width=width, height=height)
        return {"media": {"photo": [stored.to_api()]}, "caption": caption}

    def _send(self, **fields: Any) -> ChatMessage:
        chat = self._active_chat()
        chat.started = True
        message = chat.add(sender=self.profile.to_api(), from_bot=False, **fields)
        self._bot.updates.push("message", chat.render(message))
        return copy.deepcopy(message)

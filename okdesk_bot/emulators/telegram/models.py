"""In-memory records of the emulator and their Bot API JSON forms."""

from __future__ import annotations

import mimetypes
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from okdesk_bot.emulators.telegram.markup import inline_buttons, reply_buttons
from okdesk_bot.emulators.telegram.waiting import Signal, wait_until

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def now() -> int:
    """Unix time in seconds, the unit of every `date` in the Bot API."""
    return int(time.time())


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """A registered bot: its token (never shown in reprs) and its public profile."""

    id: int
    token: str = field(repr=False)
    first_name: str
    username: str

    def to_api(self) -> dict[str, Any]:
        """The bot as a Bot API `User`."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def get_me(self) -> dict[str, Any]:
        """The `getMe` result."""
        return {
            **self.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


@dataclass(slots=True)
class UserProfile:
    """A person using Telegram; their private chat with any bot has `chat.id == id`."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone_number: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The person as a Bot API `User`."""
        return _without_none(
            {
                "id": self.id,
                "is_bot": False,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )

    def chat(self) -> dict[str, Any]:
        """Their private chat as a Bot API `Chat`."""
        return _without_none(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


_FILE_FOLDERS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "voice": ("voice", ".oga"),
    "sticker": ("stickers", ".webp"),
}
_FILE_ID_PREFIXES = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
}


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file known to the emulator (uploaded by a bot or sent by a person)."""

    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    data: bytes = field(repr=False)
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def to_api(self) -> dict[str, Any]:
        """The file as the matching Bot API object (PhotoSize, Document, Voice, Sticker)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            **self.attributes,
        }

    def file_info(self) -> dict[str, Any]:
        """The `getFile` result."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


class FileStore:
    """Every file of the emulator by file_id and by download path, in memory."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def add(self, kind: str, data: bytes, **attributes: Any) -> StoredFile:
        """Store `data` as a new file of `kind` (photo, document, voice, sticker)."""
        number = len(self._by_id) + 1
        folder, extension = _FILE_FOLDERS[kind]
        file_name = attributes.get("file_name")
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{_FILE_ID_PREFIXES[kind]}{number:06d}",
            file_unique_id=f"AQAD{number:06d}",
            kind=kind,
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            attributes=_without_none(attributes),
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file with this download path."""
        return self._by_path.get(file_path)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG image; (0, 0) for anything else."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not data.startswith(b"\xff\xd8"):
        return 0, 0
    index = 2
    while index + 9 <= len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        if marker in _JPEG_FRAME_MARKERS:
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return 0, 0


def guess_mime_type(file_name: str, declared: str | None) -> str:
    """The MIME type a client would report for a file."""
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"


@dataclass(slots=True)
class ChatMessage:
    """One message of a private chat, from the bot or from the person, in its current state.

    `source` is the text or caption exactly as the bot sent it (the HTML source when
    `parse_mode` is HTML); `text`/`caption` and `entities` are the result of parsing it.
    `media` holds the other Bot API fields (photo, document, contact, location, ...).
    """

    message_id: int
    chat: dict[str, Any]
    sender: dict[str, Any]
    from_bot: bool
    date: int
    text: str | None = None
    caption: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    media: dict[str, Any] = field(default_factory=dict)
    edit_date: int | None = None
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        """The chat this message belongs to."""
        return int(self.chat["id"])

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons currently attached, row by row."""
        return inline_buttons(self.reply_markup)

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        """Reply-keyboard buttons this message showed, row by row."""
        return reply_buttons(self.reply_markup)

    def to_api(self, reply_to: ChatMessage | None = None) -> dict[str, Any]:
        """The message as a Bot API `Message` (reply keyboards are not echoed, as in Telegram)."""
        entities_key = "caption_entities" if self.caption is not None else "entities"
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
            **_without_none(
                {
                    "edit_date": self.edit_date,
                    "media_group_id": self.media_group_id,
                    "text": self.text,
                    "caption": self.caption,
                }
            ),
            **self.media,
        }
        if self.entities:
            message[entities_key] = self.entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        if reply_to is not None:
            message["reply_to_message"] = reply_to.to_api()
        return message


@dataclass(slots=True)
class CallbackQueryRecord:
    """A press of an inline button and how the bot answered it."""

    id: str
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False
    url: str | None = None
    _signal: Signal = field(default_factory=Signal, repr=False)

    def answer(self, *, text: str | None, show_alert: bool, url: str | None) -> None:
        """Record the bot's `answerCallbackQuery`."""
        self.answered = True
        self.answer_text = text
        self.show_alert = show_alert
        self.url = url
        self._signal.notify()

    async def wait_answered(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API; the error names the query
    ) -> CallbackQueryRecord:
        """Wait until the bot answers this query; raises TimeoutError if it does not."""
        answered = await wait_until(
            self._signal, lambda: self if self.answered else None, within=timeout
        )
        if answered is not None:
            return answered
        msg = f"callback query {self.id} was not answered within {timeout} s"
        raise TimeoutError(msg)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API request as the emulator saw and answered it."""

    bot_id: int
    method: str
    params: dict[str, Any]
    status: int
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == 200


@dataclass(slots=True)
class Stats:
    """Counters of calls per method and of error answers per status code."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)

    @property
    def too_many_requests(self) -> int:
        """429 answers sent."""
        return self.errors[429]

    @property
    def forbidden(self) -> int:
        """403 answers sent."""
        return self.errors[403]

    @property
    def server_errors(self) -> int:
        """5xx answers sent."""
        return sum(count for status, count in self.errors.items() if status >= 500)

    def reset(self) -> None:
        """Start counting from zero."""
        self.calls.clear()
        self.errors.clear()

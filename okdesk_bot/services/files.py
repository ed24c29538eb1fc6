"""Files the client sends with a ticket or a comment, and the port their bytes come through.

Telegram-agnostic: a file travels by reference (:class:`IncomingFile`, storable as JSON in a
draft) and its bytes are fetched through a :class:`FileSource` only when it is sent to Okdesk,
so a ticket or a comment can be sent again later without keeping the bytes anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

MAX_FILE_BYTES: Final = 20 * 1024 * 1024
"""Telegram lets a bot download files up to 20 MB; bigger ones cannot be sent to Okdesk."""


class FileTooLargeError(Exception):
    """Telegram refuses to hand the file to the bot (over its download limit)."""


class FileUnavailableError(Exception):
    """The file could not be fetched now; trying again later may work."""


class FileSource(Protocol):
    """Where the bytes of a file the client sent come from (Telegram, in the bot)."""

    async def fetch(self, file_id: str) -> bytes:
        """The file's content; raises `FileTooLargeError` or `FileUnavailableError`."""
        ...


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file of the client's message, by reference (the bytes are fetched when sending)."""

    kind: str  # aiogram's ContentType value: photo, document, voice, audio, video
    file_id: str
    file_name: str
    mime_type: str
    size: int | None = None

    @property
    def too_large(self) -> bool:
        return self.size is not None and self.size > MAX_FILE_BYTES

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IncomingFile:
        size = data.get("size")
        return cls(
            kind=str(data["kind"]),
            file_id=str(data["file_id"]),
            file_name=str(data["file_name"]),
            mime_type=str(data["mime_type"]),
            size=int(size) if size is not None else None,
        )

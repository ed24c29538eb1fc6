"""Files of Telegram messages, for tickets and comments alike.

* `message_file` reads the file a message carries as an `IncomingFile` reference;
* `TelegramFiles` is the `FileSource` that fetches its bytes with `getFile` and a download,
  within the 20 MB Telegram allows bots.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import Audio, Document, Message, Video, Voice
from aiohttp import ClientError

from okdesk_bot.services.files import FileTooLargeError, FileUnavailableError, IncomingFile


def message_file(message: Message) -> IncomingFile | None:
    """The file a message carries, if it is one a ticket or a comment can take."""
    number = message.message_id
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return IncomingFile(
            "photo", photo.file_id, f"photo_{number}.jpg", "image/jpeg", photo.file_size
        )
    if message.document:
        document = message.document
        name = document.file_name or f"document_{number}"
        return _media_file("document", document, name, "application/octet-stream")
    if message.voice:  # a voice note has no name of its own
        return _media_file("voice", message.voice, f"voice_{number}.ogg", "audio/ogg")
    if message.audio:
        audio = message.audio
        return _media_file("audio", audio, audio.file_name or f"audio_{number}.mp3", "audio/mpeg")
    if message.video:
        video = message.video
        return _media_file("video", video, video.file_name or f"video_{number}.mp4", "video/mp4")
    return None


def _media_file(
    kind: str, media: Document | Voice | Audio | Video, file_name: str, default_mime_type: str
) -> IncomingFile:
    return IncomingFile(
        kind, media.file_id, file_name, media.mime_type or default_mime_type, media.file_size
    )


class TelegramFiles:
    """`FileSource` over the Bot API (`getFile`, then the download)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, file_id: str) -> bytes:
        # The download URL holds the bot token: errors are reported by their type only.
        try:
            file = await self._bot.get_file(file_id)
            if file.file_path is None:
                raise FileUnavailableError("Telegram gave no download path")
            content = await self._bot.download_file(file.file_path)
        except TelegramBadRequest as error:
            if "too big" in error.message.lower():
                raise FileTooLargeError from None
            raise FileUnavailableError(type(error).__name__) from None
        except (TelegramAPIError, ClientError, TimeoutError) as error:
            raise FileUnavailableError(type(error).__name__) from None
        if content is None:
            raise FileUnavailableError("empty download")
        return content.read()

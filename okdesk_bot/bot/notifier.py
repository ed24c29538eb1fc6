"""`TelegramNotifier`: sends one outbox payload through aiogram and names the outcome.

The payloads (written by the notification pipeline, one Telegram message each)::

    {"method": "sendMessage", "text": <HTML>, "parse_mode": "HTML", "reply_markup": {...}|null}
    {"method": "sendDocument", "okdesk_issue_id": N, "okdesk_attachment_id": M,
     "filename": "...", "caption": <HTML>, "parse_mode": "HTML", "reply_markup": ...}

A document is fetched from Okdesk at send time (its links live 30 s). Telegram's answers map to
the outcomes of `okdesk_bot.services.outbox_worker` (see `_outcome`); a 400 "can't parse
entities" is answered by sending the same message once more as plain text, so that a markup
mistake never costs the user a notice. Reasons never contain the bot token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, TypeAlias

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from okdesk_bot.domain.richtext import plain_text
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.okdesk.errors import OkdeskError, OkdeskNotFoundError, OkdeskProtocolError
from okdesk_bot.services.outbox_worker import (
    ChatBlocked,
    FloodWait,
    PermanentFailure,
    SendOutcome,
    Sent,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

MESSAGE_TIMEOUT_SECONDS: Final = 10
UPLOAD_TIMEOUT_SECONDS: Final = 60
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
"""Telegram's upload limit for a bot's document."""
_PARSE_ERROR: Final = "can't parse entities"


class _Notice(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    parse_mode: str | None = None
    reply_markup: InlineKeyboardMarkup | None = None


class TextNotice(_Notice):
    """`sendMessage`: Telegram HTML of at most 4096 characters after parsing."""

    method: Literal["sendMessage"]
    text: Annotated[str, Field(min_length=1)]


class DocumentNotice(_Notice):
    """`sendDocument` of an Okdesk issue attachment, with an optional caption."""

    method: Literal["sendDocument"]
    okdesk_issue_id: int
    okdesk_attachment_id: int
    filename: str | None = None
    caption: str | None = None


Notice: TypeAlias = Annotated[TextNotice | DocumentNotice, Field(discriminator="method")]
_NOTICE: Final = TypeAdapter[TextNotice | DocumentNotice](Notice)


class TelegramNotifier:
    """The `Notifier` of the outbox sender, over a real aiogram `Bot`."""

    def __init__(
        self,
        bot: Bot,
        okdesk: OkdeskClient,
        *,
        message_timeout: int = MESSAGE_TIMEOUT_SECONDS,
        upload_timeout: int = UPLOAD_TIMEOUT_SECONDS,
    ) -> None:
        self._bot = bot
        self._okdesk = okdesk
        self._message_timeout = message_timeout
        self._upload_timeout = upload_timeout

    async def send(self, chat_id: int, payload: Mapping[str, Any]) -> SendOutcome:
        try:
            notice = _NOTICE.validate_python(payload)
        except ValidationError as exc:
            return PermanentFailure(f"malformed outbox payload: {_first_error(exc)}")
        try:
            try:
                await self._send(chat_id, notice, plain=False)
            except TelegramBadRequest as exc:
                if _PARSE_ERROR not in exc.message.lower() or notice.parse_mode is None:
                    raise
                log.warning(
                    "Telegram could not parse the markup of a notice to chat %s (%s); "
                    "sending it as plain text",
                    chat_id,
                    exc.message,
                )
                await self._send(chat_id, notice, plain=True)
        except (AiogramError, OkdeskError, _UnsendableError) as exc:
            return self._outcome(exc)
        return Sent()

    async def _send(
        self, chat_id: int, notice: TextNotice | DocumentNotice, *, plain: bool
    ) -> None:
        parse_mode = None if plain else notice.parse_mode
        if isinstance(notice, TextNotice):
            await self._bot.send_message(
                chat_id,
                plain_text(notice.text) if plain else notice.text,
                parse_mode=parse_mode,
                reply_markup=notice.reply_markup,
                request_timeout=self._message_timeout,
            )
            return
        caption = notice.caption
        await self._bot.send_document(
            chat_id,
            await self._fetch(notice),
            caption=plain_text(caption) if plain and caption else caption,
            parse_mode=parse_mode,
            reply_markup=notice.reply_markup,
            request_timeout=self._upload_timeout,
        )

    async def _fetch(self, notice: DocumentNotice) -> BufferedInputFile:
        """The attachment's content, through a fresh link (Okdesk's links expire in 30 s)."""
        attachment = await self._okdesk.get_attachment(
            notice.okdesk_issue_id, notice.okdesk_attachment_id
        )
        size = attachment.attachment_file_size
        if size is not None and size > MAX_UPLOAD_BYTES:
            raise _UnsendableError(_too_large(size))
        if attachment.attachment_url is None:
            msg = f"Okdesk gave no link to attachment {attachment.id}"
            raise OkdeskProtocolError(msg)
        data = await self._okdesk.download(attachment.attachment_url)
        if len(data) > MAX_UPLOAD_BYTES:
            raise _UnsendableError(_too_large(len(data)))
        filename = notice.filename or attachment.attachment_file_name or f"file-{attachment.id}"
        return BufferedInputFile(data, filename=filename)

    def _outcome(self, exc: AiogramError | OkdeskError | _UnsendableError) -> SendOutcome:
        """What a failure means for the message (order matters: subclasses come first)."""
        reason = self._reason(exc)
        match exc:
            case TelegramRetryAfter():
                return FloodWait(float(exc.retry_after))
            case TelegramForbiddenError():
                return ChatBlocked(reason)
            case TelegramEntityTooLarge() | OkdeskNotFoundError() | _UnsendableError():
                return PermanentFailure(reason)
            case TelegramNetworkError() | TelegramServerError() | ClientDecodeError():
                return TemporaryFailure(reason)
            case TelegramBadRequest() | TelegramMigrateToChat():
                return PermanentFailure(reason)
            case _:
                # 401/404/409 concern the bot's setup rather than the message, and Okdesk
                # errors (unavailable, an expired link, a refused token) may pass: try later.
                return TemporaryFailure(reason)

    def _reason(self, exc: AiogramError | OkdeskError | _UnsendableError) -> str:
        if isinstance(exc, TelegramAPIError):
            reason = f"Telegram: {exc.message}"
        elif isinstance(exc, ClientDecodeError):
            reason = "Telegram: an answer that is not the Bot API's (a proxy or gateway page?)"
        elif isinstance(exc, OkdeskError):
            reason = f"Okdesk: {exc.message}"
        else:
            reason = str(exc)
        return reason.replace(self._bot.token, "<bot token>")


class _UnsendableError(Exception):
    """The notice cannot be sent as it is, whatever Telegram would say."""


def _too_large(size: int) -> str:
    megabytes = MAX_UPLOAD_BYTES // (1024 * 1024)
    return f"the file ({size} bytes) exceeds Telegram's {megabytes} MB upload limit"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    location = ".".join(str(part) for part in error["loc"]) or "payload"
    return f"{location}: {error['msg']}"

"""Group chats: the bot points people to the private chat and otherwise stays quiet.

The Telegram emulator models private chats only, so this drives the real Dispatcher with a
Bot whose session records the requests instead of sending them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update, User
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.bot.factory import BotDependencies, create_dispatcher
from okdesk_bot.bot.storage import create_dialog_backend
from okdesk_bot.config import Settings
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.texts import Texts
from tests.support import BOT_TOKEN, OKDESK_TOKEN


class RecordingSession(BaseSession):
    """Answers every request with a plausible result and remembers it."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.requests.append(method)
        if isinstance(method, SendMessage):
            chat = Chat(id=int(method.chat_id), type="group")
            sent = Message(message_id=1, date=datetime.now(UTC), chat=chat, text=method.text)
            return cast(TelegramType, sent)  # SendMessage's result type
        return cast(TelegramType, True)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        """Nothing to close."""


def group_message(text: str, update_id: int) -> Update:
    person = User(id=42, is_bot=False, first_name="Анна", language_code="ru")
    chat = Chat(id=-100123, type="supergroup", title="Офис")
    message = Message(
        message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=person, text=text
    )
    return Update(update_id=update_id, message=message)


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
async def test_a_command_in_a_group_gets_a_pointer_and_chatter_gets_silence(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    session = RecordingSession()
    bot = Bot(BOT_TOKEN, session=session)
    nowhere = "http://127.0.0.1:9/api/v1"  # nothing here may call Okdesk
    settings = Settings(
        _env_file=None,
        bot_token=SecretStr(BOT_TOKEN),
        okdesk_api_url=nowhere,
        okdesk_api_token=SecretStr(OKDESK_TOKEN),
    )
    async with OkdeskClient(nowhere, OKDESK_TOKEN) as okdesk:
        deps = BotDependencies(
            settings=settings, texts=Texts.load(), okdesk=okdesk, sessions=session_factory
        )
        dispatcher = create_dispatcher(deps, create_dialog_backend(session_factory, None))

        await dispatcher.feed_update(bot, group_message("/start", 1))
        await dispatcher.feed_update(bot, group_message("у кого ключ от переговорной?", 2))

    sent = [request for request in session.requests if isinstance(request, SendMessage)]
    assert len(sent) == 1
    assert sent[0].chat_id == -100123
    assert "личных сообщениях" in sent[0].text

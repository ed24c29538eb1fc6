"""The emulator's world: bots, people, private chats, files, faults and counters."""

from __future__ import annotations

import itertools
import re
from typing import Any

from aiohttp import ClientSession

from okdesk_bot.emulators.telegram.errors import not_found, unauthorized
from okdesk_bot.emulators.telegram.faults import FaultInjector
from okdesk_bot.emulators.telegram.flood import FloodControl
from okdesk_bot.emulators.telegram.models import (
    ApiCall,
    BotIdentity,
    CallbackQueryRecord,
    ChatMessage,
    FileStore,
    Stats,
    UserProfile,
    now,
)
from okdesk_bot.emulators.telegram.updates import UpdateQueue
from okdesk_bot.emulators.telegram.waiting import Signal, wait_until
from okdesk_bot.emulators.telegram.webhook import WebhookPolicy, WebhookWorker

TOKEN_PATTERN = re.compile(r"^(\d{1,19}):[A-Za-z0-9_-]+$")


class ChatState:
    """A person's private chat with one bot; message ids are shared by both sides.

    The bot can write to the chat only once it is `started` (the person wrote first).
    """

    def __init__(self, profile: UserProfile) -> None:
        self.profile = profile
        self.messages: dict[int, ChatMessage] = {}
        self.started = False
        self.blocked = False
        self.reply_keyboard: dict[str, Any] | None = None
        self.signal = Signal()
        self._message_ids = itertools.count(1)

    @property
    def id(self) -> int:
        """The chat id (equal to the person's user id)."""
        return self.profile.id

    def add(self, *, sender: dict[str, Any], from_bot: bool, **fields: Any) -> ChatMessage:
        """Append a new message and wake waiters."""
        message = ChatMessage(
            message_id=next(self._message_ids),
            chat=self.profile.chat(),
            sender=sender,
            from_bot=from_bot,
            date=now(),
            **fields,
        )
        self.messages[message.message_id] = message
        self.signal.notify()
        return message

    def find(self, message_id: int) -> ChatMessage | None:
        """A message that exists and is not deleted."""
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    def visible(self) -> list[ChatMessage]:
        """Messages in order, deletions applied."""
        return [message for message in self.messages.values() if not message.deleted]

    def render(self, message: ChatMessage) -> dict[str, Any]:
        """`message` as a Bot API `Message`, with the message it replies to."""
        reply_to = None
        if message.reply_to_message_id is not None:
            reply_to = self.find(message.reply_to_message_id)
        return message.to_api(reply_to)


class BotState:
    """Everything one registered bot owns."""

    def __init__(self, identity: BotIdentity) -> None:
        self.identity = identity
        self.updates = UpdateQueue()
        self.chats: dict[int, ChatState] = {}
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.sent: list[ChatMessage] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.webhook: WebhookWorker | None = None
        self._callback_ids = itertools.count(1)
        self._media_group_ids = itertools.count(1)

    def open_chat(self, profile: UserProfile) -> ChatState:
        """The person's chat with this bot, created on first contact."""
        chat = self.chats.get(profile.id)
        if chat is None:
            chat = self.chats[profile.id] = ChatState(profile)
        return chat

    def next_callback_id(self) -> str:
        """A fresh callback query id."""
        return f"{self.identity.id}{next(self._callback_ids):010d}"

    def next_media_group_id(self) -> str:
        """A fresh media group id."""
        return f"{self.identity.id}{next(self._media_group_ids):08d}"

    async def remove_webhook(self) -> None:
        """Stop webhook delivery, if any."""
        if self.webhook is not None:
            worker, self.webhook = self.webhook, None
            await worker.stop()


class EmulatorState:
    """Shared state behind the Bot API endpoints and the emulated people."""

    def __init__(self, flood: FloodControl) -> None:
        self.bots: dict[int, BotState] = {}
        self.people: dict[int, UserProfile] = {}
        self.files = FileStore()
        self.faults = FaultInjector()
        self.flood = flood
        self.stats = Stats()
        self.calls: list[ApiCall] = []
        self.strict_ampersand = True
        self.webhook_policy = WebhookPolicy()
        self.closing = False
        self._closed = Signal()
        self._http: ClientSession | None = None

    def add_bot(self, token: str, *, first_name: str, username: str | None) -> BotState:
        """Register a bot; its id is the number before the colon of its token."""
        match = TOKEN_PATTERN.match(token)
        if match is None:
            msg = "a bot token must look like <digits>:<letters, digits, _ or ->"
            raise ValueError(msg)
        bot_id = int(match.group(1))
        if bot_id in self.bots:
            msg = f"bot {bot_id} is already registered"
            raise ValueError(msg)
        identity = BotIdentity(bot_id, token, first_name, username or f"emulated_{bot_id}_bot")
        bot = self.bots[bot_id] = BotState(identity)
        return bot

    def authenticate(self, token: str) -> BotState:
        """The bot owning `token`: 404 for malformed tokens, 401 for unknown ones."""
        match = TOKEN_PATTERN.match(token)
        if match is None:
            raise not_found()
        bot = self.bots.get(int(match.group(1)))
        if bot is None or bot.identity.token != token:
            raise unauthorized()
        return bot

    def http_session(self) -> ClientSession:
        """The client session used for webhook deliveries (created on first use)."""
        if self._http is None or self._http.closed:
            self._http = ClientSession()
        return self._http

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the emulator shuts down."""
        await wait_until(self._closed, lambda: True if self.closing else None, within=seconds)

    def begin_shutdown(self) -> None:
        """Wake every long poll, waiter and held request so the server can stop quickly."""
        self.closing = True
        self._closed.notify()
        for bot in self.bots.values():
            bot.updates.signal.notify()
            for chat in bot.chats.values():
                chat.signal.notify()

    async def finish_shutdown(self) -> None:
        """Stop webhook deliveries and close the client session."""
        for bot in self.bots.values():
            await bot.remove_webhook()
        if self._http is not None:
            await self._http.close()
            self._http = None

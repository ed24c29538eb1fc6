"""`TelegramEmulator`: a fake Telegram Bot API server plus the people who talk to the bots.

Point a real aiogram `Bot` at it::

    emulator = TelegramEmulator(per_chat_rate=None, global_rate=None)
    base_url = await emulator.start()
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    alice = emulator.user(1001, "Alice")
    await alice.send_command("/start")
    reply = await alice.wait_for_bot_message()

Everything lives in memory on one event loop; `stop()` ends every long poll at once.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Self

from aiohttp import web

from okdesk_bot.emulators.telegram.bot_api import BotApi, commands_scope_key
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
)
from okdesk_bot.emulators.telegram.params import MAX_UPLOAD_BYTES
from okdesk_bot.emulators.telegram.server import BotApiHttp
from okdesk_bot.emulators.telegram.state import BotState, EmulatorState
from okdesk_bot.emulators.telegram.user_http import UserHttpApi
from okdesk_bot.emulators.telegram.users import EmulatedUser, MessagePredicate
from okdesk_bot.emulators.telegram.webhook import WebhookPolicy

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-token"  # noqa: S105 - the well-known fake token of tests
_SHUTDOWN_TIMEOUT = 2.0


class TelegramEmulator:
    """A Bot API server for any number of bots (registered by token) and emulated people.

    `per_chat_rate` / `global_rate` are the flood limits in messages per second (None turns a
    limit off); `flood.configure(...)` changes them and the burst sizes later.
    """

    def __init__(
        self,
        *,
        tokens: Sequence[str] = (DEFAULT_TOKEN,),
        per_chat_rate: float | None = 1.0,
        global_rate: float | None = 30.0,
    ) -> None:
        self._state = EmulatorState(
            FloodControl(per_chat_rate=per_chat_rate, global_rate=global_rate)
        )
        for token in (tokens,) if isinstance(tokens, str) else tokens:
            self.add_bot(token)
        self._users: dict[tuple[int, int], EmulatedUser] = {}
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.app = self._build_app()

    def _build_app(self) -> web.Application:
        user_api = UserHttpApi(self)
        bot_api = BotApiHttp(self._state, BotApi(self._state))
        app = web.Application(
            client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024, middlewares=[user_api.errors]
        )
        bot_api.register(app)
        user_api.register(app)
        app.router.add_route("*", "/{tail:.*}", bot_api.fallback)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        self._state.closing = False

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._state.begin_shutdown()

    async def _on_cleanup(self, _app: web.Application) -> None:
        await self._state.finish_shutdown()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0: a free port) and return the base URL for the bot."""
        if self._runner is not None:
            msg = "the emulator is already running"
            raise RuntimeError(msg)
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        netloc_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = f"http://{netloc_host}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving: long polls end, held requests return, webhook delivery stops."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The URL `start` returned (for `TELEGRAM_API_URL` / `TelegramAPIServer.from_base`)."""
        if self._base_url is None:
            msg = "the emulator has not been started"
            raise RuntimeError(msg)
        return self._base_url

    # --- configuration -----------------------------------------------------------------------

    def add_bot(
        self, token: str, *, first_name: str = "Emulated Bot", username: str | None = None
    ) -> BotIdentity:
        """Register a bot (its id is the number before the colon of its token)."""
        return self._state.add_bot(token, first_name=first_name, username=username).identity

    @property
    def bots(self) -> list[BotIdentity]:
        """Registered bots, the default one first."""
        return [bot.identity for bot in self._state.bots.values()]

    @property
    def faults(self) -> FaultInjector:
        """Failure injection: queued error answers, held requests, per-chat 403s."""
        return self._state.faults

    @property
    def flood(self) -> FloodControl:
        """Flood control (429 with retry_after)."""
        return self._state.flood

    @property
    def stats(self) -> Stats:
        """Calls per method and error answers per status code."""
        return self._state.stats

    @property
    def files(self) -> FileStore:
        """Every file uploaded by a bot or sent by a person."""
        return self._state.files

    @property
    def people(self) -> Mapping[int, UserProfile]:
        """Every emulated person by user id."""
        return MappingProxyType(self._state.people)

    @property
    def strict_html(self) -> bool:
        """Reject a bare `&` in HTML (Telegram keeps it literally); True by default."""
        return self._state.strict_ampersand

    @strict_html.setter
    def strict_html(self, value: bool) -> None:
        self._state.strict_ampersand = value

    @property
    def webhook_policy(self) -> WebhookPolicy:
        """Retry timing of webhook deliveries."""
        return self._state.webhook_policy

    @webhook_policy.setter
    def webhook_policy(self, policy: WebhookPolicy) -> None:
        self._state.webhook_policy = policy

    # --- people ------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
        phone_number: str | None = None,
        bot_id: int | None = None,
    ) -> EmulatedUser:
        """The person `user_id` talking to the bot `bot_id` (default: the first bot).

        The first call creates the person with the given profile; later calls return the same
        person (the profile arguments are then ignored).
        """
        bot = self._bot(bot_id)
        profile = self._state.people.get(user_id)
        if profile is None:
            profile = UserProfile(
                user_id, first_name, last_name, username, language_code, phone_number
            )
            self._state.people[user_id] = profile
        key = (bot.identity.id, user_id)
        if key not in self._users:
            self._users[key] = EmulatedUser(self._state, bot, profile)
        return self._users[key]

    # --- reading -----------------------------------------------------------------------------

    def sent_messages(
        self, chat_id: int | None = None, *, bot_id: int | None = None
    ) -> list[ChatMessage]:
        """Everything the bot sent (to `chat_id` or anyone) in sending order, in its current
        state; deleted messages are included with `deleted=True`."""
        sent = self._bot(bot_id).sent
        return [
            copy.deepcopy(message)
            for message in sent
            if chat_id is None or message.chat_id == chat_id
        ]

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing API; the error lists the chat
        bot_id: int | None = None,
    ) -> ChatMessage:
        """`EmulatedUser.wait_for_bot_message` for the person `chat_id` (who must exist)."""
        if chat_id not in self._state.people:
            msg = f"no emulated user {chat_id}"
            raise KeyError(msg)
        user = self.user(chat_id, bot_id=bot_id)
        return await user.wait_for_bot_message(predicate=predicate, timeout=timeout)

    def calls(self, method: str | None = None, *, bot_id: int | None = None) -> list[ApiCall]:
        """Every Bot API call received, optionally only of `method` (case-insensitive)."""
        return [
            call
            for call in self._state.calls
            if (method is None or call.method.lower() == method.lower())
            and (bot_id is None or call.bot_id == bot_id)
        ]

    def callback_query(
        self, query_id: str, *, bot_id: int | None = None
    ) -> CallbackQueryRecord | None:
        """A button press by its callback query id."""
        return self._bot(bot_id).callbacks.get(query_id)

    def commands(
        self,
        *,
        language_code: str = "",
        scope: Mapping[str, Any] | None = None,
        bot_id: int | None = None,
    ) -> list[dict[str, str]]:
        """The command menu set with `setMyCommands` for this scope and language."""
        key = (commands_scope_key(dict(scope) if scope else None), language_code)
        return list(self._bot(bot_id).commands.get(key, []))

    def bots_overview(self) -> list[dict[str, Any]]:
        """Registered bots with their command menus, for the user API."""
        return [
            {
                **bot.identity.to_api(),
                "commands": {
                    f"{scope}/{language or '-'}": commands
                    for (scope, language), commands in bot.commands.items()
                },
            }
            for bot in self._state.bots.values()
        ]

    def _bot(self, bot_id: int | None) -> BotState:
        if bot_id is None:
            if not self._state.bots:
                msg = "no bot is registered"
                raise LookupError(msg)
            return next(iter(self._state.bots.values()))
        bot = self._state.bots.get(bot_id)
        if bot is None:
            msg = f"no bot {bot_id} is registered"
            raise LookupError(msg)
        return bot


async def serve(host: str, port: int, *, tokens: Sequence[str]) -> None:
    """Run an emulator until cancelled (the `okdesk-bot emulate telegram` command)."""
    emulator = TelegramEmulator(tokens=tokens)
    base_url = await emulator.start(host, port)
    logger.info(
        "Telegram Bot API emulator listening on %s for %d bot(s)", base_url, len(emulator.bots)
    )
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()

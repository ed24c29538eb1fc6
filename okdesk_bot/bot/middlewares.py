"""Dispatcher middlewares: updates in flight, a unit of work per update, the user, texts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.bot.session import handling_update
from okdesk_bot.db.base import utcnow
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.logging import log_context
from okdesk_bot.services.outbox_worker import release_unblocked_chat
from okdesk_bot.texts import Texts

Handler: TypeAlias = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class TranslatorMiddleware(BaseMiddleware):
    """Puts `t`, a Translator in the user's Telegram language, into handler data."""

    def __init__(self, texts: Texts) -> None:
        self._texts = texts

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        data["t"] = self._texts.for_locale(user.language_code if user else None)
        return await handler(event, data)


# Updates handled at the same time. Each may hold two database connections (its unit of work
# and the dialog storage); unbounded, a crowd of people writing at once would take every
# connection of the pool and wait forever for a second one (see `db.engine.POOL_SIZE`).
MAX_CONCURRENT_UPDATES = 8


class InFlightTracker(BaseMiddleware):
    """Knows which updates are being handled (so shutdown can let them finish), lets at most
    `limit` run at once, and tags their log lines with the update id."""

    def __init__(self, limit: int = MAX_CONCURRENT_UPDATES) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(limit)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under aiogram
            return await handler(event, data)
        self._tasks.add(task)
        try:
            async with self._slots:
                with log_context(update_id=getattr(event, "update_id", None)), handling_update():
                    return await handler(event, data)
        finally:
            self._tasks.discard(task)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait_idle(self, deadline: float) -> bool:
        """Wait for the updates in flight; False if some still run after `deadline` s."""
        current = asyncio.current_task()
        pending = {task for task in self._tasks if task is not current}
        if not pending:
            return True
        _, still_running = await asyncio.wait(pending, timeout=deadline)
        return not still_running


class UnitOfWorkMiddleware(BaseMiddleware):
    """Opens one unit of work per update as `uow`, and loads the sender as `user`.

    `user` is the stored `User` row (None for someone the bot has never registered). Services
    commit the unit of work themselves; whatever they did not commit is rolled back here.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with UnitOfWork(self._sessions) as uow:
            sender: User | None = data.get("event_from_user")
            user = await uow.users.get_by_telegram_id(sender.id) if sender else None
            if user is not None and user.unreachable_since is not None:
                # Whoever writes to the bot can be written to: deliver what was held back,
                # even if Telegram's "unblocked" update (my_chat_member) never arrived.
                await release_unblocked_chat(uow, user.chat_id, now=utcnow())
                await uow.commit()
            data["uow"] = uow
            data["user"] = user
            return await handler(event, data)

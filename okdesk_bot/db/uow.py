"""Unit of work: one session, the repositories over it, and the only place that commits."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.repositories import (
    AppStateRepository,
    FsmStateRepository,
    InboxRepository,
    OutboxRepository,
    TelegramUpdateRepository,
    TicketRepository,
    UserRepository,
)


class UnitOfWork:
    """`async with UnitOfWork(factory) as uow: ...; await uow.commit()`.

    Whatever is not committed when the block exits (normally or by an exception) is rolled
    back. One instance serves one block; create a new one for the next piece of work.
    """

    users: UserRepository
    tickets: TicketRepository
    inbox: InboxRepository
    outbox: OutboxRepository
    app_state: AppStateRepository
    fsm: FsmStateRepository
    telegram_updates: TelegramUpdateRepository

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            msg = "this unit of work is already in use"
            raise RuntimeError(msg)
        session = self._session_factory()
        self._session = session
        self.users = UserRepository(session)
        self.tickets = TicketRepository(session)
        self.inbox = InboxRepository(session)
        self.outbox = OutboxRepository(session)
        self.app_state = AppStateRepository(session)
        self.fsm = FsmStateRepository(session)
        self.telegram_updates = TelegramUpdateRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed and returns the connection to the pool.
        await self._require_session().close()

    async def commit(self) -> None:
        await self._require_session().commit()

    async def rollback(self) -> None:
        await self._require_session().rollback()

    def _require_session(self) -> AsyncSession:
        if self._session is None:
            msg = "use the unit of work inside `async with`"
            raise RuntimeError(msg)
        return self._session

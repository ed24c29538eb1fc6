"""Group commit for the webhook inbox: webhooks arriving together share one transaction.

Every webhook must be committed before it is answered. One transaction per webhook costs a
statement, a commit and a connection round trip each, and on SQLite every one of them waits
for the single write lock. `InboxWriter` lets concurrent requests share the work: the first
request starts a flush at once (no timer, so a lone webhook waits for nobody); requests that
arrive while a flush runs are queued and go together in the next one, as one multi-row
``INSERT … ON CONFLICT DO NOTHING`` and one commit. Each request still gets its own answer
only after the commit that holds its event, so nothing is acknowledged before it is durable.

When the database is unavailable (it cannot be reached, or is locked), every request of the
batch gets the error and answers 503. Any other failure may come from one entry's data, so the
batch's entries are retried one by one: one bad event cannot fail the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.repositories import MAX_INBOX_BATCH, NewInboxEvent
from okdesk_bot.db.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH_LIMIT: Final = 256
"""The most events one flush commits (the rest wait for the next flush)."""

_Pending = tuple[NewInboxEvent, "asyncio.Future[bool]"]
_UNAVAILABLE: Final = (OperationalError, InterfaceError, OSError)
"""The database cannot be reached or is locked (`OSError` includes timeouts)."""


class InboxWriter:
    """`await writer.record(entry)`: True once committed as new, False for a duplicate."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, batch_limit: int = BATCH_LIMIT
    ) -> None:
        if not 1 <= batch_limit <= MAX_INBOX_BATCH:
            msg = f"batch_limit must be between 1 and {MAX_INBOX_BATCH}"
            raise ValueError(msg)
        self._sessions = sessions
        self._batch_limit = batch_limit
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0
        """Transactions committed so far (a request counter divided by this is the batching)."""

    async def record(self, entry: NewInboxEvent) -> bool:
        """Commit `entry` to the inbox (with whatever else is waiting); False if a duplicate.

        Raises what the database raised. Cancelling the wait does not withdraw the entry: it
        may still be committed, which a redelivery then finds as a duplicate.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_queue(), name="inbox-writer")
        return await future

    async def close(self) -> None:
        """Wait for the flush in progress, if any (the requests waiting on it get answers)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush_queue(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._batch_limit]
                del self._queue[: len(batch)]
                await self._flush(batch)
        finally:
            self._flusher = None
            _settle(self._queue, asyncio.CancelledError())  # left only when cancelled
            self._queue.clear()

    async def _flush(self, batch: Sequence[_Pending]) -> None:
        try:
            added = await self._commit([entry for entry, _ in batch])
        except _UNAVAILABLE as exc:
            _settle(batch, exc)
            return
        except Exception as exc:  # noqa: BLE001 - each request gets it (or its own outcome)
            if len(batch) == 1:
                _settle(batch, exc)
                return
            log.warning(
                "An inbox batch of %s failed (%s); recording one by one",
                len(batch),
                type(exc).__name__,
            )
            for pending in batch:
                await self._flush([pending])
            return
        except BaseException as exc:  # cancelled: nobody is left waiting in vain
            _settle(batch, exc)
            raise
        for (_, future), is_new in zip(batch, added, strict=True):
            if not future.done():
                future.set_result(is_new)

    async def _commit(self, entries: list[NewInboxEvent]) -> list[bool]:
        async with UnitOfWork(self._sessions) as uow:
            added = await uow.inbox.add_many(entries)
            await uow.commit()
        self.flushes += 1
        return added


def _settle(batch: Sequence[_Pending], exc: BaseException) -> None:
    for _, future in batch:
        if future.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)

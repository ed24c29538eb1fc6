"""Albums: telling when all items of one have arrived.

Telegram delivers an album as one update per item, sharing a `media_group_id`. The dispatcher
handles one chat's updates one at a time (events isolation), so a handler cannot wait there for
the rest of its album. Instead each item is stored by the feature as it arrives, and
`AlbumCollector.item_arrived` (re)starts a short timer per album; when no item came for `quiet`
seconds, the album's last update is fed to the dispatcher once more with the collector's
completion flag set in the handler data. The album is then handled inside the normal pipeline:
unit of work, user, dialog state and the chat's lock.

Each feature has a collector under a flag of its own, so neither takes the other's albums.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update

log = logging.getLogger(__name__)

ALBUM_QUIET_SECONDS: Final = 1.0
"""An album is complete when no item of it arrived for this long."""


class AlbumCollector:
    """Feeds an album's last update again, flagged `completion_flag`, once it is complete."""

    def __init__(self, completion_flag: str, *, quiet: float = ALBUM_QUIET_SECONDS) -> None:
        self._flag = completion_flag
        self._quiet = quiet
        self._timers: dict[str, asyncio.Task[None]] = {}

    def is_complete(self, _event: Message, **data: Any) -> bool:
        """Filter: the update is an album fed again by this collector, now complete."""
        return bool(data.get(self._flag))

    def item_arrived(self, key: str, *, dispatcher: Dispatcher, bot: Bot, update: Update) -> None:
        """An item of album `key` arrived (and was stored): wait for the next one anew."""
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        self._timers[key] = asyncio.create_task(
            self._complete_later(key, dispatcher, bot, update), name=f"{self._flag} {key}"
        )

    async def close(self) -> None:
        """Stop waiting (the dispatcher shuts down); the albums stay stored."""
        timers = list(self._timers.values())
        self._timers.clear()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)

    async def _complete_later(
        self, key: str, dispatcher: Dispatcher, bot: Bot, update: Update
    ) -> None:
        await asyncio.sleep(self._quiet)
        self._timers.pop(key, None)
        try:
            await dispatcher.feed_update(bot, update, **{self._flag: True})
        except Exception:
            log.exception("The complete album %s (%s) could not be handled", key, self._flag)

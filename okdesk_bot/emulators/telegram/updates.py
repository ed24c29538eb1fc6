"""The pending-update queue of one bot, with real `getUpdates` offset semantics.

An update stays pending until it is confirmed: by a `getUpdates` call whose `offset` is higher
than its id, by a negative offset (which keeps only the last `-offset` updates), or by a
successful webhook delivery. `allowed_updates` filters updates when they are created, so a
change does not affect updates already queued, exactly as the Bot API documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from okdesk_bot.emulators.telegram.errors import bad_request
from okdesk_bot.emulators.telegram.waiting import Signal

ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
MAX_UPDATES_PER_CALL = 100
SUPERSEDED_POLL = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)


@dataclass(slots=True)
class LongPoll:
    """One waiting `getUpdates`; `conflict` is set when something else terminates it."""

    conflict: str | None = None


class UpdateQueue:
    """Pending updates of one bot, oldest first."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._explicit_allowed: list[str] | None = None
        self._poll: LongPoll | None = None
        self.signal = Signal()

    @property
    def pending_count(self) -> int:
        """Updates not confirmed yet."""
        return len(self._pending)

    @property
    def allowed_updates(self) -> list[str] | None:
        """The update types last requested explicitly (None when left at the default)."""
        return self._explicit_allowed

    def set_allowed(self, types: object) -> None:
        """Apply an `allowed_updates` parameter: None keeps, [] resets to the default."""
        if types is None:
            return
        if not isinstance(types, list) or not all(isinstance(kind, str) for kind in types):
            raise bad_request("can't parse allowed_updates JSON object")
        known = [kind for kind in types if kind in ALL_UPDATE_TYPES]
        self._allowed = frozenset(known) if known else DEFAULT_UPDATE_TYPES
        self._explicit_allowed = known or None

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update of `kind` unless the bot does not want that kind."""
        if kind not in self._allowed:
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._pending.append(update)
        self.signal.notify()
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates below a positive offset, or all but the last `-offset` ones."""
        if offset > 0:
            self._pending = [update for update in self._pending if update["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def peek(self, limit: int) -> list[dict[str, Any]]:
        """The oldest `limit` pending updates, still pending."""
        return self._pending[:limit]

    def drop_all(self) -> None:
        """`drop_pending_updates`: forget everything pending."""
        self._pending.clear()

    def begin_poll(self) -> LongPoll:
        """Register a new long poll, terminating the previous one with 409."""
        self.terminate_poll(SUPERSEDED_POLL)
        self._poll = LongPoll()
        return self._poll

    def end_poll(self, poll: LongPoll) -> None:
        """Unregister a finished long poll."""
        if self._poll is poll:
            self._poll = None

    def terminate_poll(self, reason: str) -> None:
        """Make a waiting `getUpdates` answer 409 with `reason`."""
        if self._poll is not None:
            self._poll.conflict = reason
            self._poll = None
            self.signal.notify()

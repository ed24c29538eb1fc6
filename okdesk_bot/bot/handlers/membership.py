"""`my_chat_member` in private chats: the person blocked the bot, or let it back in.

Blocking marks the user unreachable and parks the notices waiting for their chat, so the
sender does not knock on a closed door; unblocking releases them, in their order.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import IS_MEMBER, IS_NOT_MEMBER, KICKED, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from okdesk_bot.db.base import utcnow
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.services.outbox_worker import (
    BLOCKED_REASON,
    park_blocked_chat,
    release_unblocked_chat,
)

log = logging.getLogger(__name__)


async def blocked(event: ChatMemberUpdated, uow: UnitOfWork) -> None:
    parked = await park_blocked_chat(uow, event.chat.id, now=utcnow(), reason=BLOCKED_REASON)
    await uow.commit()
    log.info("Chat %s blocked the bot; %d notices parked", event.chat.id, parked)


async def unblocked(event: ChatMemberUpdated, uow: UnitOfWork) -> None:
    released = await release_unblocked_chat(uow, event.chat.id, now=utcnow())
    await uow.commit()
    log.info("Chat %s unblocked the bot; %d parked notices released", event.chat.id, released)


def build_router() -> Router:
    router = Router(name=__name__)
    router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(
        unblocked, ChatMemberUpdatedFilter(member_status_changed=IS_NOT_MEMBER >> IS_MEMBER)
    )
    return router

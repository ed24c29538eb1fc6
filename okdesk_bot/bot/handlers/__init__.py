"""Routers of the bot, one module per feature, built fresh for each Dispatcher."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from okdesk_bot.bot.handlers import comments, common, membership, registration, tickets


def build_routers() -> list[Router]:
    """Order matters: the first router whose filters match handles the update."""
    private = Router(name="private")
    private.message.filter(F.chat.type == ChatType.PRIVATE)
    private.include_routers(
        common.build_router(),
        registration.build_router(),
        tickets.build_router(),
        comments.build_router(),
        tickets.build_fallback_router(),  # free text outside any dialog: last
    )
    return [common.build_group_router(), membership.build_router(), private]

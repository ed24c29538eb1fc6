"""Routers of the bot, one module per feature, built fresh for each Dispatcher."""

from __future__ import annotations

from aiogram import Router

from okdesk_bot.bot.handlers import common


def build_routers() -> list[Router]:
    return [common.build_router()]

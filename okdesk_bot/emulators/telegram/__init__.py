"""A faithful in-memory Telegram Bot API emulator that real aiogram bots talk to over HTTP."""

from okdesk_bot.emulators.telegram.emulator import DEFAULT_TOKEN, TelegramEmulator, serve
from okdesk_bot.emulators.telegram.errors import ApiError, UserActionError
from okdesk_bot.emulators.telegram.faults import Fault, FaultInjector
from okdesk_bot.emulators.telegram.flood import FloodControl
from okdesk_bot.emulators.telegram.models import (
    ApiCall,
    BotIdentity,
    CallbackQueryRecord,
    ChatMessage,
    Stats,
    StoredFile,
    UserProfile,
)
from okdesk_bot.emulators.telegram.users import EmulatedUser
from okdesk_bot.emulators.telegram.webhook import WebhookPolicy

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiError",
    "BotIdentity",
    "CallbackQueryRecord",
    "ChatMessage",
    "EmulatedUser",
    "Fault",
    "FaultInjector",
    "FloodControl",
    "Stats",
    "StoredFile",
    "TelegramEmulator",
    "UserActionError",
    "UserProfile",
    "WebhookPolicy",
    "serve",
]

"""A faithful fake of the Okdesk REST API and its webhooks, as an aiohttp application.

Built from the apidoc and webhookdoc as summarised in ``okdesk-api.md``; run it in tests with
``base = await OkdeskEmulator().start()`` (the API is under ``base + "/api/v1"``) or from the
command line with ``okdesk-bot emulate okdesk``.
"""

from okdesk_bot.emulators.okdesk.emulator import OkdeskEmulator, load_seed, serve
from okdesk_bot.emulators.okdesk.faults import FaultInjector
from okdesk_bot.emulators.okdesk.state import (
    EmulatorError,
    FileUpload,
    NotFoundError,
    OkdeskState,
    ValidationError,
)
from okdesk_bot.emulators.okdesk.webhooks import WebhookDelivery

__all__ = [
    "EmulatorError",
    "FaultInjector",
    "FileUpload",
    "NotFoundError",
    "OkdeskEmulator",
    "OkdeskState",
    "ValidationError",
    "WebhookDelivery",
    "load_seed",
    "serve",
]

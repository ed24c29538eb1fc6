"""Webhook mode: the real service receives Telegram updates by webhook from the emulator.

Telegram (the emulator) POSTs each update to `TELEGRAM_WEBHOOK_URL` + `TELEGRAM_WEBHOOK_PATH`
with the secret header; the service never long-polls (the emulator would record `getUpdates`,
and answer it 409 while a webhook is set).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from okdesk_bot.app import Application, Component, running_service
from okdesk_bot.config import Settings
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from okdesk_bot.services.webhook_secret import TELEGRAM_STATE_KEY
from okdesk_bot.web.telegram_webhook import SECRET_HEADER

GREETING = "Здравствуйте"
RUN = frozenset({Component.BOT, Component.WEB})


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    """The journeys' settings with webhook mode on and no Telegram secret configured."""
    return settings.model_copy(
        update={"telegram_webhook_url": f"http://127.0.0.1:{settings.port}"}
    )


def endpoint_url(settings: Settings) -> str:
    url = settings.telegram_webhook_endpoint
    assert url is not None
    return url


async def greeting_of(person: EmulatedUser) -> str:
    await person.send_command("/start")
    return (await person.wait_for_bot_message(timeout=10)).text or ""


async def stored_secret(app: Application) -> str | None:
    async with UnitOfWork(app.sessions) as uow:
        return await uow.app_state.get(TELEGRAM_STATE_KEY)


def start_update(person: EmulatedUser) -> dict[str, Any]:
    sender = {"id": person.id, "is_bot": False, "first_name": "Eve"}
    return {
        "update_id": 999_999,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": person.chat_id, "type": "private", "first_name": "Eve"},
            "from": sender,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_run_receives_updates_by_webhook_with_a_kept_secret_and_no_polling(
    webhook_settings: Settings, telegram: TelegramEmulator, anna: EmulatedUser
) -> None:
    async with running_service(webhook_settings, RUN) as app:
        assert GREETING in await greeting_of(anna)
        info = await app.bot.get_webhook_info()
        secret = await stored_secret(app)

    assert info.url == endpoint_url(webhook_settings)
    assert info.allowed_updates is not None
    assert {"message", "callback_query"} <= set(info.allowed_updates)
    assert not {"inline_query", "poll", "channel_post"} & set(info.allowed_updates)
    [registration] = telegram.calls("setWebhook")
    assert secret is not None
    assert registration.params["secret_token"] == secret
    assert registration.params["drop_pending_updates"] == "false"
    assert telegram.calls("getUpdates") == []
    assert telegram.calls("deleteWebhook") == []  # kept on stop


async def test_a_wrong_secret_is_401_and_nothing_is_handled(
    webhook_settings: Settings, anna: EmulatedUser, stranger: EmulatedUser
) -> None:
    url = endpoint_url(webhook_settings)
    async with running_service(webhook_settings, RUN), aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: "not-the-secret"}):
            async with http.post(url, json=start_update(stranger), headers=headers) as response:
                assert response.status == 401
        # An update through Telegram after them is answered: they were not merely slow.
        assert GREETING in await greeting_of(anna)
    assert stranger.bot_messages() == []


async def test_the_bot_command_alone_serves_the_telegram_webhook(
    webhook_settings: Settings, telegram: TelegramEmulator, anna: EmulatedUser
) -> None:
    health = f"http://127.0.0.1:{webhook_settings.port}/health"
    async with (
        running_service(webhook_settings, frozenset({Component.BOT})),
        aiohttp.ClientSession() as http,
    ):
        assert GREETING in await greeting_of(anna)
        async with http.get(health) as response:
            assert response.status == 404  # the Okdesk half (and /health) is `webhook`'s
    assert telegram.calls("getUpdates") == []


async def test_updates_sent_while_stopped_arrive_after_a_switch_to_polling(
    settings: Settings,
    webhook_settings: Settings,
    telegram: TelegramEmulator,
    anna: EmulatedUser,
) -> None:
    async with running_service(webhook_settings, RUN):
        pass
    await anna.send_command("/start")  # Telegram holds it and retries the stopped webhook
    async with running_service(settings, RUN):
        greeting = await anna.wait_for_bot_message(timeout=10)
    assert GREETING in (greeting.text or "")
    [removal] = telegram.calls("deleteWebhook")
    assert removal.params["drop_pending_updates"] == "false"

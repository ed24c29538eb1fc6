"""Okdesk creates the ticket but its answer does not arrive in time: never a second ticket.

The bot's Okdesk client waits one second here. The emulator gets a middleware that holds the
next POST /issues: after reading it and before creating the ticket (Okdesk slow to apply it),
or after creating it (the answer lost on the way), so the bot sees a timeout either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from okdesk_bot.config import Settings
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.okdesk.webutil import Handler
from okdesk_bot.emulators.telegram import EmulatedUser
from tests.journeys.tickets_support import (
    RETRY,
    answer,
    new_issues,
    new_ticket_dialog,
    press,
    text_of,
)
from tests.support import OKDESK_TOKEN

CLIENT_TIMEOUT = 1.0


class HeldPost:
    """Holds the next POST /issues `before` seconds before creating and `after` after."""

    def __init__(self) -> None:
        self.before = 0.0
        self.after = 0.0
        self.armed = False
        self.applied = asyncio.Event()  # set once Okdesk has created the held ticket

    def arm(self, *, before: float = 0.0, after: float = 0.0) -> None:
        self.before, self.after, self.armed = before, after, True

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not (self.armed and request.method == "POST" and request.path == "/api/v1/issues/"):
            return await handler(request)
        self.armed = False
        await request.read()  # the whole request reached Okdesk
        await asyncio.sleep(self.before)
        response = await handler(request)
        self.applied.set()
        await asyncio.sleep(self.after)
        return response


@pytest.fixture
def held() -> HeldPost:
    return HeldPost()


@pytest.fixture
async def okdesk(held: HeldPost) -> AsyncIterator[OkdeskEmulator]:
    emulator = OkdeskEmulator(api_token=OKDESK_TOKEN)
    emulator.app.middlewares.append(held.middleware)  # innermost: after authentication
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"okdesk_timeout": CLIENT_TIMEOUT})


async def test_a_ticket_whose_answer_was_lost_is_found_not_posted_again(
    okdesk: OkdeskEmulator, held: HeldPost, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    held.arm(after=CLIENT_TIMEOUT + 0.5)
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_text("Не работает телефония")
    reply = await answer(registered_anna)

    [issue] = new_issues(okdesk, known)
    assert f"№{issue.id}" in text_of(reply)
    assert RETRY not in [button["text"] for button in reply.buttons]


async def test_a_ticket_created_after_the_look_up_is_found_by_the_retry(
    okdesk: OkdeskEmulator, held: HeldPost, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    held.arm(before=CLIENT_TIMEOUT + 0.5)
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_text("Не работает телефония")
    failure = await answer(registered_anna)
    assert RETRY in [button["text"] for button in failure.buttons]

    await asyncio.wait_for(held.applied.wait(), timeout=5)
    [created] = new_issues(okdesk, known)
    await press(registered_anna, failure, RETRY)

    assert new_issues(okdesk, known) == [created]
    [shown] = [m for m in registered_anna.bot_messages() if m.message_id == failure.message_id]
    assert f"№{created.id}" in text_of(shown)

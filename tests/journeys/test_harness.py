"""The harness itself: the in-loop service answers a person and sees the bound contact."""

from __future__ import annotations

from okdesk_bot.app import Application
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.telegram import EmulatedUser


async def test_service_answers_and_binding_is_stored(
    service: Application, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/help")
    answer = await registered_anna.wait_for_bot_message(timeout=10)
    assert answer.text
    async with UnitOfWork(service.sessions) as uow:
        user = await uow.users.get_by_telegram_id(registered_anna.id)
    assert user is not None
    assert user.okdesk_contact_id == 1

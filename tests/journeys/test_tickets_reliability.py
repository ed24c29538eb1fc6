"""No duplicates, nothing lost: offers, double taps, Okdesk failing, the hourly limit."""

from __future__ import annotations

import pytest
from aiogram.types import Update

from okdesk_bot.app import Application
from okdesk_bot.bot.factory import BotDependencies, create_dispatcher
from okdesk_bot.bot.storage import create_dialog_backend
from okdesk_bot.db.models import TicketState
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.okdesk.faults import FaultKind
from okdesk_bot.emulators.telegram import EmulatedUser
from tests.journeys.tickets_support import (
    RETRY,
    answer,
    button_data,
    new_issues,
    new_ticket_dialog,
    planted_message,
    press,
    text_of,
)

OFFER_CREATE = "📝 Создать заявку"


async def draft_states(app: Application, person: EmulatedUser) -> list[TicketState]:
    async with UnitOfWork(app.sessions) as uow:
        user = await uow.users.get_by_telegram_id(person.id)
        assert user is not None
        return [ticket.state for ticket in await uow.tickets.list_for_user(user.id)]


async def test_free_text_is_offered_as_a_ticket_and_one_tap_creates_it(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    sent = await registered_anna.send_text("Не приходят письма с сайта")
    offer = await answer(registered_anna)
    assert "Создать заявку из этого сообщения?" in text_of(offer)
    assert offer.reply_to_message_id == sent.message_id
    assert new_issues(okdesk, known) == []  # nothing is filed without the tap

    await press(registered_anna, offer, OFFER_CREATE)

    [issue] = new_issues(okdesk, known)
    assert issue.title == "Не приходят письма с сайта"
    [shown] = [m for m in registered_anna.bot_messages() if m.message_id == offer.message_id]
    assert f"№{issue.id}" in text_of(shown)  # the offer became the confirmation
    assert f"t:c:{issue.id}:0" in button_data(shown)


async def test_a_double_tap_on_the_offer_makes_one_ticket(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await registered_anna.send_text("Сломалась кофемашина")
    offer = await answer(registered_anna)

    first = await registered_anna.press_button(offer.message_id, OFFER_CREATE)
    second = await registered_anna.press_button(offer.message_id, OFFER_CREATE)
    await first.wait_answered(timeout=10)
    toast = (await second.wait_answered(timeout=10)).answer_text

    [issue] = new_issues(okdesk, known)
    assert toast == f"Заявка №{issue.id} уже создана."


async def test_the_same_offer_discarded_files_nothing(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await registered_anna.send_text("Просто спасибо за помощь!")
    offer = await answer(registered_anna)
    await press(registered_anna, offer, "Не нужно")

    [shown] = [m for m in registered_anna.bot_messages() if m.message_id == offer.message_id]
    assert text_of(shown) == "Хорошо, заявку не создаю."
    assert shown.buttons == []
    assert new_issues(okdesk, known) == []


async def test_telegram_delivering_the_message_again_makes_no_second_ticket(
    okdesk: OkdeskEmulator, service: Application, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await new_ticket_dialog(registered_anna)
    sent = await registered_anna.send_text("Не печатает принтер")
    await answer(registered_anna)
    [issue] = new_issues(okdesk, known)

    # The same update again, as Telegram resends it when the bot stopped before confirming it.
    deps = BotDependencies(
        settings=service.settings,
        texts=service.texts,
        okdesk=service.okdesk,
        sessions=service.sessions,
    )
    dialog = create_dialog_backend(service.sessions, None)
    redelivered = Update.model_validate({"update_id": 10**6, "message": sent.to_api()})
    await create_dispatcher(deps, dialog).feed_update(service.bot, redelivered)
    await dialog.close()
    again = await answer(registered_anna)

    assert new_issues(okdesk, known) == [issue]
    assert f"уже стало заявкой №{issue.id}" in text_of(again)


@pytest.mark.parametrize("kind", ["error", "drop"])
async def test_okdesk_failing_keeps_the_draft_and_one_tap_sends_it_once(
    kind: FaultKind, okdesk: OkdeskEmulator, service: Application, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    okdesk.faults.fail_next(1, kind=kind, status=503, method="POST", path_prefix="/api/v1/issues")
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_text("Не работает VPN")
    failure = await answer(registered_anna)

    assert "Okdesk) сейчас недоступен" in text_of(failure)
    assert "сообщение сохранено" in text_of(failure)
    assert new_issues(okdesk, known) == []
    assert await draft_states(service, registered_anna) == [TicketState.FAILED]

    await press(registered_anna, failure, RETRY)

    [issue] = new_issues(okdesk, known)
    assert issue.title == "Не работает VPN"
    [shown] = [m for m in registered_anna.bot_messages() if m.message_id == failure.message_id]
    assert f"№{issue.id}" in text_of(shown)
    assert await draft_states(service, registered_anna) == [TicketState.CREATED]


async def test_a_retry_button_of_someone_else_sends_nothing(
    okdesk: OkdeskEmulator,
    service: Application,
    registered_anna: EmulatedUser,
    registered_alexey: EmulatedUser,
) -> None:
    known = set(okdesk.state.issues)
    okdesk.faults.fail_next(1, status=503, method="POST", path_prefix="/api/v1/issues")
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_text("Конфиденциально: пароль от сервера")
    failure = await answer(registered_anna)
    [retry_data] = button_data(failure)

    planted = await planted_message(service, registered_alexey, RETRY, retry_data)
    toast = await press(registered_alexey, planted, RETRY)

    assert toast is not None
    assert "черновиков" in toast
    assert new_issues(okdesk, known) == []


async def test_the_hourly_limit_is_explained(
    okdesk: OkdeskEmulator, service: Application, registered_anna: EmulatedUser
) -> None:
    async with UnitOfWork(service.sessions) as uow:
        user = await uow.users.get_by_telegram_id(registered_anna.id)
        assert user is not None
        for number in range(service.settings.tickets_per_hour):
            draft = await uow.tickets.create_draft(
                user_id=user.id, dedup_key=f"earlier:{number}", title="Ранее", payload={}
            )
            await uow.tickets.mark_created(draft.ticket.id, okdesk_issue_id=1000 + number)
        await uow.commit()
    known = set(okdesk.state.issues)

    await new_ticket_dialog(registered_anna)
    await registered_anna.send_text("Ещё одна заявка")
    limited = await answer(registered_anna)

    assert f"За последний час вы создали {service.settings.tickets_per_hour} заявок" in text_of(
        limited
    )
    assert new_issues(okdesk, known) == []

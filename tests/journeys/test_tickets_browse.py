"""My tickets, «Проверить статус» and the ticket card: read from Okdesk, only one's own."""

from __future__ import annotations

from okdesk_bot.app import Application
from okdesk_bot.bot.callbacks import TicketAction, TicketCallback
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from okdesk_bot.emulators.telegram.models import ChatMessage
from tests.journeys.tickets_support import (
    MENU_STATUS,
    MENU_TICKETS,
    answer,
    button_data,
    open_menu,
    planted_message,
    press,
    text_of,
)

REFRESH = "🔄 Обновить"
NEXT_PAGE = "Дальше ▶️"


def card_press(issue_id: int) -> str:
    return TicketCallback(action=TicketAction.CARD, issue_id=issue_id).pack()


def shown(person: EmulatedUser, message: ChatMessage) -> ChatMessage:
    """The message as the person sees it now (after edits)."""
    [current] = [m for m in person.bot_messages() if m.message_id == message.message_id]
    return current


def listed_ids(message: ChatMessage) -> list[int]:
    return [
        TicketCallback.unpack(data).issue_id
        for data in button_data(message)
        if data.startswith("t:")
    ]


async def test_the_menu_and_the_command_list(
    telegram: TelegramEmulator, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/new")
    await answer(registered_anna)
    menu = await open_menu(registered_anna)  # from any state

    assert "Главное меню" in text_of(menu)
    assert [button["text"] for button in menu.keyboard] == [
        "📝 Создать заявку",
        "📋 Мои заявки",
        MENU_STATUS,
        "💬 Добавить комментарий",
    ]
    private = {"type": "all_private_chats"}
    russian = [each["command"] for each in telegram.commands(scope=private)]
    english = telegram.commands(scope=private, language_code="en")
    assert russian == ["start", "menu", "new", "tickets", "help", "cancel"]
    assert {"command": "tickets", "description": "My tickets"} in english


async def test_my_tickets_come_from_okdesk_open_first_page_by_page(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    by_phone = [
        (await okdesk.create_issue(f"Звонок №{n}", contact_id=1, company_id=1)).id
        for n in range(7)
    ]
    await okdesk.change_status(by_phone[-1], "completed")  # the newest one is done
    await okdesk.create_issue("Чужая заявка", contact_id=2, company_id=2)

    await open_menu(registered_anna)
    await registered_anna.press_reply_button(MENU_TICKETS)
    first = await answer(registered_anna)
    assert "открытых: 7, закрытых: 1" in text_of(first)
    assert "Страница 1 из 2" in text_of(first)
    first_page = listed_ids(first)
    await press(registered_anna, first, NEXT_PAGE)
    second_page = listed_ids(shown(registered_anna, first))

    assert len(first_page) == 6
    assert sorted(first_page + second_page) == sorted([1, *by_phone])
    assert second_page[-1] == by_phone[-1]  # closed ones come last
    assert "Чужая заявка" not in text_of(first) + text_of(shown(registered_anna, first))


async def test_the_card_shows_the_last_public_comment_and_never_a_private_one(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/tickets")
    listing = await answer(registered_anna)
    await press(registered_anna, listing, card_press(1))
    card = await answer(registered_anna)

    assert "Заявка №1" in text_of(card)
    assert "Не печатает принтер в бухгалтерии" in text_of(card)
    assert "В работе" in text_of(card)
    assert "20 января 2025, 10:15 МСК" in text_of(card)
    assert "Петров Сергей" in text_of(card)
    assert "Инженер приедет завтра с 10:00 до 12:00." in text_of(card)
    assert "CF285A" not in text_of(card)  # the private comment is the newest one
    data = button_data(card)
    assert {f"t:{action}:1:0" for action in "rmh"} <= set(data)
    assert any(button.get("url", "").endswith("/issues/1") for button in card.buttons)


async def test_refresh_puts_the_fresh_card_in_place(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_text(MENU_STATUS)
    card = await answer(registered_anna)
    assert await press(registered_anna, card, REFRESH) == "Обновлено"  # nothing changed: fine

    await okdesk.add_comment(1, "<p>Картридж <b>заменён</b>, проверьте печать.</p>")
    await okdesk.change_status(1, "completed")
    await press(registered_anna, card, REFRESH)

    refreshed = shown(registered_anna, card)
    assert "Решена" in text_of(refreshed)
    assert "Картридж заменён, проверьте печать." in text_of(refreshed)
    assert len(registered_anna.bot_messages()) == 1  # edited, not sent again


async def test_status_goes_straight_to_the_only_open_ticket(
    registered_anna: EmulatedUser,
) -> None:
    await open_menu(registered_anna)
    await registered_anna.press_reply_button(MENU_STATUS)
    card = await answer(registered_anna)

    assert "Заявка №1" in text_of(card)
    assert "t:r:1:0" in button_data(card)


async def test_status_offers_a_choice_among_several_open_tickets(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    second = await okdesk.create_issue("Не работает сканер", contact_id=1, company_id=1)
    await registered_anna.send_text(MENU_STATUS)
    choice = await answer(registered_anna)

    assert "2 открытые заявки" in text_of(choice)
    assert sorted(listed_ids(choice)) == [1, second.id]


async def test_a_forged_card_button_for_someone_elses_ticket_is_refused(
    service: Application, registered_anna: EmulatedUser
) -> None:
    planted = await planted_message(service, registered_anna, "Карточка", card_press(2))
    toast = await press(registered_anna, planted, "Карточка")

    assert toast is not None
    assert "не найдена среди ваших" in toast
    everything = " ".join(text_of(message) for message in registered_anna.bot_messages())
    assert "VPN" not in everything
    assert "Заявка №2" not in everything

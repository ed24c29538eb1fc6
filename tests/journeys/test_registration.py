"""Registration of a private person: /start, full name, phone, binding to an Okdesk contact."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from redis.exceptions import RedisError

from okdesk_bot.app import Application, Component, running_service
from okdesk_bot.config import Settings
from okdesk_bot.db.models import User, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator
from okdesk_bot.emulators.telegram.models import ChatMessage

ANNA_PHONE = "+79991234567"  # as Okdesk stores contact 1
ALEXEY_TELEGRAM_ID = 7_000_000_012
SHARE_PHONE = "📱 Отправить номер"
MENU_CREATE = "📝 Создать заявку"


async def answer(person: EmulatedUser) -> ChatMessage:
    """The bot's next message to `person`."""
    return await person.wait_for_bot_message(timeout=10)


async def press(person: EmulatedUser, message: ChatMessage, button: str) -> str | None:
    """Press an inline button and wait until the bot answers the press; returns its toast."""
    record = await person.press_button(message.message_id, button)
    return (await record.wait_answered(timeout=10)).answer_text


async def choose_individual(person: EmulatedUser) -> ChatMessage:
    """/start and «Физическое лицо»; returns the greeting (the name question is consumed)."""
    await person.send_command("/start")
    greeting = await answer(person)
    await press(person, greeting, "👤 Физическое лицо")
    question = await answer(person)
    assert "фамилию, имя и отчество" in (question.text or "")
    return greeting


async def stored_user(app: Application, person: EmulatedUser) -> User | None:
    async with UnitOfWork(app.sessions) as uow:
        return await uow.users.get_by_telegram_id(person.id)


async def registered_user(app: Application, person: EmulatedUser) -> User:
    user = await stored_user(app, person)
    assert user is not None
    assert user.is_registered
    return user


async def is_registered(app: Application, person: EmulatedUser) -> bool:
    user = await stored_user(app, person)
    return user is not None and user.is_registered


async def test_first_start_offers_the_two_kinds(service: Application, anna: EmulatedUser) -> None:
    await anna.send_command("/start")
    greeting = await answer(anna)
    assert "Анна" in (greeting.text or "")
    assert [button["text"] for button in greeting.buttons] == [
        "👤 Физическое лицо",
        "🏢 Юридическое лицо",
    ]


async def test_shared_contact_binds_to_the_existing_contact(
    service: Application, okdesk: OkdeskEmulator, anna: EmulatedUser
) -> None:
    contacts_before = set(okdesk.state.contacts)
    await choose_individual(anna)
    await anna.send_text("Смирнова Анна Викторовна")
    phone_question = await answer(anna)
    assert [button["text"] for button in phone_question.keyboard] == [SHARE_PHONE]
    assert phone_question.keyboard[0].get("request_contact") is True

    await anna.share_contact("79991234567")  # Telegram sends the number without the plus
    done = await answer(anna)

    assert "Готово" in (done.text or "")
    assert "Смирнова Анна Викторовна" in (done.text or "")
    assert MENU_CREATE in [button["text"] for button in done.keyboard]
    user = await registered_user(service, anna)
    assert user.okdesk_contact_id == 1
    assert user.phone == ANNA_PHONE
    assert user.kind is UserKind.INDIVIDUAL
    assert (user.last_name, user.first_name, user.patronymic) == (
        "Смирнова",
        "Анна",
        "Викторовна",
    )
    assert set(okdesk.state.contacts) == contacts_before
    assert okdesk.state.contacts[1].phone == ANNA_PHONE


async def test_typed_phone_of_a_known_contact_must_be_shared_with_the_button(
    service: Application, okdesk: OkdeskEmulator, anna: EmulatedUser
) -> None:
    await choose_individual(anna)
    await anna.send_text("Смирнова Анна")
    await answer(anna)

    await anna.send_text("8 (999) 123-45-67")
    refusal = await answer(anna)

    assert SHARE_PHONE in (refusal.text or "")
    assert [button["text"] for button in refusal.keyboard] == [SHARE_PHONE]
    assert not await is_registered(service, anna)

    await anna.share_contact(ANNA_PHONE)
    done = await answer(anna)
    assert "Готово" in (done.text or "")
    assert (await registered_user(service, anna)).okdesk_contact_id == 1
    assert len(okdesk.state.contacts) == 2


async def test_a_new_person_gets_a_new_okdesk_contact(
    service: Application, okdesk: OkdeskEmulator, stranger: EmulatedUser
) -> None:
    await stranger.send_command("/start")
    greeting = await answer(stranger)
    await press(stranger, greeting, "👤 Private person")
    await answer(stranger)
    await stranger.send_text("иванова-петрова мария сергеевна")
    await answer(stranger)

    await stranger.send_text("+7 912 345-67-89")
    done = await answer(stranger)

    assert "Done" in (done.text or "")
    user = await registered_user(service, stranger)
    contact = okdesk.state.contacts[user.okdesk_contact_id or 0]
    assert (contact.last_name, contact.first_name, contact.patronymic) == (
        "Иванова-Петрова",
        "Мария",
        "Сергеевна",
    )
    assert contact.phone == "+79123456789"
    assert contact.company_id is None
    assert user.okdesk_company_id is None


async def test_a_forwarded_contact_card_is_refused(
    service: Application, okdesk: OkdeskEmulator, anna: EmulatedUser
) -> None:
    await choose_individual(anna)
    await anna.send_text("Смирнова Анна")
    await answer(anna)

    await anna.share_contact(ANNA_PHONE, user_id=42, first_name="Someone")
    refusal = await answer(anna)

    assert "чужой контакт" in (refusal.text or "")
    assert not await is_registered(service, anna)
    await anna.share_contact(ANNA_PHONE)
    assert "Готово" in ((await answer(anna)).text or "")


async def test_a_name_that_is_not_a_full_name_is_asked_again(
    service: Application, anna: EmulatedUser
) -> None:
    await choose_individual(anna)
    wrong_names = {
        "Анна": "хотя бы фамилия и имя",
        "Смирнова А": "полностью",
        "Смирнова Анна 123": "только буквы",
        "Раз Два Три Четыре Пять Шесть": "Слишком длинно",
    }

    for typed, expected in wrong_names.items():
        await anna.send_text(typed)
        again = await answer(anna)
        assert expected in (again.text or ""), typed
        assert "Иванов Иван Иванович" in (again.text or "")

    await anna.send_text("Смирнова Анна")
    assert "телефон" in ((await answer(anna)).text or "")


async def test_a_wrong_phone_gets_a_clear_message(
    service: Application, okdesk: OkdeskEmulator, anna: EmulatedUser
) -> None:
    await choose_individual(anna)
    await anna.send_text("Смирнова Анна")
    await answer(anna)
    wrong_phones = {
        "позвоните мне": "не похоже на номер",
        "+7 999 12": "не хватает цифр",
        "+7 999 123 45 67 89 01 23": "лишние цифры",
        "+7 000 123-45-67": "не бывает",
    }

    for typed, expected in wrong_phones.items():
        await anna.send_text(typed)
        reply = await answer(anna)
        assert expected in (reply.text or ""), typed

    assert len(okdesk.state.contacts) == 2
    assert not await is_registered(service, anna)


async def test_start_in_the_middle_restarts_registration(
    service: Application, anna: EmulatedUser
) -> None:
    await choose_individual(anna)
    await anna.send_text("Смирнова Анна")
    await answer(anna)

    await anna.send_command("/start")
    greeting = await answer(anna)
    assert len(greeting.buttons) == 2
    await anna.send_text("Смирнова Анна")  # not an answer to anything now
    reminder = await answer(anna)
    assert "кнопкой" in (reminder.text or "")


async def test_registered_user_is_welcomed_back_with_the_menu(
    service: Application, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/start")
    welcome = await answer(registered_anna)

    assert "С возвращением" in (welcome.text or "")
    assert MENU_CREATE in [button["text"] for button in welcome.keyboard]
    assert not welcome.buttons


async def test_cancel_stops_registration_and_removes_the_phone_keyboard(
    service: Application, anna: EmulatedUser
) -> None:
    await choose_individual(anna)
    await anna.send_text("Смирнова Анна")
    phone_question = await answer(anna)
    assert phone_question.keyboard

    await anna.send_command("/cancel")
    cancelled = await answer(anna)

    assert "отменено" in (cancelled.text or "")
    assert anna.reply_keyboard is None
    assert not await is_registered(service, anna)


async def test_stale_kind_button_after_registration_is_refused(
    service: Application, anna: EmulatedUser
) -> None:
    greeting = await choose_individual(anna)
    await anna.send_text("Смирнова Анна")
    await answer(anna)
    await anna.share_contact(ANNA_PHONE)
    await answer(anna)

    toast = await press(anna, greeting, "🏢 Юридическое лицо")

    assert toast == "Эта кнопка уже не действует."
    assert (await registered_user(service, anna)).kind is UserKind.INDIVIDUAL


# --------------------------------------------------------------------------- legal entities

ROMASHKA_INN = "7701234560"  # company 1 «ООО «Ромашка»» in the emulator's seed
UNKNOWN_INN = "7707083893"  # a valid INN no client company has


@pytest.fixture
def alexey(telegram: TelegramEmulator) -> EmulatedUser:
    """Not registered; Okdesk knows his phone as contact 2 of company 2."""
    return telegram.user(ALEXEY_TELEGRAM_ID, "Алексей", language_code="ru")


async def choose_legal(person: EmulatedUser) -> None:
    """/start and «Юридическое лицо» (the INN question is consumed)."""
    await person.send_command("/start")
    greeting = await answer(person)
    await press(person, greeting, greeting.buttons[1]["text"])
    await answer(person)


async def confirm_romashka(person: EmulatedUser) -> None:
    await choose_legal(person)
    await person.send_text(ROMASHKA_INN)
    question = await answer(person)
    assert "<b>ООО «Ромашка»</b>" in (question.source or "")
    await press(person, question, question.buttons[0]["text"])
    await answer(person)


async def test_legal_entity_binds_to_its_contact_in_the_company(
    service: Application, okdesk: OkdeskEmulator, anna: EmulatedUser
) -> None:
    await confirm_romashka(anna)
    await anna.send_text("Смирнова Анна Викторовна")
    await answer(anna)

    await anna.share_contact(ANNA_PHONE)
    done = await answer(anna)

    assert "Организация: ООО «Ромашка»" in (done.text or "")
    user = await registered_user(service, anna)
    assert (user.kind, user.okdesk_contact_id, user.okdesk_company_id) == (UserKind.LEGAL, 1, 1)
    assert user.company_name == "ООО «Ромашка»"
    assert len(okdesk.state.contacts) == 2


async def test_new_employee_of_a_company_gets_a_contact_in_that_company(
    service: Application, okdesk: OkdeskEmulator, stranger: EmulatedUser
) -> None:
    await confirm_romashka(stranger)
    await stranger.send_text("Petrov Petr")
    await answer(stranger)

    await stranger.send_text("+7 912 345-67-89")
    done = await answer(stranger)

    assert "Company: ООО «Ромашка»" in (done.text or "")
    user = await registered_user(service, stranger)
    contact = okdesk.state.contacts[user.okdesk_contact_id or 0]
    assert (contact.last_name, contact.first_name, contact.phone) == (
        "Petrov",
        "Petr",
        "+79123456789",
    )
    assert contact.company_id == user.okdesk_company_id == 1


async def test_a_contact_of_another_company_is_never_bound(
    service: Application, okdesk: OkdeskEmulator, alexey: EmulatedUser
) -> None:
    await confirm_romashka(alexey)
    await alexey.send_text("Сидоров Алексей")
    await answer(alexey)

    await alexey.share_contact("89997654321")  # contact 2's phone, company 2
    await answer(alexey)

    user = await registered_user(service, alexey)
    assert user.okdesk_contact_id not in {1, 2}
    assert okdesk.state.contacts[user.okdesk_contact_id or 0].company_id == 1


async def test_an_invalid_inn_is_explained_without_asking_okdesk(
    service: Application, okdesk: OkdeskEmulator, anna: EmulatedUser
) -> None:
    await choose_legal(anna)
    # A request to Okdesk would use up this fault: it must still be queued afterwards.
    okdesk.faults.fail_next(1, kind="error", status=503, path_prefix="/api/v1")
    wrong_inns = {
        "7701234561": "опечатка",
        "77012345": "10 цифр",
        "77О1234560": "только цифры",  # a Cyrillic «О» instead of a zero
    }

    for typed, expected in wrong_inns.items():
        await anna.send_text(typed)
        reply = await answer(anna)
        assert expected in (reply.text or ""), typed

    assert [fault["remaining"] for fault in okdesk.faults.snapshot()["queue"]] == [1]


async def test_an_unknown_inn_offers_a_way_out(service: Application, anna: EmulatedUser) -> None:
    await choose_legal(anna)

    await anna.send_text(UNKNOWN_INN)
    reply = await answer(anna)

    assert f"ИНН {UNKNOWN_INN} не найдена" in (reply.text or "")
    await anna.send_text(ROMASHKA_INN)  # trying another INN works right away
    assert "Ромашка" in ((await answer(anna)).text or "")
    await press(anna, reply, "👤 Зарегистрироваться как физическое лицо")
    assert "фамилию, имя и отчество" in ((await answer(anna)).text or "")
    await anna.send_text("Смирнова Анна")
    await answer(anna)
    await anna.share_contact(ANNA_PHONE)
    await answer(anna)
    user = await registered_user(service, anna)
    assert (user.kind, user.company_name) == (UserKind.INDIVIDUAL, None)


async def test_rejecting_the_company_asks_for_another_inn(
    service: Application, anna: EmulatedUser
) -> None:
    await choose_legal(anna)
    await anna.send_text(ROMASHKA_INN)
    question = await answer(anna)

    await press(anna, question, "❌ Нет")
    reply = await answer(anna)

    assert "другой ИНН" in (reply.text or "")
    assert await press(anna, question, "✅ Да, это мы") == "Эта кнопка уже не действует."
    await anna.send_text("7701234561")
    assert "опечатка" in ((await answer(anna)).text or "")


# ----------------------------------------------------------------------- failures, restarts


async def test_okdesk_down_while_binding_keeps_the_answers_for_a_retry(
    service: Application, okdesk: OkdeskEmulator, stranger: EmulatedUser
) -> None:
    await stranger.send_command("/start")
    greeting = await answer(stranger)
    await press(stranger, greeting, "👤 Private person")
    await answer(stranger)
    await stranger.send_text("Ivanova Maria")
    await answer(stranger)
    okdesk.faults.fail_next(1, kind="error", status=503, method="POST")

    await stranger.send_text("+7 912 345-67-89")
    failure = await answer(stranger)

    assert "not answering" in (failure.text or "")
    assert not await is_registered(service, stranger)
    assert len(okdesk.state.contacts) == 2
    await press(stranger, failure, "🔄 Try again")
    done = await answer(stranger)
    assert "Done" in (done.text or "")
    assert (await registered_user(service, stranger)).okdesk_contact_id == 3


async def test_a_contact_created_behind_a_lost_answer_is_not_created_twice(
    service: Application, okdesk: OkdeskEmulator, stranger: EmulatedUser
) -> None:
    await stranger.send_command("/start")
    greeting = await answer(stranger)
    await press(stranger, greeting, "👤 Private person")
    await answer(stranger)
    await stranger.send_text("Ivanova Maria")
    await answer(stranger)
    okdesk.faults.fail_next(1, kind="drop", method="POST")

    await stranger.send_text("+7 912 345-67-89")
    failure = await answer(stranger)
    assert "not answering" in (failure.text or "")
    # Okdesk did create the contact; only its answer was lost on the way back.
    created = okdesk.state.create_contact(
        {"last_name": "Ivanova", "first_name": "Maria", "phone": "+79123456789"}
    )

    await press(stranger, failure, "🔄 Try again")

    assert "Done" in ((await answer(stranger)).text or "")
    assert (await registered_user(service, stranger)).okdesk_contact_id == created.id
    assert [c.id for c in okdesk.state.contacts.values() if c.phone == "+79123456789"] == [
        created.id
    ]


@pytest.mark.parametrize("dialog_storage", ["database", "redis"])
async def test_registration_continues_after_a_restart(
    settings: Settings, anna: EmulatedUser, dialog_storage: str
) -> None:
    if dialog_storage == "redis":
        settings = settings.model_copy(update={"redis_url": SecretStr(await redis_url())})
    bot = frozenset({Component.BOT})
    async with running_service(settings, bot):
        await choose_individual(anna)

    async with running_service(settings, bot):
        await anna.send_text("Смирнова Анна")
        assert "телефон" in ((await answer(anna)).text or "")

    async with running_service(settings, bot) as app:
        await anna.share_contact(ANNA_PHONE)
        assert "Готово" in ((await answer(anna)).text or "")
        assert (await registered_user(app, anna)).okdesk_contact_id == 1


async def redis_url() -> str:
    """The local Redis server, or a skip when it is not running."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = Redis.from_url(url)
    try:
        await client.ping()
    except RedisError:
        pytest.skip(f"Redis at {url} is unreachable")
    finally:
        await client.aclose()
    return url


# ------------------------------------------------------------------------ profile, logout


async def test_profile_shows_the_stored_data(service: Application, anna: EmulatedUser) -> None:
    await confirm_romashka(anna)
    await anna.send_text("Смирнова Анна Викторовна")
    await answer(anna)
    await anna.share_contact(ANNA_PHONE)
    await answer(anna)

    await anna.send_command("/profile")
    profile = await answer(anna)

    assert (profile.text or "").splitlines() == [
        "Ваш профиль",
        "Тип: юридическое лицо",
        "ФИО: Смирнова Анна Викторовна",
        f"Телефон: {ANNA_PHONE}",
        "Организация: ООО «Ромашка»",
    ]
    assert [button["text"] for button in profile.buttons] == ["✏️ Изменить", "🔓 Отвязать"]


async def test_profile_of_an_unregistered_person_suggests_registering(
    service: Application, anna: EmulatedUser
) -> None:
    await anna.send_command("/profile")
    assert "/start" in ((await answer(anna)).text or "")


async def test_unbinding_from_the_profile_makes_the_user_unregistered(
    service: Application, okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/profile")
    profile = await answer(registered_anna)
    await press(registered_anna, profile, "🔓 Отвязать")
    question = await answer(registered_anna)

    await press(registered_anna, question, "Да, отвязать")
    done = await answer(registered_anna)

    assert "/start" in (done.text or "")
    assert registered_anna.reply_keyboard is None
    assert not await is_registered(service, registered_anna)
    assert 1 in okdesk.state.contacts
    await registered_anna.send_command("/start")
    assert len((await answer(registered_anna)).buttons) == 2
    assert await press(registered_anna, question, "Да, отвязать") == "Эта кнопка уже не действует."


async def test_logout_can_be_called_off(
    service: Application, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/logout")
    question = await answer(registered_anna)

    assert await press(registered_anna, question, "Нет, оставить") == (
        "Хорошо, всё остаётся как было."
    )
    assert (await registered_user(service, registered_anna)).okdesk_contact_id == 1


async def test_changing_the_profile_replaces_the_binding_only_when_done(
    service: Application, okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/profile")
    profile = await answer(registered_anna)
    await press(registered_anna, profile, "✏️ Изменить")
    question = await answer(registered_anna)
    await press(registered_anna, question, "🏢 Юридическое лицо")
    await answer(registered_anna)
    await registered_anna.send_text(ROMASHKA_INN)
    confirm = await answer(registered_anna)
    await press(registered_anna, confirm, "✅ Да, это мы")
    await answer(registered_anna)
    await registered_anna.send_text("Смирнова Анна Викторовна")
    await answer(registered_anna)
    halfway = await registered_user(service, registered_anna)
    assert (halfway.kind, halfway.okdesk_contact_id) == (UserKind.INDIVIDUAL, 1)

    await registered_anna.share_contact(ANNA_PHONE)
    await answer(registered_anna)

    user = await registered_user(service, registered_anna)
    assert (user.kind, user.okdesk_contact_id, user.company_name) == (
        UserKind.LEGAL,
        1,
        "ООО «Ромашка»",
    )


async def test_the_main_menu_still_works_while_changing_the_profile(
    service: Application, registered_anna: EmulatedUser
) -> None:
    await registered_anna.send_command("/start")
    await answer(registered_anna)  # welcome back, with the main menu
    await registered_anna.send_command("/profile")
    profile = await answer(registered_anna)
    await press(registered_anna, profile, "✏️ Изменить")
    await answer(registered_anna)

    await registered_anna.press_reply_button("📋 Мои заявки")
    reply = await answer(registered_anna)

    assert "кнопкой под сообщением" not in (reply.text or "")
    assert (await registered_user(service, registered_anna)).okdesk_contact_id == 1

"""The person side: buttons, contacts, replies, blocking, media, and the `/_user/` HTTP API."""

from __future__ import annotations

import base64

import pytest
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientSession

from okdesk_bot.emulators.telegram import EmulatedUser, TelegramEmulator, UserActionError

from .conftest import polling

ALICE = 1001


def ticket_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Закрыть", callback_data=f"close:{ticket_id}")],
            [InlineKeyboardButton(text="Okdesk", url="https://example.okdesk.ru/issues/1")],
        ]
    )


async def test_pressing_a_button_sends_its_callback_data_and_records_the_answer(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    router = Router()

    @router.callback_query(F.data.startswith("close:"))
    async def close(query: CallbackQuery) -> None:
        ticket = (query.data or "").removeprefix("close:")
        await query.answer(f"Заявка {ticket} закрыта")

    sent = await bot.send_message(ALICE, "Заявка 7", reply_markup=ticket_keyboard(7))
    async with polling(emulator, bot, router):
        press = await alice.press_button(sent.message_id, "Закрыть")
        answered = await press.wait_answered()

    assert press.data == "close:7"
    assert answered.answer_text == "Заявка 7 закрыта"


async def test_a_button_is_found_by_its_callback_data_too(bot: Bot, alice: EmulatedUser) -> None:
    sent = await bot.send_message(ALICE, "Заявка 7", reply_markup=ticket_keyboard(7))

    press = await alice.press_button(sent.message_id, "close:7")

    [update] = (await bot.get_updates())[1:]
    assert update.callback_query is not None
    assert (update.callback_query.id, update.callback_query.data) == (press.id, "close:7")
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id


async def test_buttons_that_are_not_on_the_message_cannot_be_pressed(
    bot: Bot, alice: EmulatedUser
) -> None:
    seven = await bot.send_message(ALICE, "Заявка 7", reply_markup=ticket_keyboard(7))
    await bot.send_message(ALICE, "Заявка 8", reply_markup=ticket_keyboard(8))
    plain = await bot.send_message(ALICE, "no buttons")

    with pytest.raises(UserActionError, match="has no button 'close:8'"):
        await alice.press_button(seven.message_id, "close:8")
    with pytest.raises(UserActionError, match="has no button"):
        await alice.press_button(plain.message_id, "Закрыть")
    with pytest.raises(UserActionError, match="not a callback button"):
        await alice.press_button(seven.message_id, "Okdesk")
    with pytest.raises(UserActionError, match="no bot message 999"):
        await alice.press_button(999, "Закрыть")


async def test_a_removed_button_cannot_be_pressed_after_an_edit(
    bot: Bot, alice: EmulatedUser
) -> None:
    sent = await bot.send_message(ALICE, "Заявка 7", reply_markup=ticket_keyboard(7))
    await bot.edit_message_text("Заявка 7 закрыта", chat_id=ALICE, message_id=sent.message_id)

    with pytest.raises(UserActionError, match="has no button"):
        await alice.press_button(sent.message_id, "Закрыть")


async def test_callback_answers_are_validated(bot: Bot, alice: EmulatedUser) -> None:
    sent = await bot.send_message(ALICE, "Заявка 7", reply_markup=ticket_keyboard(7))
    press = await alice.press_button(sent.message_id, "Закрыть")

    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(press.id, text="x" * 201)
    assert await bot.answer_callback_query(press.id, text="x" * 200)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(press.id)


async def test_shared_contact_carries_the_user_id_of_its_owner(
    bot: Bot, alice: EmulatedUser
) -> None:
    await alice.share_contact()
    await alice.share_contact("+79995550000", user_id=3003, first_name="Carol")

    own, forwarded = [u.message for u in (await bot.get_updates())[1:]]
    assert own is not None
    assert forwarded is not None
    assert own.contact is not None
    assert forwarded.contact is not None
    assert own.from_user is not None
    assert (own.contact.phone_number, own.contact.user_id) == ("+79990000001", ALICE)
    assert (forwarded.contact.user_id, forwarded.contact.first_name) == (3003, "Carol")
    assert forwarded.contact.user_id != own.from_user.id


async def test_request_contact_button_shares_the_persons_own_phone(
    bot: Bot, alice: EmulatedUser
) -> None:
    share = KeyboardButton(text="Отправить телефон", request_contact=True)
    markup = ReplyKeyboardMarkup(keyboard=[[share], [KeyboardButton(text="Отмена")]])
    await bot.send_message(ALICE, "Нужен телефон", reply_markup=markup)

    contact = await alice.press_reply_button("Отправить телефон")
    cancel = await alice.press_reply_button("Отмена")

    assert contact.media["contact"]["user_id"] == ALICE
    assert cancel.text == "Отмена"
    with pytest.raises(UserActionError, match="no button 'Да'"):
        await alice.press_reply_button("Да")
    await bot.send_message(ALICE, "Спасибо", reply_markup=ReplyKeyboardRemove())
    assert alice.reply_keyboard is None
    with pytest.raises(UserActionError):
        await alice.press_reply_button("Отмена")


async def test_a_reply_carries_the_full_bot_message(bot: Bot, alice: EmulatedUser) -> None:
    sent = await bot.send_message(
        ALICE, "<b>Заявка 7</b>", parse_mode="HTML", reply_markup=ticket_keyboard(7)
    )

    await alice.reply_to(sent.message_id, "Комментарий")

    [update] = (await bot.get_updates())[1:]
    assert update.message is not None
    replied = update.message.reply_to_message
    assert replied is not None
    assert replied.text == "Заявка 7"
    assert replied.reply_markup is not None
    assert replied.reply_markup.inline_keyboard[0][0].callback_data == "close:7"


async def test_blocking_the_bot_makes_sends_fail_until_unblocked(
    bot: Bot, alice: EmulatedUser
) -> None:
    await alice.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hello?")
    await alice.unblock()
    await bot.send_message(ALICE, "welcome back")

    changes = [u.my_chat_member for u in await bot.get_updates() if u.my_chat_member]
    statuses = [(c.old_chat_member.status, c.new_chat_member.status) for c in changes]
    assert statuses == [("member", "kicked"), ("kicked", "member")]
    assert [m.text for m in alice.bot_messages()] == ["welcome back"]


async def test_album_photos_share_a_media_group_and_are_downloadable(
    bot: Bot, alice: EmulatedUser
) -> None:
    await alice.send_album([b"first-picture", b"second-picture"], caption="Скриншоты")

    first, second = [u.message for u in (await bot.get_updates())[1:]]
    assert first is not None
    assert second is not None
    assert first.media_group_id is not None
    assert first.media_group_id == second.media_group_id
    assert first.caption == "Скриншоты"
    assert second.photo is not None
    downloaded = await bot.download(second.photo[-1].file_id)
    assert downloaded is not None
    assert downloaded.read() == b"second-picture"


async def test_person_media_arrive_as_bot_api_objects(bot: Bot, alice: EmulatedUser) -> None:
    await alice.send_document(b"%PDF-1.4", "act.pdf", caption="Акт")
    await alice.send_voice(duration=3)
    await alice.send_sticker("🔥")
    await alice.send_location(55.75, 37.62)

    document, voice, sticker, location = [u.message for u in (await bot.get_updates())[1:]]
    assert document is not None
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == (
        "act.pdf",
        "application/pdf",
    )
    assert voice is not None
    assert voice.voice is not None
    assert voice.voice.duration == 3
    assert sticker is not None
    assert sticker.sticker is not None
    assert sticker.sticker.emoji == "🔥"
    assert location is not None
    assert location.location is not None
    assert location.location.latitude == 55.75


async def test_wait_for_bot_message_returns_each_message_once_and_honours_the_predicate(
    bot: Bot, alice: EmulatedUser
) -> None:
    await bot.send_message(ALICE, "one")
    await bot.send_message(ALICE, "two")
    await bot.send_message(ALICE, "three")

    assert (await alice.wait_for_bot_message()).text == "one"
    found = await alice.wait_for_bot_message(predicate=lambda m: m.text == "three")
    assert found.text == "three"
    with pytest.raises(TimeoutError, match="no new bot message"):
        await alice.wait_for_bot_message(timeout=0.05)


async def test_user_http_api_lets_a_sandbox_play_the_person(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    base = f"{emulator.base_url}/_user"
    async with ClientSession() as http:
        created = await http.post(f"{base}/users", json={"id": 4004, "first_name": "Dan"})
        sent = await (
            await http.post(f"{base}/users/4004/command", json={"command": "start"})
        ).json()
        [update] = await bot.get_updates()
        assert update.message is not None
        await bot.send_message(
            4004, "Выберите", reply_markup=ticket_keyboard(9), parse_mode="HTML"
        )
        next_message = await (await http.get(f"{base}/users/4004/next-bot-message")).json()
        refused = await http.post(
            f"{base}/users/4004/press",
            json={"message_id": next_message["message_id"], "button": "nope"},
        )
        refusal = await refused.json()
        pressed = await http.post(
            f"{base}/users/4004/press",
            json={"message_id": next_message["message_id"], "button": "Закрыть"},
        )
        press = await pressed.json()
        await bot.answer_callback_query(press["id"], text="Готово")
        answer = await (await http.get(f"{base}/users/4004/callbacks/{press['id']}")).json()
        photo = await http.post(
            f"{base}/users/4004/photo",
            json={"data_base64": base64.b64encode(b"png").decode(), "caption": "экран"},
        )
        file_id = (await photo.json())["media"]["photo"][0]["file_id"]
        file_bytes = await (await http.get(f"{base}/files/{file_id}")).read()
        unknown = await http.get(f"{base}/users/5005/messages")

    assert created.status == 201
    assert sent["text"] == "/start"
    assert update.message.text == "/start"
    assert next_message["text"] == "Выберите"
    assert refused.status == 400
    assert "has no button 'nope'" in refusal["error"]
    assert press["data"] == "close:9"
    assert (answer["answered"], answer["answer_text"]) == (True, "Готово")
    assert file_bytes == b"png"
    assert unknown.status == 404

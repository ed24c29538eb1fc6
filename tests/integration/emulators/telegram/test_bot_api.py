"""Bot API methods through a real aiogram Bot: results, validation and error mapping."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiohttp import ClientSession

from okdesk_bot.emulators.telegram import DEFAULT_TOKEN, EmulatedUser, TelegramEmulator

from .conftest import BotFactory

ALICE = 1001


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


async def test_get_me_describes_the_registered_bot(bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456
    assert me.is_bot
    assert me.username == "emulated_123456_bot"


async def test_unknown_token_is_unauthorized(make_bot: BotFactory) -> None:
    stranger = make_bot("999:not-registered")

    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await stranger.get_me()


async def test_several_bots_are_told_apart_by_token(
    emulator: TelegramEmulator, make_bot: BotFactory
) -> None:
    emulator.add_bot("777:second-bot", username="second_bot")

    assert (await make_bot("777:second-bot").get_me()).username == "second_bot"
    with pytest.raises(TelegramUnauthorizedError):
        await make_bot("777:wrong-secret").get_me()


async def test_unknown_method_and_malformed_token_answer_not_found(
    emulator: TelegramEmulator,
) -> None:
    async with ClientSession() as http:
        unknown = await http.post(f"{emulator.base_url}/bot{DEFAULT_TOKEN}/sendTelepathy")
        malformed = await http.get(f"{emulator.base_url}/botnot-a-token/getMe")
        unknown_body, malformed_body = await unknown.json(), await malformed.json()

    expected = {"ok": False, "error_code": 404, "description": "Not Found"}
    assert (unknown.status, unknown_body) == (404, expected)
    assert (malformed.status, malformed_body) == (404, expected)


async def test_json_urlencoded_and_query_parameters_are_all_accepted(
    emulator: TelegramEmulator, alice: EmulatedUser
) -> None:
    url = f"{emulator.base_url}/bot{DEFAULT_TOKEN}/sendMessage"
    async with ClientSession() as http:
        as_json = await http.post(url, json={"chat_id": ALICE, "text": "json"})
        as_form = await http.post(url, data={"chat_id": str(ALICE), "text": "form"})
        as_query = await http.get(url, params={"chat_id": str(ALICE), "text": "query"})
        bodies = [await response.json() for response in (as_json, as_form, as_query)]

    assert [body["result"]["text"] for body in bodies] == ["json", "form", "query"]
    assert [m.text for m in alice.bot_messages()] == ["json", "form", "query"]


async def test_send_message_returns_parsed_html_and_the_user_sees_it(
    bot: Bot, alice: EmulatedUser
) -> None:
    sent = await bot.send_message(ALICE, "<b>Заявка №5</b> &lt;создана&gt;", parse_mode="HTML")

    assert sent.text == "Заявка №5 <создана>"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 9)]
    seen = await alice.wait_for_bot_message()
    assert seen.text == "Заявка №5 <создана>"
    assert seen.source == "<b>Заявка №5</b> &lt;создана&gt;"
    assert seen.parse_mode == "HTML"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("2 < 3", 'Unsupported start tag "" at byte offset 2'),
        ("<i>x</b>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"'),
        ("Tom & Jerry", 'Character "&" must be escaped'),
    ],
)
async def test_broken_html_is_a_bad_request(
    bot: Bot, alice: EmulatedUser, html: str, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(ALICE, html, parse_mode="HTML")

    assert reason in caught.value.message
    assert alice.bot_messages() == []


async def test_bare_ampersand_is_kept_like_telegram_when_strict_mode_is_off(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    emulator.strict_html = False

    sent = await bot.send_message(ALICE, "Tom & Jerry", parse_mode="HTML")

    assert sent.text == "Tom & Jerry"


async def test_text_length_is_counted_after_entity_parsing(bot: Bot, alice: EmulatedUser) -> None:
    fits = await bot.send_message(ALICE, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    assert len(fits.text or "") == 4096

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE, "x" * 4097)


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>"])
async def test_empty_text_is_refused(bot: Bot, alice: EmulatedUser, text: str) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ALICE, text, parse_mode="HTML")


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, alice: EmulatedUser) -> None:
    await bot.send_message(ALICE, "ok", reply_markup=keyboard(("Yes", "y" * 64)))

    for too_long in ("y" * 65, "я" * 33):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(ALICE, "no", reply_markup=keyboard(("Yes", too_long)))
    assert [m.text for m in alice.bot_messages()] == ["ok"]


async def test_unknown_chat_and_a_person_who_never_wrote_are_refused(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    emulator.user(2002, "Bob")

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.send_message(2002, "hi")


async def test_reply_parameters_attach_the_replied_message(bot: Bot, alice: EmulatedUser) -> None:
    question = alice.messages()[0]

    answer = await bot.send_message(
        ALICE, "answer", reply_parameters=ReplyParameters(message_id=question.message_id)
    )

    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "/start"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(ALICE, "x", reply_parameters=ReplyParameters(message_id=999))
    tolerant = ReplyParameters(message_id=999, allow_sending_without_reply=True)
    assert (await bot.send_message(ALICE, "y", reply_parameters=tolerant)).text == "y"


async def test_edit_message_text_applies_and_refuses_identical_content(
    bot: Bot, alice: EmulatedUser
) -> None:
    sent = await bot.send_message(ALICE, "Status: open", reply_markup=keyboard(("Close", "c")))

    edited = await bot.edit_message_text(
        "Status: <i>closed</i>", chat_id=ALICE, message_id=sent.message_id, parse_mode="HTML"
    )

    assert isinstance(edited, Message)
    assert edited.text == "Status: closed"
    assert edited.edit_date is not None
    [seen] = alice.bot_messages()
    assert (seen.text, seen.buttons) == ("Status: closed", [])  # no markup given: removed
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Status: <i>closed</i>", chat_id=ALICE, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=9999)


async def test_edit_reply_markup_replaces_buttons_and_refuses_the_same_markup(
    bot: Bot, alice: EmulatedUser
) -> None:
    sent = await bot.send_message(ALICE, "Pick", reply_markup=keyboard(("A", "a")))

    await bot.edit_message_reply_markup(
        chat_id=ALICE, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
    )

    assert alice.bot_messages()[0].buttons == [{"text": "B", "callback_data": "b"}]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=ALICE, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
        )


async def test_a_persons_message_cannot_be_edited_by_the_bot(
    bot: Bot, alice: EmulatedUser
) -> None:
    own = alice.messages()[0]

    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("hacked", chat_id=ALICE, message_id=own.message_id)


async def test_delete_message_removes_it_from_the_chat(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    sent = await bot.send_message(ALICE, "oops")

    assert await bot.delete_message(ALICE, sent.message_id)

    assert [m.text for m in alice.messages()] == ["/start"]
    assert [m.deleted for m in emulator.sent_messages(ALICE)] == [True]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)


async def test_commands_are_kept_per_scope_and_language(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    russian = [BotCommand(command="start", description="Начать")]
    english = [BotCommand(command="start", description="Start")]
    private = BotCommandScopeAllPrivateChats()

    await bot.set_my_commands(russian, scope=private, language_code="ru")
    await bot.set_my_commands(english, scope=private, language_code="en")

    def pairs(commands: list[BotCommand]) -> list[tuple[str, str]]:
        return [(command.command, command.description) for command in commands]

    assert pairs(await bot.get_my_commands(scope=private, language_code="ru")) == pairs(russian)
    assert pairs(await bot.get_my_commands(scope=private, language_code="en")) == pairs(english)
    assert await bot.get_my_commands() == []
    assert emulator.commands(language_code="en", scope={"type": "all_private_chats"}) == [
        {"command": "start", "description": "Start"}
    ]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])


async def test_chat_action_is_validated(bot: Bot, alice: EmulatedUser) -> None:
    assert await bot.send_chat_action(ALICE, "typing")

    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(ALICE, "dancing")


async def test_every_call_is_recorded_and_counted(
    emulator: TelegramEmulator, bot: Bot, alice: EmulatedUser
) -> None:
    await bot.send_message(ALICE, "one")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ALICE, "")

    calls = emulator.calls("sendMessage")
    assert [(call.status, call.params.get("text")) for call in calls] == [
        (200, "one"),
        (400, None),
    ]
    assert emulator.stats.calls["sendMessage"] == 2
    assert emulator.stats.errors[400] == 1

"""Comments: a client adds comments to their tickets and reads the public history.

Seed: ticket 1 (Анна's, in progress) has public comments 1 (hers) and 2 (the engineer's) and
private comment 3 «Взять картридж CF285A со склада.»; ticket 2 is Алексей's.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from okdesk_bot.app import Application
from okdesk_bot.bot.callbacks import TicketAction, TicketCallback
from okdesk_bot.domain.richtext import TELEGRAM_MESSAGE_LIMIT
from okdesk_bot.emulators.okdesk import FileUpload, OkdeskEmulator
from okdesk_bot.emulators.okdesk.state import Comment as StoredComment
from okdesk_bot.emulators.telegram import ChatMessage, EmulatedUser
from okdesk_bot.emulators.telegram.users import SAMPLE_PHOTO

MENU_COMMENT = "💬 Добавить комментарий"
MENU_STATUS = "🔄 Проверить статус"
PRIVATE_TEXT = "Взять картридж CF285A"
COMMENT_BUTTON = "💬 Комментировать"
HISTORY_BUTTON = "🗂 История"


def comments_of(okdesk: OkdeskEmulator, issue_id: int) -> list[StoredComment]:
    return sorted(
        (each for each in okdesk.state.comments.values() if each.issue_id == issue_id),
        key=lambda each: each.id,
    )


def containing(fragment: str) -> Callable[[ChatMessage], bool]:
    return lambda message: fragment in (message.text or "")


def data(action: TicketAction, issue_id: int) -> str:
    return TicketCallback(action=action, issue_id=issue_id).pack()


async def card(person: EmulatedUser) -> ChatMessage:
    """The card of the person's only open ticket («Проверить статус» goes straight to it)."""
    await person.send_text(MENU_STATUS)
    return await person.wait_for_bot_message(predicate=lambda message: bool(message.buttons))


async def planted_message(
    app: Application, person: EmulatedUser, issue_id: int, *actions: TicketAction
) -> ChatMessage:
    """A bot message in the person's chat with buttons for any ticket, as a forged or
    replayed callback (or a forwarded card) would present it."""
    await settled(person)  # a bot writes only to people who wrote to it first
    texts = {TicketAction.COMMENT: COMMENT_BUTTON, TicketAction.HISTORY: HISTORY_BUTTON}
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=texts[action],
                    callback_data=TicketCallback(action=action, issue_id=issue_id).pack(),
                )
                for action in actions
            ]
        ]
    )
    sent = await app.bot.send_message(person.chat_id, f"Заявка №{issue_id}", reply_markup=keyboard)
    return await person.wait_for_bot_message(
        predicate=lambda message: message.message_id == sent.message_id
    )


async def history_messages(person: EmulatedUser, until: str) -> list[ChatMessage]:
    """The bot's messages up to the one containing `until`."""
    messages = [await person.wait_for_bot_message()]
    while until not in (messages[-1].text or ""):
        messages.append(await person.wait_for_bot_message())
    return messages


async def settled(person: EmulatedUser) -> None:
    """Wait until the bot has handled everything the person sent (one chat is handled in
    order, so the answer to /help comes after all earlier updates)."""
    await person.send_command("/help")
    await person.wait_for_bot_message(predicate=containing("/help"))


# --- adding a comment -----------------------------------------------------------------------


async def test_menu_with_one_open_ticket_goes_straight_to_it(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await registered_anna.send_text(MENU_COMMENT)
    prompt = await registered_anna.wait_for_bot_message()
    assert "№1" in (prompt.text or "")
    assert "Не печатает принтер" in (prompt.text or "")

    await registered_anna.send_text("Картридж <b>новый</b> & бумага A4")
    done = await registered_anna.wait_for_bot_message()

    assert "Комментарий добавлен к заявке №1" in (done.text or "")
    added = comments_of(okdesk, 1)[-1]
    assert added.content == "Картридж &lt;b&gt;новый&lt;/b&gt; &amp; бумага A4"
    assert (added.author.type, added.author.id) == ("contact", 1)
    assert added.public is True


async def test_menu_with_two_open_tickets_offers_a_choice(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    second = await okdesk.create_issue("Нет интернета на ресепшене", contact_id=1, company_id=1)

    await registered_anna.send_text(MENU_COMMENT)
    choice = await registered_anna.wait_for_bot_message()
    labels = [button["text"] for button in choice.buttons]
    assert any(label.startswith("№1 ") for label in labels)
    assert f"№{second.id} · Нет интернета на ресепшене" in labels

    query = await registered_anna.press_button(
        choice.message_id, f"№{second.id} · Нет интернета на ресепшене"
    )
    await query.wait_answered()
    prompt = await registered_anna.wait_for_bot_message()
    assert f"№{second.id}" in (prompt.text or "")
    await registered_anna.send_text("Роутер перезагружали, не помогло.")
    await registered_anna.wait_for_bot_message(predicate=containing("Комментарий добавлен"))

    assert [each.content for each in comments_of(okdesk, second.id)] == [
        "Роутер перезагружали, не помогло."
    ]
    assert len(comments_of(okdesk, 1)) == 3


async def test_no_open_tickets_says_so(
    registered_alexey: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await registered_alexey.send_text(MENU_COMMENT)
    answer = await registered_alexey.wait_for_bot_message()
    assert "нет открытых заявок" in (answer.text or "")


async def test_photo_comment_lands_as_an_attachment(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    shown = await card(registered_anna)
    query = await registered_anna.press_button(shown.message_id, data(TicketAction.COMMENT, 1))
    assert (await query.wait_answered()).show_alert is False
    await registered_anna.wait_for_bot_message(predicate=containing("Напишите комментарий"))

    await registered_anna.send_photo(caption="Вот что показывает индикатор")
    await registered_anna.wait_for_bot_message(predicate=containing("Комментарий добавлен"))

    added = comments_of(okdesk, 1)[-1]
    assert added.content == "Вот что показывает индикатор"
    [attachment] = [okdesk.state.attachments[each] for each in added.attachment_ids]
    assert attachment.content == SAMPLE_PHOTO
    assert attachment.file_name.endswith(".jpg")


async def test_document_without_caption_is_named_in_the_comment(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    shown = await card(registered_anna)
    await registered_anna.press_button(shown.message_id, data(TicketAction.COMMENT, 1))
    await registered_anna.wait_for_bot_message(predicate=containing("Напишите комментарий"))

    await registered_anna.send_document(b"%PDF-1.4 act", "Акт & счёт.pdf")
    await registered_anna.wait_for_bot_message(predicate=containing("Комментарий добавлен"))

    added = comments_of(okdesk, 1)[-1]
    assert added.content == "📎 Акт &amp; счёт.pdf"
    [attachment] = [okdesk.state.attachments[each] for each in added.attachment_ids]
    assert (attachment.file_name, attachment.content) == ("Акт & счёт.pdf", b"%PDF-1.4 act")


async def test_a_sticker_is_not_a_comment_and_the_prompt_stays(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await registered_anna.send_text(MENU_COMMENT)
    await registered_anna.wait_for_bot_message(predicate=containing("Напишите комментарий"))

    await registered_anna.send_sticker()
    hint = await registered_anna.wait_for_bot_message()
    assert "текстом, фото или документом" in (hint.text or "")
    await registered_anna.send_text("А вот и текст")
    await registered_anna.wait_for_bot_message(predicate=containing("Комментарий добавлен"))

    assert comments_of(okdesk, 1)[-1].content == "А вот и текст"


async def test_a_file_over_20_mb_is_explained(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await registered_anna.send_text(MENU_COMMENT)
    await registered_anna.wait_for_bot_message(predicate=containing("Напишите комментарий"))

    await registered_anna.send_document(bytes(20 * 1024 * 1024 + 1), "video.mp4")
    answer = await registered_anna.wait_for_bot_message()

    assert "больше 20 МБ" in (answer.text or "")
    assert len(comments_of(okdesk, 1)) == 3


# --- history --------------------------------------------------------------------------------


async def test_history_shows_public_comments_in_order_never_private_ones(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await okdesk.add_comment(
        1,
        "<p>Заказали <b>картридж</b> &amp; барабан:</p><ul><li>CF285A</li></ul>",
        attachments=[FileUpload("счёт <1>.pdf", b"%PDF", "application/pdf")],
    )
    shown = await card(registered_anna)

    query = await registered_anna.press_button(shown.message_id, data(TicketAction.HISTORY, 1))
    assert (await query.wait_answered()).show_alert is False
    [history] = await history_messages(registered_anna, until="Заказали")

    text = history.text or ""
    assert text.index("Замяли бумагу") < text.index("Инженер приедет") < text.index("Заказали")
    assert "Вы · 20.01.2025 10:20 МСК" in text
    assert "Петров Сергей Андреевич · 20.01.2025 11:30 МСК" in text
    assert "Заказали картридж & барабан:\n\n• CF285A" in text
    assert "📎 счёт <1>.pdf" in text
    assert {"type": "bold", "offset": text.index("картридж"), "length": 8} in history.entities
    assert history.buttons[0]["text"] == COMMENT_BUTTON
    assert all(PRIVATE_TEXT not in (each.text or "") for each in registered_anna.messages())


async def test_a_long_thread_is_split_into_messages_within_the_limit(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    for number in range(1, 9):
        body = f"Отчёт {number:02d}. " + "Проверили линию и оборудование. " * 45
        await okdesk.add_comment(1, f"<p>{body}</p>")
    shown = await card(registered_anna)

    await registered_anna.press_button(shown.message_id, data(TicketAction.HISTORY, 1))
    messages = await history_messages(registered_anna, until="Отчёт 08.")

    assert len(messages) >= 3
    assert all(len(each.text or "") <= TELEGRAM_MESSAGE_LIMIT for each in messages)
    whole = "\n".join(each.text or "" for each in messages)
    positions = [whole.index(f"Отчёт {number:02d}.") for number in range(1, 9)]
    assert positions == sorted(positions)
    assert whole.index("Замяли бумагу") < positions[0]
    assert all(each.buttons for each in messages)
    assert PRIVATE_TEXT not in whole


# --- replies --------------------------------------------------------------------------------


async def test_a_reply_to_a_message_about_a_ticket_comments_on_it(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    shown = await card(registered_anna)
    await registered_anna.press_button(shown.message_id, data(TicketAction.HISTORY, 1))
    [history] = await history_messages(registered_anna, until="Инженер приедет")

    await registered_anna.reply_to(history.message_id, "Спасибо, буду на месте с 10:00")
    done = await registered_anna.wait_for_bot_message()

    assert "Комментарий добавлен к заявке №1" in (done.text or "")
    assert comments_of(okdesk, 1)[-1].content == "Спасибо, буду на месте с 10:00"
    assert comments_of(okdesk, 1)[-1].author.id == 1


async def test_a_reply_to_the_card_comments_on_its_ticket(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    shown = await card(registered_anna)

    await registered_anna.reply_to(shown.message_id, "Картридж поменяли сами")
    await registered_anna.wait_for_bot_message(predicate=containing("Комментарий добавлен"))

    assert comments_of(okdesk, 1)[-1].content == "Картридж поменяли сами"


async def test_a_reply_to_a_list_of_several_tickets_is_not_a_comment(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    second = await okdesk.create_issue("Нет интернета", contact_id=1, company_id=1)
    await registered_anna.send_text(MENU_COMMENT)
    choice = await registered_anna.wait_for_bot_message()

    await registered_anna.reply_to(choice.message_id, "К какой заявке это уйдёт?")
    await settled(registered_anna)

    assert len(comments_of(okdesk, 1)) == 3
    assert comments_of(okdesk, second.id) == []


async def test_a_reply_to_a_message_not_about_a_ticket_is_not_a_comment(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await registered_anna.send_command("/help")
    help_message = await registered_anna.wait_for_bot_message()

    await registered_anna.reply_to(help_message.message_id, "Просто вопрос")
    await settled(registered_anna)

    assert len(comments_of(okdesk, 1)) == 3
    assert all(
        "Комментарий добавлен" not in (each.text or "") for each in registered_anna.messages()
    )


# --- someone else's ticket ------------------------------------------------------------------


async def test_a_forged_comment_button_for_another_ticket_is_refused(
    service: Application,
    registered_anna: EmulatedUser,
    registered_alexey: EmulatedUser,
    okdesk: OkdeskEmulator,
) -> None:
    forged = await planted_message(
        service, registered_anna, 2, TicketAction.COMMENT, TicketAction.HISTORY
    )

    comment_press = await registered_anna.press_button(forged.message_id, COMMENT_BUTTON)
    history_press = await registered_anna.press_button(forged.message_id, HISTORY_BUTTON)
    for press in (comment_press, history_press):
        answered = await press.wait_answered()
        assert answered.show_alert is True
        assert "не найдена среди ваших" in (answered.answer_text or "")
    await registered_anna.send_text("Пишу в чужую заявку")
    await settled(registered_anna)

    assert len(comments_of(okdesk, 2)) == 1
    seen = "\n".join(each.text or "" for each in registered_anna.messages())
    assert "Доступ настроен" not in seen
    assert "Настроить VPN" not in seen


async def test_a_reply_to_a_message_about_another_users_ticket_is_refused(
    service: Application,
    registered_anna: EmulatedUser,
    registered_alexey: EmulatedUser,
    okdesk: OkdeskEmulator,
) -> None:
    forwarded = await planted_message(service, registered_anna, 2, TicketAction.HISTORY)

    await registered_anna.reply_to(forwarded.message_id, "Чужая заявка")
    refusal = await registered_anna.wait_for_bot_message()

    assert "не найдена среди ваших" in (refusal.text or "")
    assert len(comments_of(okdesk, 2)) == 1


# --- Okdesk down ----------------------------------------------------------------------------


async def test_okdesk_down_keeps_the_comment_and_one_tap_resends_it_once(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    okdesk.faults.fail_next(method="POST", path_prefix="/api/v1/issues/1/comments")
    await registered_anna.send_text(MENU_COMMENT)
    await registered_anna.wait_for_bot_message(predicate=containing("Напишите комментарий"))

    await registered_anna.send_text("Принтер снова замял бумагу")
    failure = await registered_anna.wait_for_bot_message()
    assert "Okdesk сейчас недоступен" in (failure.text or "")
    assert len(comments_of(okdesk, 1)) == 3

    first = await registered_anna.press_button(failure.message_id, "🔁 Отправить ещё раз")
    second = await registered_anna.press_button(failure.message_id, "🔁 Отправить ещё раз")
    await first.wait_answered()
    assert "уже отправлен" in ((await second.wait_answered()).answer_text or "")
    done = await registered_anna.wait_for_bot_message(predicate=containing("Комментарий"))

    assert "Комментарий добавлен к заявке №1" in (done.text or "")
    texts = [each.content for each in comments_of(okdesk, 1)]
    assert texts.count("Принтер снова замял бумагу") == 1
    [kept] = [each for each in registered_anna.messages() if each.message_id == failure.message_id]
    assert [button["text"] for button in kept.buttons] == [HISTORY_BUTTON]


async def test_an_album_becomes_one_comment_with_every_picture(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    await registered_anna.send_text(MENU_COMMENT)
    await registered_anna.wait_for_bot_message(predicate=containing("Напишите комментарий"))

    await registered_anna.send_album([SAMPLE_PHOTO, SAMPLE_PHOTO + b"2"], caption="Два ракурса")
    done = await registered_anna.wait_for_bot_message()

    assert "Комментарий добавлен к заявке №1" in (done.text or "")
    added = comments_of(okdesk, 1)[-1]
    assert added.content == "Два ракурса"
    attachments = [okdesk.state.attachments[each].content for each in added.attachment_ids]
    assert attachments == [SAMPLE_PHOTO, SAMPLE_PHOTO + b"2"]
    await settled(registered_anna)
    assert len(comments_of(okdesk, 1)) == 4
    assert len(okdesk.state.issues) == 2


async def test_a_kept_comment_survives_cancel_and_can_be_discarded(
    registered_anna: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    okdesk.faults.fail_next(method="POST", path_prefix="/api/v1/issues/1/comments")
    shown = await card(registered_anna)
    await registered_anna.reply_to(shown.message_id, "Уже не актуально")
    failure = await registered_anna.wait_for_bot_message(predicate=containing("недоступен"))
    await registered_anna.send_command("/cancel")
    await registered_anna.wait_for_bot_message()

    press = await registered_anna.press_button(failure.message_id, "🗑 Не отправлять")

    assert "не будет отправлен" in ((await press.wait_answered()).answer_text or "")
    await settled(registered_anna)
    [kept] = [each for each in registered_anna.messages() if each.message_id == failure.message_id]
    assert [button["text"] for button in kept.buttons] == [HISTORY_BUTTON]
    assert "Уже не актуально" not in [each.content for each in comments_of(okdesk, 1)]

"""How tickets are shown: escaped values, comments shortened whole, a ticket button on each."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import Chat, Message, PhotoSize, Sticker, User
from pydantic import SecretStr

from okdesk_bot.bot import tickets_view as view
from okdesk_bot.bot.ticket_input import dedup_key, read_ticket_message
from okdesk_bot.config import Settings
from okdesk_bot.domain.richtext import plain_text, split_message, telegram_text_length
from okdesk_bot.okdesk import Comment
from okdesk_bot.services.files import IncomingFile
from okdesk_bot.services.tickets import (
    CreatedTicket,
    TicketCard,
    TicketPage,
    TicketSummary,
)
from okdesk_bot.texts import Texts, Translator


@pytest.fixture(scope="module")
def t() -> Translator:
    return Texts.load().for_locale("ru")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(
        _env_file=None,
        bot_token=SecretStr("123456:ABCDEFGHIJKLMNOP"),
        okdesk_api_url="https://acme.okdesk.ru/api/v1",
        okdesk_api_token=SecretStr("a-real-looking-okdesk-key"),
    )


def ticket_card(comment_html: str | None) -> TicketCard:
    comment = None
    if comment_html is not None:
        comment = Comment.model_validate(
            {
                "id": 7,
                "content": comment_html,
                "public": True,
                "published_at": "2025-03-01T09:05:00+03:00",
                "author": {"id": 2, "name": "Петров <Сергей>", "type": "employee"},
            }
        )
    return TicketCard(
        issue_id=15,
        title="Не печатает <принтер> & сканер",
        status="В работе",
        is_open=True,
        created_at=datetime(2025, 2, 28, 21, 30, tzinfo=UTC),
        updated_at=None,
        assignee=None,
        last_comment=comment,
    )


def test_a_card_escapes_okdesk_values_and_shows_moscow_time(
    t: Translator, settings: Settings
) -> None:
    reply = view.card(t, settings, ticket_card("<p>Готово &amp; проверено</p>"))
    shown = plain_text(reply.text)

    assert "Не печатает <принтер> & сканер" in shown
    assert "&lt;принтер&gt; &amp; сканер" in reply.text
    assert "Создана: 1 марта 2025, 00:30 МСК" in shown  # 21:30 UTC
    assert "Исполнитель: пока не назначен" in shown
    assert "Петров <Сергей>, 1 марта 2025, 09:05 МСК" in shown
    assert "Готово & проверено" in shown
    assert reply.markup is not None
    data = [b.callback_data for row in reply.markup.inline_keyboard for b in row]
    assert {"t:r:15:0", "t:m:15:0", "t:h:15:0"} <= set(data)
    urls = [b.url for row in reply.markup.inline_keyboard for b in row if b.url]
    assert urls == ["https://acme.okdesk.ru/issues/15"]


def test_a_card_shows_times_in_the_zone_the_account_is_set_to(
    t: Translator, settings: Settings
) -> None:
    yekaterinburg = settings.model_copy(update={"okdesk_timezone": ZoneInfo("Asia/Yekaterinburg")})

    shown = plain_text(view.card(t, yekaterinburg, ticket_card("<p>Готово</p>")).text)

    assert "Создана: 1 марта 2025, 02:30 UTC+5" in shown  # 21:30 UTC
    assert "Петров <Сергей>, 1 марта 2025, 11:05 UTC+5" in shown  # 09:05 +03:00
    assert "МСК" not in shown


def test_a_long_comment_is_shortened_between_words_with_tags_balanced(
    t: Translator, settings: Settings
) -> None:
    long_comment = "<p><b>" + "Очень длинный ответ инженера. " * 200 + "</b></p>"
    reply = view.card(t, settings, ticket_card(long_comment))

    assert telegram_text_length(reply.text) < 1500
    assert reply.text.endswith("</b>…")
    assert reply.text.count("<b>") == reply.text.count("</b>")
    assert split_message(reply.text) == [reply.text]  # one valid message


def test_a_card_without_comments_says_so(t: Translator, settings: Settings) -> None:
    reply = view.card(t, settings, ticket_card(None))
    assert "Комментариев пока нет." in reply.text


def test_a_created_ticket_links_to_okdesk_and_the_card(t: Translator, settings: Settings) -> None:
    huge = IncomingFile("document", "f", "дамп <базы>.zip", "application/zip", 25 * 1024 * 1024)
    reply = view.created(t, settings, CreatedTicket(15, "Сбой & <отказ>", (huge,)))

    assert "№15" in reply.text
    assert "Сбой &amp; &lt;отказ&gt;" in reply.text
    assert "«дамп &lt;базы&gt;.zip» (25,0 МБ) не приложен" in reply.text
    assert reply.markup is not None
    buttons = [b for row in reply.markup.inline_keyboard for b in row]
    assert [b.callback_data for b in buttons if b.callback_data] == ["t:c:15:0"]


def test_the_list_marks_open_tickets_and_offers_the_next_page(t: Translator) -> None:
    page = TicketPage(
        items=(
            TicketSummary(3, "Первая <открытая>", "Открыта", is_open=True),
            TicketSummary(2, "Закрытая", "Решена", is_open=False),
        ),
        page=0,
        pages=2,
        open_count=1,
        closed_count=7,
    )
    reply = view.ticket_list(t, page)

    assert "открытых: 1, закрытых: 7" in reply.text
    assert "🟢 <b>№3</b> Первая &lt;открытая&gt; — Открыта" in reply.text
    assert reply.markup is not None
    rows = reply.markup.inline_keyboard
    assert [row[0].text for row in rows[:2]] == ["🟢 №3 · Первая <открытая>", "⚪️ №2 · Закрытая"]
    assert [button.callback_data for button in rows[2]] == ["tp:1"]


def test_titles_on_buttons_are_cut_between_words(t: Translator) -> None:
    title = "Не работает общий сетевой принтер на третьем этаже в бухгалтерии"
    page = TicketPage((TicketSummary(4, title, "Открыта", is_open=True),), 0, 1, 1, 0)
    reply = view.ticket_list(t, page)

    assert reply.markup is not None
    assert (
        reply.markup.inline_keyboard[0][0].text == "🟢 №4 · Не работает общий сетевой принтер на…"
    )


def _message(**fields: object) -> Message:
    return Message.model_validate(
        {
            "message_id": 42,
            "date": 0,
            "chat": Chat(id=700, type="private"),
            "from": User(id=700, is_bot=False, first_name="Анна", username="anna"),
            **fields,
        }
    )


def test_a_photo_with_a_caption_is_ticket_input() -> None:
    sizes = [
        PhotoSize(file_id="small", file_unique_id="s", width=90, height=90, file_size=100),
        PhotoSize(file_id="large", file_unique_id="l", width=900, height=900, file_size=9000),
    ]
    read = read_ticket_message(_message(photo=sizes, caption="Треснул экран"))

    assert read is not None
    assert read.text == "Треснул экран"
    assert [(f.file_id, f.file_name, f.size) for f in read.files] == [
        ("large", "photo_42.jpg", 9000)
    ]
    assert read.dedup_key == "700:42"
    assert read.sender.username == "anna"


def test_album_items_share_one_key_and_stickers_are_not_input() -> None:
    assert dedup_key(_message(text="x", media_group_id="555")) == "700:g555"
    sticker = Sticker(
        file_id="s",
        file_unique_id="s",
        type="regular",
        width=512,
        height=512,
        is_animated=False,
        is_video=False,
    )
    assert read_ticket_message(_message(sticker=sticker)) is None
    assert read_ticket_message(_message(text="   ")) is None

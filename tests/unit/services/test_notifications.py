"""Rendering notices, the per-issue record of what was notified, and the retry schedule."""

from __future__ import annotations

import pytest

from okdesk_bot.bot.callbacks import TicketAction, TicketCallback
from okdesk_bot.emulators.telegram.text import parse_html, utf16_length
from okdesk_bot.okdesk import Attachment, Comment, Issue, Status, UserRef
from okdesk_bot.services.inbox_worker import retry_delay
from okdesk_bot.services.notifications import (
    REMEMBERED_COMMENTS,
    IssueNotices,
    NoticeRenderer,
    Payload,
)
from okdesk_bot.texts import Texts

IN_PROGRESS = Status(code="in_progress", name="В работе")
COMPLETED = Status(code="completed", name="Решена")
ISSUE = Issue(id=153, title="Касса <не> печатает & молчит", status=COMPLETED)
ENGINEER = UserRef(id=2, name="Петров Сергей", type="employee")


@pytest.fixture(scope="module")
def renderer() -> NoticeRenderer:
    return NoticeRenderer(Texts.load(), lambda issue_id: f"https://desk.example/issues/{issue_id}")


def shown(payload: Payload) -> str:
    """The text as Telegram parses it (fails on markup Telegram would refuse)."""
    text, _ = parse_html(
        payload["text"] if payload["method"] == "sendMessage" else payload["caption"]
    )
    return text


def test_status_notice_escapes_the_title_and_names_both_statuses(
    renderer: NoticeRenderer,
) -> None:
    [notice] = renderer.status_changed("ru", ISSUE, new=COMPLETED, old=IN_PROGRESS)

    assert shown(notice) == (
        "🔔 Заявка №153: Касса <не> печатает & молчит\nСтатус: В работе → Решена"
    )
    assert "&lt;не&gt;" in notice["text"]
    [[reply, open_ticket]] = notice["reply_markup"]["inline_keyboard"]
    assert TicketCallback.unpack(reply["callback_data"]) == TicketCallback(
        action=TicketAction.COMMENT, issue_id=153
    )
    assert open_ticket == {"text": "🔗 Открыть заявку", "url": "https://desk.example/issues/153"}


def test_status_notice_without_a_known_old_status_names_the_new_one(
    renderer: NoticeRenderer,
) -> None:
    [notice] = renderer.status_changed("en", ISSUE, new=Status(code="closed"), old=None)

    assert shown(notice) == "🔔 Ticket #153: Касса <не> печатает & молчит\nStatus: closed"


def test_status_notice_shows_the_resolution_comment_converted(renderer: NoticeRenderer) -> None:
    resolution = Comment(id=5880, content="<p>Работы <b>проверены</b></p>", author=ENGINEER)

    [notice] = renderer.status_changed(
        "en", ISSUE, new=COMPLETED, old=IN_PROGRESS, resolution=resolution
    )

    assert shown(notice).endswith(
        "Status: В работе → Решена\n\n💬 Петров Сергей:\nРаботы проверены"
    )
    assert "<b>проверены</b>" in notice["text"]


def test_comment_without_an_author_name_is_signed_by_support(renderer: NoticeRenderer) -> None:
    comment = Comment(id=7, content="<div>Готово</div>", author=UserRef(id=9, type="employee"))

    [notice] = renderer.new_comment("ru", ISSUE, comment)

    assert shown(notice).endswith("Новый комментарий от Служба поддержки:\nГотово")


def test_a_long_comment_becomes_several_messages_each_with_the_buttons(
    renderer: NoticeRenderer,
) -> None:
    body = "".join(f"<p>Абзац {number}. {'Текст абзаца. ' * 40}</p>" for number in range(30))

    notices = renderer.new_comment("ru", ISSUE, Comment(id=7, content=body, author=ENGINEER))

    texts = [shown(notice) for notice in notices]
    assert len(notices) > 1
    assert all(utf16_length(text) <= 4096 for text in texts)
    assert all(notice["reply_markup"] == notices[0]["reply_markup"] for notice in notices)
    assert "Абзац 29." in texts[-1]


def test_public_files_follow_the_text_and_private_ones_are_left_out(
    renderer: NoticeRenderer,
) -> None:
    comment = Comment(
        id=7,
        content="<p>Фото во вложении</p>",
        author=ENGINEER,
        attachments=[
            Attachment(id=1, attachment_file_name="<фото>.jpg", is_public=True),
            Attachment(id=2, attachment_file_name="internal.txt", is_public=False),
            Attachment(id=3),
        ],
    )

    [text, photo, unnamed] = renderer.new_comment("en", ISSUE, comment)

    assert shown(text).endswith("Фото во вложении")
    assert (photo["method"], photo["okdesk_issue_id"], photo["okdesk_attachment_id"]) == (
        "sendDocument",
        153,
        1,
    )
    assert (photo["filename"], shown(photo)) == ("<фото>.jpg", "📎 <фото>.jpg — ticket #153")
    assert (unnamed["okdesk_attachment_id"], unnamed["filename"]) == (3, "file-3")


def test_notices_remember_the_status_and_the_latest_comments() -> None:
    notices = IssueNotices().with_status(COMPLETED)
    for comment_id in range(REMEMBERED_COMMENTS + 5):
        notices = notices.with_comment(comment_id)

    restored = IssueNotices.model_validate_json(notices.model_dump_json())

    assert restored.status == COMPLETED
    assert restored.knows_comment(REMEMBERED_COMMENTS + 4)
    assert not restored.knows_comment(4)
    assert len(restored.comment_ids) == REMEMBERED_COMMENTS


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 5.0), (2, 10.0), (4, 40.0), (30, 1800.0)])
def test_retries_back_off_exponentially_with_jitter_up_to_a_cap(
    attempt: int, ceiling: float
) -> None:
    delays = [retry_delay(attempt, first=5.0) for _ in range(50)]

    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1

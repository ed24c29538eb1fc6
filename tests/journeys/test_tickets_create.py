"""One message makes a ticket: text, photo, document, album, voice note; odd input gets hints."""

from __future__ import annotations

import html

from okdesk_bot.config import Settings
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.okdesk.state import Issue
from okdesk_bot.emulators.telegram import EmulatedUser
from okdesk_bot.emulators.telegram.users import SAMPLE_PHOTO, SAMPLE_VOICE
from tests.journeys.tickets_support import (
    MENU_CREATE,
    PROMPT,
    answer,
    button_data,
    new_issues,
    new_ticket_dialog,
    open_menu,
    text_of,
)

SAMPLE_PDF = b"%PDF-1.4\n% a tiny document\n"
OVER_TELEGRAM_LIMIT = 20 * 1024 * 1024 + 1


def only_new_issue(okdesk: OkdeskEmulator, known: set[int]) -> Issue:
    issues = new_issues(okdesk, known)
    assert len(issues) == 1, [issue.title for issue in issues]
    return issues[0]


def attachments(okdesk: OkdeskEmulator, issue: Issue) -> list[tuple[str, bytes]]:
    stored = okdesk.state.attachments_by_ids(issue.attachment_ids)
    return [(attachment.file_name, attachment.content) for attachment in stored]


async def test_text_becomes_a_ticket_of_the_contact_and_company(
    okdesk: OkdeskEmulator, settings: Settings, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await open_menu(registered_anna)
    await registered_anna.press_reply_button(MENU_CREATE)
    assert PROMPT in text_of(await answer(registered_anna))
    text = "Не печатает <принтер> & сканер_2 *срочно*. Горит красная лампочка"
    sent = await registered_anna.send_text(text)
    reply = await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert (issue.contact_id, issue.company_id) == (1, 1)
    assert issue.title == "Не печатает <принтер> & сканер_2 *срочно*"
    assert html.escape(text, quote=False) in issue.description
    assert "<принтер>" not in issue.description
    assert f"Анна Смирнова, Telegram ID {registered_anna.id}" in issue.description
    assert reply.reply_to_message_id == sent.message_id
    assert f"№{issue.id}" in text_of(reply)
    assert issue.title in text_of(reply)  # shown as typed: escaped for Telegram, not mangled
    urls = [button.get("url") for button in reply.buttons]
    assert f"{settings.web_url}/issues/{issue.id}" in urls
    assert f"t:c:{issue.id}:0" in button_data(reply)


async def test_a_5000_character_body_lands_whole(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    body = "Сервер 1С тормозит с утра. " + "Подробности: " * 400
    assert len(body) > 5000
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_text(body)
    reply = await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert html.escape(body.strip(), quote=False) in issue.description
    assert issue.title == "Сервер 1С тормозит с утра"
    assert f"№{issue.id}" in text_of(reply)


async def test_a_photo_with_a_caption_is_attached(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await new_ticket_dialog(registered_anna)
    sent = await registered_anna.send_photo(caption="Разбит экран ноутбука")
    reply = await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert issue.title == "Разбит экран ноутбука"
    assert attachments(okdesk, issue) == [(f"photo_{sent.message_id}.jpg", SAMPLE_PHOTO)]
    assert f"№{issue.id}" in text_of(reply)


async def test_a_document_without_a_caption_is_titled_by_its_name(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_document(SAMPLE_PDF, "акт сверки.pdf")
    await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert issue.title == "Документ: акт сверки.pdf"
    assert attachments(okdesk, issue) == [("акт сверки.pdf", SAMPLE_PDF)]


async def test_an_album_makes_one_ticket_with_every_picture(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    pictures = [SAMPLE_PHOTO + bytes([number]) for number in range(3)]
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_album(pictures, caption="Протекает потолок в переговорной")
    reply = await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert issue.title == "Протекает потолок в переговорной"
    assert [content for _, content in attachments(okdesk, issue)] == pictures
    assert f"№{issue.id}" in text_of(reply)
    assert len(registered_anna.bot_messages()) == 2  # the invitation and one answer


async def test_an_album_outside_the_dialog_is_offered_once_and_filed_whole(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    pictures = [SAMPLE_PHOTO + bytes([number]) for number in range(2)]
    await registered_anna.send_album(pictures, caption="Сломался замок на двери")
    offer = await answer(registered_anna)
    assert "Создать заявку из этого сообщения?" in text_of(offer)

    record = await registered_anna.press_button(offer.message_id, "📝 Создать заявку")
    await record.wait_answered(timeout=10)

    issue = only_new_issue(okdesk, known)
    assert issue.title == "Сломался замок на двери"
    assert [content for _, content in attachments(okdesk, issue)] == pictures
    assert len(registered_anna.bot_messages()) == 1  # the offer, now the confirmation


async def test_a_voice_note_is_attached(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await new_ticket_dialog(registered_anna)
    sent = await registered_anna.send_voice()
    await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert issue.title == "Голосовое сообщение"
    assert attachments(okdesk, issue) == [(f"voice_{sent.message_id}.ogg", SAMPLE_VOICE)]


async def test_a_file_over_20_mb_is_explained_and_the_ticket_made_without_it(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_document(
        bytes(OVER_TELEGRAM_LIMIT), "backup.zip", caption="Не открывается архив с бэкапом"
    )
    reply = await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert attachments(okdesk, issue) == []
    assert "«backup.zip» (20,0 МБ) не приложен" in issue.description
    assert f"№{issue.id}" in text_of(reply)
    assert "«backup.zip» (20,0 МБ) не приложен" in text_of(reply)


async def test_stickers_and_locations_get_a_hint_and_the_dialog_goes_on(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await registered_anna.send_sticker()
    assert "не получится превратить в заявку" in text_of(await answer(registered_anna))
    await new_ticket_dialog(registered_anna)
    await registered_anna.send_location(55.75, 37.62)
    assert "не получится превратить в заявку" in text_of(await answer(registered_anna))
    await registered_anna.send_text("Нет интернета в офисе")
    reply = await answer(registered_anna)

    issue = only_new_issue(okdesk, known)
    assert issue.title == "Нет интернета в офисе"
    assert f"№{issue.id}" in text_of(reply)


async def test_a_photo_without_a_caption_outside_the_dialog_gets_a_hint(
    okdesk: OkdeskEmulator, registered_anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await registered_anna.send_photo()
    hint = await answer(registered_anna)

    assert "Добавьте к файлу подпись" in text_of(hint)
    assert new_issues(okdesk, known) == []


async def test_someone_unregistered_is_sent_to_registration(
    okdesk: OkdeskEmulator, service: object, anna: EmulatedUser
) -> None:
    known = set(okdesk.state.issues)
    await anna.send_command("/new")
    assert "/start" in text_of(await answer(anna))
    await anna.send_text("Помогите, не работает почта")
    assert "/start" in text_of(await answer(anna))
    assert new_issues(okdesk, known) == []

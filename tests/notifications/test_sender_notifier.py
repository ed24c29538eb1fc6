"""`TelegramNotifier`: one outbox payload to Telegram over HTTP, and what each answer means."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from okdesk_bot.bot.factory import create_bot
from okdesk_bot.bot.notifier import TelegramNotifier
from okdesk_bot.emulators.okdesk import FileUpload, OkdeskEmulator
from okdesk_bot.emulators.telegram import EmulatedUser, Fault, TelegramEmulator
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services.outbox_worker import (
    ChatBlocked,
    FloodWait,
    PermanentFailure,
    Sent,
    TemporaryFailure,
)
from tests.notifications.sender_support import people, text_notice
from tests.support import BOT_TOKEN, OKDESK_TOKEN

PDF = b"%PDF-1.4 act of completed works"


@pytest.fixture
async def notifier(
    telegram: TelegramEmulator, okdesk: OkdeskEmulator
) -> AsyncIterator[TelegramNotifier]:
    bot = create_bot(BOT_TOKEN, api_url=telegram.base_url)
    async with OkdeskClient(okdesk.api_url, OKDESK_TOKEN, backoff_base=0.01) as client:
        yield TelegramNotifier(bot, client, message_timeout=1)
    await bot.session.close()


@pytest.fixture
async def person(telegram: TelegramEmulator) -> EmulatedUser:
    [someone] = await people(telegram, 1)
    return someone


async def test_a_text_notice_arrives_with_its_markup_and_buttons(
    notifier: TelegramNotifier, person: EmulatedUser
) -> None:
    payload = text_notice("Заявка <b>№1</b>: «В работе» → «Решена»", buttons=["Ответить"])

    assert await notifier.send(person.chat_id, payload) == Sent()

    [message] = person.bot_messages()
    assert message.text == "Заявка №1: «В работе» → «Решена»"
    assert [entity["type"] for entity in message.entities] == ["bold"]
    assert [button["text"] for button in message.buttons] == ["Ответить"]


async def test_markup_telegram_cannot_parse_is_sent_once_more_as_plain_text(
    notifier: TelegramNotifier, person: EmulatedUser, telegram: TelegramEmulator
) -> None:
    payload = text_notice("<b>Ромашка & Ко</b>: заявка решена", buttons=["Ответить"])

    assert await notifier.send(person.chat_id, payload) == Sent()

    [message] = person.bot_messages()
    assert message.text == "Ромашка & Ко: заявка решена"
    assert message.entities == []
    assert [button["text"] for button in message.buttons] == ["Ответить"]
    refused, accepted = telegram.calls("sendMessage")
    assert refused.status == 400
    assert "can't parse entities" in (refused.description or "")
    assert accepted.ok
    assert "parse_mode" not in accepted.params


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(status=429, retry_after=7), FloodWait(7.0)),
        (Fault(status=500), TemporaryFailure("Telegram: Internal Server Error")),
        (Fault(status=502), TemporaryFailure("Telegram: Bad Gateway")),
        (
            Fault(status=502, raw_body="<html><body>502 Bad Gateway</body></html>"),
            TemporaryFailure(
                "Telegram: an answer that is not the Bot API's (a proxy or gateway page?)"
            ),
        ),
        (Fault(delay=2.0), TemporaryFailure("Telegram: Request timeout error")),
        (
            Fault(status=400, description="Bad Request: message is too long"),
            PermanentFailure("Telegram: Bad Request: message is too long"),
        ),
    ],
    ids=["429", "500", "502", "gateway-page", "timeout", "400"],
)
async def test_telegram_answers_map_to_outcomes(
    notifier: TelegramNotifier,
    person: EmulatedUser,
    telegram: TelegramEmulator,
    fault: Fault,
    expected: object,
) -> None:
    telegram.faults.push(fault)

    assert await notifier.send(person.chat_id, text_notice("Статус изменён")) == expected


async def test_a_blocked_chat_is_reported_as_blocked(
    notifier: TelegramNotifier, person: EmulatedUser, telegram: TelegramEmulator
) -> None:
    telegram.faults.block_chat(person.chat_id)

    outcome = await notifier.send(person.chat_id, text_notice("Статус изменён"))

    assert outcome == ChatBlocked("Telegram: Forbidden: bot was blocked by the user")


async def test_an_unknown_chat_is_a_permanent_failure(notifier: TelegramNotifier) -> None:
    outcome = await notifier.send(42, text_notice("Статус изменён"))

    assert outcome == PermanentFailure("Telegram: Bad Request: chat not found")


@pytest.mark.parametrize(
    "payload",
    [
        {"method": "sendMessage", "text": ""},
        {"method": "sendSticker", "sticker": "x"},
        {"method": "sendMessage", "text": "hi", "reply_markup": {"inline_keyboard": "x"}},
    ],
    ids=["empty-text", "unknown-method", "bad-markup"],
)
async def test_a_malformed_payload_is_a_permanent_failure_without_a_call(
    notifier: TelegramNotifier,
    person: EmulatedUser,
    telegram: TelegramEmulator,
    payload: dict[str, Any],
) -> None:
    outcome = await notifier.send(person.chat_id, payload)

    assert isinstance(outcome, PermanentFailure)
    assert outcome.reason.startswith("malformed outbox payload: ")
    assert telegram.calls("sendMessage") == []


async def test_a_rejected_bot_token_is_temporary_and_never_named(
    okdesk: OkdeskEmulator, telegram: TelegramEmulator, person: EmulatedUser
) -> None:
    revoked = "123456:REVOKED-token-of-the-bot"
    bot = create_bot(revoked, api_url=telegram.base_url)
    async with OkdeskClient(okdesk.api_url, OKDESK_TOKEN) as client:
        outcome = await TelegramNotifier(bot, client).send(person.chat_id, text_notice("Привет"))
    await bot.session.close()

    assert outcome == TemporaryFailure("Telegram: Unauthorized")


def document_notice(attachment_id: int, *, issue_id: int = 1) -> dict[str, Any]:
    return {
        "method": "sendDocument",
        "okdesk_issue_id": issue_id,
        "okdesk_attachment_id": attachment_id,
        "filename": "Акт.pdf",
        "caption": "Файл к заявке <b>№1</b>",
        "parse_mode": "HTML",
        "reply_markup": None,
    }


async def test_a_document_is_fetched_from_okdesk_at_send_time(
    notifier: TelegramNotifier,
    person: EmulatedUser,
    telegram: TelegramEmulator,
    okdesk: OkdeskEmulator,
) -> None:
    [attachment] = await okdesk.attach_files(1, [FileUpload("act.pdf", PDF, is_public=True)])

    assert await notifier.send(person.chat_id, document_notice(attachment.id)) == Sent()

    [message] = person.bot_messages()
    assert message.caption == "Файл к заявке №1"
    document = message.media["document"]
    assert document["file_name"] == "Акт.pdf"
    stored = telegram.files.get(document["file_id"])
    assert stored is not None
    assert stored.data == PDF


async def test_an_attachment_gone_from_okdesk_is_a_permanent_failure(
    notifier: TelegramNotifier, person: EmulatedUser
) -> None:
    outcome = await notifier.send(person.chat_id, document_notice(999_999))

    assert isinstance(outcome, PermanentFailure)
    assert outcome.reason.startswith("Okdesk: ")
    assert person.bot_messages() == []


async def test_okdesk_unavailable_for_a_document_is_temporary(
    notifier: TelegramNotifier, person: EmulatedUser, okdesk: OkdeskEmulator
) -> None:
    [attachment] = await okdesk.attach_files(1, [FileUpload("act.pdf", PDF, is_public=True)])
    okdesk.faults.fail_next(10, status=503)

    outcome = await notifier.send(person.chat_id, document_notice(attachment.id))

    assert isinstance(outcome, TemporaryFailure)
    assert outcome.reason.startswith("Okdesk: ")
    assert person.bot_messages() == []

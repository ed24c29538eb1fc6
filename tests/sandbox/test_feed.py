"""What the page is told about the chat and the webhook log."""

from __future__ import annotations

from typing import Any

from okdesk_bot.sandbox.feed import current_keyboard, mask_secret, webhooks_part

MENU = {"keyboard": [[{"text": "📝 Создать заявку"}]], "resize_keyboard": True}
SHARE = {"keyboard": [[{"text": "📱 Отправить номер", "request_contact": True}]]}
INLINE = {"inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]}


def bot(markup: dict[str, Any] | None) -> dict[str, Any]:
    return {"from_bot": True, "reply_markup": markup}


def person(markup: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"from_bot": False, "reply_markup": markup}


def test_the_keyboard_is_the_one_the_newest_bot_message_set() -> None:
    assert current_keyboard([bot(SHARE), person(), bot(MENU)]) == MENU
    assert current_keyboard([bot(MENU), bot(None), bot(INLINE), person()]) == MENU


def test_a_removed_keyboard_is_gone_until_another_comes() -> None:
    removed = {"remove_keyboard": True}
    assert current_keyboard([bot(MENU), bot(removed)]) is None
    assert current_keyboard([bot(MENU), bot(removed), bot(SHARE)]) == SHARE


def test_no_keyboard_without_one_from_the_bot() -> None:
    assert current_keyboard([]) is None
    assert current_keyboard([bot(INLINE), person(MENU)]) is None


def test_the_webhook_secret_never_reaches_the_page() -> None:
    url = "http://127.0.0.1:9000/webhook?secret=s3cr3t-value&x=1"
    assert mask_secret(url) == "http://127.0.0.1:9000/webhook?secret=***&x=1"
    deliveries = [{"url": url, "event_type": "new_comment"}, {"url": url, "event_type": "new"}]
    shown = webhooks_part(deliveries)
    assert [delivery["event_type"] for delivery in shown] == ["new", "new_comment"]
    assert "s3cr3t" not in repr(shown)

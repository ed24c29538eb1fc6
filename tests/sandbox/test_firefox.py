"""The sandbox page in Debian's headless Firefox ESR: the same journey as in Chromium.

Firefox is driven over WebDriver BiDi (`tests.sandbox.firefox`), acting through the page's own
DOM: buttons are clicked and forms submitted as the page's handlers expect. Without Firefox the
test is skipped, or fails when `CI` is set. The final screen is saved as
`test-artifacts/sandbox-firefox.png`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from okdesk_bot.sandbox import Sandbox
from tests.sandbox.firefox import FIREFOX, FirefoxPage, firefox_page
from tests.sandbox.test_browser import (
    ARTIFACTS,
    PRIVATE_COMMENT,
    PUBLIC_COMMENT,
    STATUS_COMMENT,
    TICKET_TEXT,
    wait_until_settled,
)

READING_PAUSE = 1.0  # as in the Chromium test: a person reads before acting (1 msg/s per chat)


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[FirefoxPage]:
    if not FIREFOX.exists():
        reason = f"{FIREFOX} is missing: apt-get install firefox-esr (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    async with firefox_page(tmp_path / "profile", width=1280, height=800) as opened:
        yield opened


def _js(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _button(scope: str, text: str) -> str:
    return (
        f"[...document.querySelectorAll({_js(scope + ' button')})]"
        f".find(button => button.textContent.includes({_js(text)}))"
    )


def _bot_said(text: str) -> str:
    return (
        "[...document.querySelectorAll('#messages .message.theirs')]"
        f".some(message => message.textContent.includes({_js(text)}))"
    )


async def _read(page: FirefoxPage, condition: str, what: str) -> None:
    await page.wait_for(condition, what=what)
    await asyncio.sleep(READING_PAUSE)


async def _press(page: FirefoxPage, scope: str, text: str) -> None:
    await _read(page, _button(scope, text), f"a button «{text}» in {scope}")
    await page.evaluate(f"{_button(scope, text)}.click()")


async def _fill(page: FirefoxPage, selector: str, text: str) -> None:
    await page.evaluate(
        f"(field => {{ field.value = {_js(text)};"
        " field.dispatchEvent(new Event('input', {bubbles: true})); })"
        f"(document.querySelector({_js(selector)}))"
    )


async def _submit(page: FirefoxPage, form: str) -> None:
    await page.evaluate(f"document.querySelector({_js(form)}).requestSubmit()")


async def _write(page: FirefoxPage, text: str) -> None:
    await _fill(page, "#message-input", text)
    await _submit(page, "#composer")


async def test_a_client_and_support_talk_through_the_real_bot_in_firefox(
    sandbox: Sandbox, page: FirefoxPage
) -> None:
    await page.navigate(sandbox.url)
    await page.wait_for(
        "document.querySelector('#connection').textContent.trim() === '● На связи'",
        what="the live connection",
    )

    # Registration as an individual, then a ticket from one message.
    await page.evaluate("document.querySelector('#start-button').click()")
    await _press(page, "#messages", "👤 Физическое лицо")
    await _read(page, _bot_said("фамилию, имя и отчество"), "the question for the name")
    await _write(page, "Иванова Мария Сергеевна")
    await _press(page, "#reply-keyboard", "📱 Отправить номер")
    await _read(page, _bot_said("Готово"), "the end of registration")
    await _press(page, "#reply-keyboard", "📝 Создать заявку")
    await _read(page, _bot_said("Опишите проблему одним сообщением"), "the ticket prompt")
    await _write(page, TICKET_TEXT)
    await page.wait_for(_bot_said("создана"), what="the new ticket's number")
    created = await page.evaluate(
        "[...document.querySelectorAll('#messages .message.theirs')]"
        ".map(message => message.textContent).find(text => text.includes('создана'))"
    )
    number = int(re.search(r"№(\d+)", created).group(1))  # type: ignore[union-attr]
    before_support = await page.evaluate(
        "document.querySelectorAll('#messages .message.theirs').length"
    )

    # Support: a status change with a public comment, a private comment, a public one.
    await _press(page, "#ticket-list", f"№{number}")
    await page.wait_for(
        f"document.querySelector('#ticket-title').textContent.includes({_js(f'№{number}')})",
        what="the ticket's card",
    )
    await page.evaluate(
        "(select => { select.value = [...select.options]"
        ".find(option => option.text === 'В работе').value; })"
        "(document.querySelector('#status-select'))"
    )
    await _fill(page, "#status-comment", STATUS_COMMENT)
    await _submit(page, "#status-form")
    await page.wait_for(
        "document.querySelector('#ticket-status').textContent.trim() === 'В работе'",
        what="the new status on the card",
    )
    for text, visibility in ((PRIVATE_COMMENT, "private"), (PUBLIC_COMMENT, "public")):
        await _fill(page, "#comment-text", text)
        await page.evaluate(
            f"document.querySelector('#comment-form input[value={visibility}]').checked = true"
        )
        await _submit(page, "#comment-form")
        await page.wait_for(
            f"[...document.querySelectorAll('.comment.{visibility}')]"
            f".some(comment => comment.textContent.includes({_js(text)}))",
            what=f"the {visibility} comment on the card",
        )

    await page.wait_for(_bot_said(PUBLIC_COMMENT), what="the comment's notice")
    await wait_until_settled(sandbox)
    await asyncio.sleep(0.5)  # one more round of the page's live updates
    notices = await page.evaluate(
        "[...document.querySelectorAll('#messages .message.theirs')]"
        f".slice({before_support}).map(message => message.textContent)"
    )
    assert len(notices) == 2, notices
    status_notice, comment_notice = notices
    assert f"№{number}" in status_notice
    assert "В работе" in status_notice
    assert STATUS_COMMENT in status_notice
    assert PUBLIC_COMMENT in comment_notice
    assert PRIVATE_COMMENT not in await page.evaluate(
        "document.querySelector('#messages').textContent"
    )
    await page.wait_for(
        "document.querySelectorAll('#toasts .toast').length === 0",
        what="support's confirmations to fade",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(ARTIFACTS / "sandbox-firefox.png")
    assert page.console_problems == []

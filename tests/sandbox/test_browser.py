"""The sandbox page in Debian's headless Chromium: a client and support, end to end.

Playwright drives `/usr/bin/chromium` (never a browser of its own: `playwright install` cannot
download here). Without Chromium the test is skipped, or fails when `CI` is set. The final
screen is saved as `test-artifacts/sandbox.png`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Locator, Page, Request, async_playwright, expect

from okdesk_bot.sandbox import Sandbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STEP_TIMEOUT_MS = 15_000
READING_PAUSE_MS = 1_000
"""A person reads each answer before acting. Telegram allows a bot about one message a second
per chat (the emulator enforces it with a burst of three), and the bot's direct replies are not
retried after a 429, so a client acting at machine speed would lose some of them."""

TICKET_TEXT = "Не работает интернет в офисе. Роутер мигает красным с утра."
STATUS_COMMENT = "Взяли в работу, инженер выезжает."
PRIVATE_COMMENT = "Внутреннее: взять новый роутер со склада."
PUBLIC_COMMENT = "Роутер заменили, проверьте, пожалуйста, интернет."


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def page(chromium: Path, tmp_path: Path) -> AsyncIterator[Page]:
    """A laptop-sized page in a fresh browser profile."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
            locale="ru-RU",
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


def bot_message(page: Page, text: str) -> Locator:
    return page.locator("#messages .message.theirs", has_text=text)


async def wait_until_settled(sandbox: Sandbox, timeout: float = 20) -> None:
    """Until the bot has processed every webhook and sent every queued notice."""
    settings = sandbox.service.settings
    async with (
        httpx.AsyncClient(base_url=f"http://{settings.host}:{settings.port}") as client,
        asyncio.timeout(timeout),
    ):
        while True:
            components = (await client.get("/health")).json()["components"]
            if components["webhooks"]["inbox_pending"] == 0 and components["outbox"]["depth"] == 0:
                return
            await asyncio.sleep(0.2)


async def read(page: Page, answer: Locator) -> None:
    """Wait for the bot's answer and read it, as a person would before acting."""
    await expect(answer).to_be_visible()
    await page.wait_for_timeout(READING_PAUSE_MS)


async def register_as_individual(page: Page) -> None:
    await page.get_by_role("button", name="Начать (/start)").click()
    choice = page.get_by_role("button", name="👤 Физическое лицо")
    await read(page, choice)
    await choice.click()
    await read(page, bot_message(page, "фамилию, имя и отчество"))
    await page.get_by_role("textbox", name="Сообщение").fill("Иванова Мария Сергеевна")
    await page.get_by_role("textbox", name="Сообщение").press("Enter")
    share = page.get_by_role("group", name="Клавиатура бота").get_by_role(
        "button", name="📱 Отправить номер"
    )
    await read(page, share)
    await share.click()
    await read(page, bot_message(page, "Готово"))


async def create_ticket(page: Page) -> int:
    """A ticket from one message, through the menu; returns its number."""
    keyboard = page.get_by_role("group", name="Клавиатура бота")
    await keyboard.get_by_role("button", name="📝 Создать заявку").click()
    await read(page, bot_message(page, "Опишите проблему одним сообщением"))
    await page.get_by_role("textbox", name="Сообщение").fill(TICKET_TEXT)
    await page.get_by_role("button", name="Отправить", exact=True).click()
    created = bot_message(page, "создана")
    await expect(created).to_be_visible()
    number = (await created.inner_text()).split("№", 1)[1].split()[0].rstrip(":")
    return int(number)


async def answer_as_support(page: Page, number: int) -> None:
    """Status with a public comment, then a private comment, then a public one."""
    support = page.locator("#support-pane")
    await (
        support.get_by_role("list", name="Заявки").get_by_role("button", name=f"№{number}").click()
    )
    await expect(support.locator("#ticket-title")).to_contain_text(f"№{number}")

    await support.get_by_label("Новый статус").select_option(label="В работе")
    await support.get_by_label("Комментарий к смене статуса").fill(STATUS_COMMENT)
    await support.get_by_role("button", name="Сменить статус").click()
    await expect(support.locator("#ticket-status")).to_have_text("В работе")

    comment_form = support.locator("#comment-form")
    await comment_form.get_by_label("Текст комментария").fill(PRIVATE_COMMENT)
    await comment_form.get_by_label("Приватный").check()
    await comment_form.get_by_role("button", name="Отправить комментарий").click()
    await expect(support.locator(".comment.private", has_text=PRIVATE_COMMENT)).to_be_visible()

    await comment_form.get_by_label("Текст комментария").fill(PUBLIC_COMMENT)
    await comment_form.get_by_label("Публичный").check()
    await comment_form.get_by_role("button", name="Отправить комментарий").click()
    await expect(support.locator(".comment.public", has_text=PUBLIC_COMMENT)).to_be_visible()


async def test_a_client_and_support_talk_through_the_real_bot(
    sandbox: Sandbox, page: Page
) -> None:
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: _record(requests, request))
    page.on("console", lambda message: _console_problem(problems, message))
    page.on("pageerror", lambda error: problems.append(str(error)))

    await page.goto(sandbox.url)
    await expect(page.locator("#connection")).to_have_text("● На связи")
    await register_as_individual(page)
    number = await create_ticket(page)
    before_support = await page.locator("#messages .message.theirs").count()

    await answer_as_support(page, number)
    await expect(bot_message(page, PUBLIC_COMMENT)).to_be_visible()
    await wait_until_settled(sandbox)
    await page.wait_for_timeout(500)  # one more round of the page's live updates

    notices = page.locator("#messages .message.theirs")
    texts = [
        await notices.nth(i).inner_text() for i in range(before_support, await notices.count())
    ]
    assert len(texts) == 2, texts
    status_notice, comment_notice = texts
    assert f"№{number}" in status_notice
    assert "В работе" in status_notice
    assert STATUS_COMMENT in status_notice
    assert f"№{number}" in comment_notice
    assert PUBLIC_COMMENT in comment_notice
    await expect(page.locator("#messages")).not_to_contain_text(PRIVATE_COMMENT)

    views = page.get_by_role("group", name="Разделы поддержки")
    await views.get_by_role("button", name="Вебхуки").click()
    log = page.get_by_role("list", name="Журнал вебхуков")
    await expect(log.get_by_role("listitem")).to_have_count(4)  # new ticket, status, 2 comments
    await expect(log.get_by_text("✓ HTTP 200")).to_have_count(4)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "sandbox-webhooks.png")

    await views.get_by_role("button", name="Заявки").click()
    await page.locator("#ticket-detail").evaluate("detail => detail.scrollTo(0, 0)")
    await expect(page.locator("#toasts .toast")).to_have_count(0)  # support's confirmations fade
    await page.screenshot(path=ARTIFACTS / "sandbox.png")
    assert all(url.startswith((sandbox.url, "data:")) for url in requests), requests
    assert problems == []


def _record(requests: list[str], request: Request) -> None:
    requests.append(request.url)


def _console_problem(problems: list[str], message: ConsoleMessage) -> None:
    if message.type in {"error", "warning"}:
        problems.append(f"{message.type}: {message.text}")

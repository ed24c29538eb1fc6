"""`okdesk-bot outbox`: an admin sees the queue and sends dead letters again."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot import cli
from okdesk_bot.db.base import utcnow
from okdesk_bot.db.models import OutboxStatus
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import TelegramEmulator
from tests.notifications.sender_support import (
    FAST,
    enqueue,
    eventually,
    outbox,
    people,
    running_sender,
    text_notice,
    texts_in,
)

Sessions = async_sessionmaker[AsyncSession]


async def okdesk_bot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the command line as an admin would (its own event loop, in a thread)."""
    code = await asyncio.to_thread(cli.main, list(args))
    return code, capsys.readouterr().out


@pytest.fixture
def database_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.mark.usefixtures("database_env")
async def test_status_lists_and_retries_dead_letters_by_id(
    session_factory: Sessions, capsys: pytest.CaptureFixture[str]
) -> None:
    for chat in (1, 2, 3):
        await enqueue(session_factory, chat, text_notice("Статус"), key=str(chat))
    async with UnitOfWork(session_factory) as uow:
        first, second, third = await uow.outbox.claim_due(limit=3, now=utcnow(), lease=FAST.lease)
        await uow.outbox.mark_dead(second.id, reason="Telegram: Bad Request: chat not found")
        await uow.outbox.park_chat(third.chat_id, reason="the user blocked the bot")
        await uow.commit()

    code, shown = await okdesk_bot(capsys, "outbox")
    assert code == 0
    assert "to send: 1 (the oldest waits for " in shown
    assert "parked:  1 " in shown
    assert "dead:    1 " in shown

    code, shown = await okdesk_bot(capsys, "outbox", "dead")
    assert code == 0
    assert f"#{second.id}  chat 2  issue 1" in shown
    assert "attempts: 1\n    Telegram: Bad Request: chat not found" in shown

    code, shown = await okdesk_bot(capsys, "outbox", "retry", str(second.id), str(first.id))
    assert code == 1
    assert shown == (
        "✓ 1 dead letter(s) queued again\n✗ 1 of the given ids are not dead letters\n"
    )
    code, shown = await okdesk_bot(capsys, "outbox")
    assert "to send: 2 " in shown
    assert "dead:    0\n" in shown


@pytest.mark.usefixtures("database_env")
async def test_a_notice_that_ran_out_of_attempts_is_delivered_after_a_retry(
    session_factory: Sessions,
    telegram: TelegramEmulator,
    okdesk: OkdeskEmulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    [person] = await people(telegram, 1)
    telegram.faults.fail_next(2, status=500, methods=["sendMessage"])
    await enqueue(session_factory, person.chat_id, text_notice("Заявка решена"), key="only")

    async def status_is(status: OutboxStatus) -> bool:
        return [row.status for row in await outbox(session_factory)] == [status]

    policy = replace(FAST, max_attempts=2)
    async with running_sender(session_factory, telegram, okdesk, policy=policy):
        await eventually(lambda: status_is(OutboxStatus.DEAD), what="a dead letter")
        [dead] = await outbox(session_factory)
        assert dead.last_error == "gave up after 2 attempts: Telegram: Internal Server Error"
        assert texts_in(telegram, person.chat_id) == []

        code, shown = await okdesk_bot(capsys, "outbox", "retry", "--all")
        assert (code, shown) == (0, "✓ 1 dead letter(s) queued again\n")
        await eventually(lambda: status_is(OutboxStatus.SENT), what="the retried notice sent")

    assert texts_in(telegram, person.chat_id) == ["Заявка решена"]


@pytest.mark.usefixtures("database_env")
async def test_an_empty_outbox_has_no_dead_letters(capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = await okdesk_bot(capsys, "outbox", "dead")
    assert (code, shown) == (0, "No dead letters.\n")


async def test_a_database_without_the_schema_is_explained(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)

    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(cli.main, ["outbox"])

    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith("✗ database: ")
    assert "okdesk-bot db upgrade" in error

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.models import TicketState
from okdesk_bot.db.uow import UnitOfWork

CHAT_ID = 9_000_000_000_000
PAYLOAD: dict[str, Any] = {
    "text": "Не печатает принтер <b>в 3-м кабинете</b> & сканер тоже",
    "attachments": [{"file_id": "AgAC-1", "kind": "photo", "size": 120_345}],
}


async def _user_id(uow: UnitOfWork, telegram_id: int = CHAT_ID) -> int:
    return (await uow.users.get_or_create(telegram_id, chat_id=telegram_id)).id


async def test_one_telegram_message_makes_at_most_one_ticket(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        user_id = await _user_id(uow)
        first = await uow.tickets.create_draft(
            user_id=user_id, dedup_key=f"{CHAT_ID}:10", title="Принтер", payload=PAYLOAD
        )
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        repeated = await uow.tickets.create_draft(
            user_id=user_id, dedup_key=f"{CHAT_ID}:10", title="Other", payload={"text": "x"}
        )
        tickets = await uow.tickets.list_for_user(user_id)

    assert first.created
    assert not repeated.created
    assert repeated.ticket.id == first.ticket.id
    assert (repeated.ticket.title, repeated.ticket.payload) == ("Принтер", PAYLOAD)
    assert repeated.ticket.state is TicketState.DRAFT
    assert len(tickets) == 1


async def test_submission_life_cycle(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(session_factory) as uow:
        user_id = await _user_id(uow)
        draft = await uow.tickets.create_draft(
            user_id=user_id, dedup_key="1:1", title="Принтер", payload=PAYLOAD
        )
        ticket_id = draft.ticket.id
        assert await uow.tickets.mark_submitting(ticket_id)
        assert not await uow.tickets.mark_submitting(ticket_id), "already being submitted"
        await uow.tickets.mark_failed(ticket_id, error="Okdesk answered 503")
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        failed = await uow.tickets.get(ticket_id)
        assert failed is not None
        assert (failed.state, failed.last_error) == (TicketState.FAILED, "Okdesk answered 503")
        assert failed.payload == PAYLOAD, "the draft survives for a retry"
    async with UnitOfWork(session_factory) as uow:
        assert await uow.tickets.mark_submitting(ticket_id), "a failed ticket can be retried"
        await uow.tickets.mark_created(ticket_id, okdesk_issue_id=8_000_000_123)
        await uow.commit()
    async with UnitOfWork(session_factory) as uow:
        created = await uow.tickets.get_by_okdesk_issue_id(8_000_000_123)
        assert not await uow.tickets.mark_submitting(ticket_id), "never submitted twice"

    assert created is not None
    assert created.id == ticket_id
    assert (created.state, created.last_error) == (TicketState.CREATED, None)


async def test_tickets_are_listed_per_user_newest_first(uow: UnitOfWork) -> None:
    mine = await _user_id(uow, 1)
    other = await _user_id(uow, 2)
    for message_id, user_id in ((1, mine), (2, other), (3, mine), (4, mine)):
        await uow.tickets.create_draft(
            user_id=user_id,
            dedup_key=f"{user_id}:{message_id}",
            title=f"#{message_id}",
            payload={},
        )

    listed = await uow.tickets.list_for_user(mine, limit=2)

    assert [ticket.title for ticket in listed] == ["#4", "#3"]
    assert await uow.tickets.get_by_dedup_key("missing") is None

"""The tickets use case against the Okdesk emulator (real client, real HTTP on 127.0.0.1) and
the database (SQLite and PostgreSQL).

Seed: contact 1 (Анна, company 1) has ticket 1 (in progress) with public comments 1, 2 and a
later private comment 3; contact 2 (Алексей, company 2) has ticket 2 (completed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.db.models import TicketState, User, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.okdesk import (
    Comment,
    Issue,
    IssueCreate,
    OkdeskAuthError,
    OkdeskClient,
    OkdeskError,
    OkdeskForbiddenError,
    OkdeskProtocolError,
    OkdeskRateLimitedError,
    OkdeskServerError,
    OkdeskTimeoutError,
    OkdeskValidationError,
    Status,
    Upload,
)
from okdesk_bot.services.errors import NotRegisteredError, TicketAccessDeniedError
from okdesk_bot.services.files import MAX_FILE_BYTES, IncomingFile
from okdesk_bot.services.tickets import (
    DraftBusyError,
    DraftNotFoundError,
    OkdeskFailureError,
    Sender,
    StatusCatalog,
    SubmissionFailedError,
    TicketMessage,
    TicketRateLimitError,
    TicketReader,
    TicketSubmission,
    build_description,
    failure_text_key,
    is_open,
    last_public_comment,
)
from tests.support import OKDESK_TOKEN
from tests.unit.services.files_support import FakeFiles

ANNA = Sender(telegram_id=7_000_000_001, full_name="Анна <Смирнова>", username="anna_s")
PHOTO = IncomingFile("photo", "photo-1", "photo_5.jpg", "image/jpeg", 4)
PHOTO_FILES = {PHOTO.file_id: b"\x89PNG"}
HUGE = IncomingFile(
    "document", "huge-1", "backup & logs.zip", "application/zip", MAX_FILE_BYTES + 1
)


def message(
    text: str = "Не работает почта. Письма не уходят",
    *,
    key: str = "7000000001:5",
    files: Sequence[IncomingFile] = (),
) -> TicketMessage:
    return TicketMessage(dedup_key=key, text=text, files=tuple(files), sender=ANNA)


class AnswerLostClient(OkdeskClient):
    """Okdesk creates the issue but its answer never arrives (a timeout after the POST)."""

    async def create_issue(self, issue: IssueCreate, attachments: Sequence[Upload] = ()) -> Issue:
        await super().create_issue(issue, attachments)
        raise OkdeskTimeoutError("no answer in time", outcome_unknown=True)


@pytest.fixture
async def client(okdesk: OkdeskEmulator) -> AsyncIterator[OkdeskClient]:
    async with OkdeskClient(okdesk.api_url, OKDESK_TOKEN, max_retries=0) as okdesk_client:
        yield okdesk_client


@pytest.fixture
async def lossy_client(okdesk: OkdeskEmulator) -> AsyncIterator[OkdeskClient]:
    async with AnswerLostClient(okdesk.api_url, OKDESK_TOKEN, max_retries=0) as okdesk_client:
        yield okdesk_client


@pytest.fixture
async def anna(session_factory: async_sessionmaker[AsyncSession]) -> User:
    async with UnitOfWork(session_factory) as uow:
        await uow.users.get_or_create(ANNA.telegram_id, chat_id=ANNA.telegram_id)
        user = await uow.users.save_binding(
            ANNA.telegram_id,
            kind=UserKind.LEGAL,
            phone="+79991234567",
            okdesk_contact_id=1,
            okdesk_company_id=1,
            registered_at=datetime.now(UTC),
        )
        await uow.commit()
    return user


def submission(
    uow: UnitOfWork, client: OkdeskClient, files: FakeFiles | None = None, *, limit: int = 10
) -> TicketSubmission:
    return TicketSubmission(
        uow=uow, okdesk=client, files=files or FakeFiles(PHOTO_FILES), tickets_per_hour=limit
    )


def issues_with(okdesk: OkdeskEmulator, marker: str) -> list[int]:
    return [i.id for i in okdesk.state.issues.values() if marker in i.description]


# --------------------------------------------------------------------------------------------
# Pure parts


def test_description_holds_the_escaped_text_the_sender_and_the_marker() -> None:
    described = build_description(message("a < b && c\nвторая строка", files=[HUGE]))

    assert described.startswith("a &lt; b &amp;&amp; c<br>вторая строка")
    assert "Анна &lt;Смирнова&gt; (@anna_s), Telegram ID 7000000001" in described
    assert "[tg:7000000001:5]" in described
    assert "«backup &amp; logs.zip» (20,0 МБ) не приложен" in described


def test_an_album_grows_once_per_item_and_joins_the_captions() -> None:
    first = message("Сломался монитор", key="1:g9", files=[PHOTO])
    second_photo = IncomingFile("photo", "photo-2", "photo_6.jpg", "image/jpeg", 4)
    second = message("Вот ещё ракурс", key="1:g9", files=[second_photo])

    album = first.merged_with(second)

    assert [file.file_id for file in album.files] == ["photo-1", "photo-2"]
    assert album.text == "Сломался монитор\n\nВот ещё ракурс"
    assert album.merged_with(second) == album  # the same item delivered again
    assert album.title == "Сломался монитор"


def test_a_message_without_text_is_titled_by_its_file() -> None:
    document = IncomingFile("document", "d", "invoice.pdf", "application/pdf", 10)
    assert message("", files=[document]).title == "Документ: invoice.pdf"
    assert message("", files=[PHOTO]).title == "Фото от клиента"


def test_open_and_closed_come_from_the_reference_not_from_names() -> None:
    reference = {
        "done_here": Status(code="done_here", name="Сделано", is_final=True),
        "opened": Status(code="opened", name="Открыта", is_final=False),
    }

    def issue(code: str, **status: object) -> Issue:
        return Issue.model_validate({"id": 1, "status": {"code": code, **status}})

    assert not is_open(issue("done_here"), reference)
    assert is_open(issue("opened"), reference)
    assert not is_open(issue("custom", final=True), reference)  # unknown: its own flag
    assert is_open(issue("closed"), reference)  # unknown and unflagged: a name proves nothing


def test_the_last_public_comment_ignores_private_ones() -> None:
    comments = [
        Comment.model_validate(
            {"id": 1, "content": "old", "public": True, "published_at": "2025-01-20T10:00:00Z"}
        ),
        Comment.model_validate(
            {"id": 2, "content": "new", "public": True, "published_at": "2025-01-20T11:00:00Z"}
        ),
        Comment.model_validate(
            {"id": 3, "content": "secret", "public": False, "published_at": "2025-01-20T12:00Z"}
        ),
    ]
    last = last_public_comment(comments)
    assert last is not None
    assert last.content == "new"
    assert last_public_comment(comments[2:]) is None


@pytest.mark.parametrize(
    ("error", "text_key"),
    [
        (OkdeskServerError("502"), "ticket-okdesk-unavailable"),
        (OkdeskTimeoutError("slow"), "ticket-okdesk-unavailable"),
        (OkdeskRateLimitedError("429"), "ticket-okdesk-unavailable"),
        (OkdeskAuthError("401"), "ticket-okdesk-forbidden"),
        (OkdeskForbiddenError("403"), "ticket-okdesk-forbidden"),
        (OkdeskValidationError("422"), "ticket-okdesk-rejected"),
        (OkdeskProtocolError("garbage"), "ticket-okdesk-failed"),
    ],
)
def test_okdesk_failures_map_to_plain_explanations(error: OkdeskError, text_key: str) -> None:
    assert failure_text_key(error) == text_key


async def test_the_statuses_reference_is_cached_for_its_ttl(client: OkdeskClient) -> None:
    calls = 0
    now = 0.0

    class CountingClient:
        async def list_statuses(self) -> list[Status]:
            nonlocal calls
            calls += 1
            return await client.list_statuses()

    catalog = StatusCatalog(ttl=60, clock=lambda: now)
    counting = cast(OkdeskClient, CountingClient())
    first = await catalog.load(counting)
    await catalog.load(counting)
    assert calls == 1
    now = 61.0
    await catalog.load(counting)
    assert calls == 2
    assert first["completed"].is_final is True


# --------------------------------------------------------------------------------------------
# Creating tickets


async def test_a_message_becomes_one_ticket_of_the_contact_and_company(
    uow: UnitOfWork, client: OkdeskClient, okdesk: OkdeskEmulator, anna: User
) -> None:
    files = FakeFiles(PHOTO_FILES)
    created = await submission(uow, client, files).create(anna, message(files=[PHOTO, HUGE]))

    issue = okdesk.state.issue(created.issue_id)
    assert (issue.contact_id, issue.company_id) == (1, 1)
    assert issue.title == created.title == "Не работает почта"
    attachments = okdesk.state.attachments_by_ids(issue.attachment_ids)
    assert [(a.file_name, a.content) for a in attachments] == [("photo_5.jpg", b"\x89PNG")]
    assert files.fetched == ["photo-1"]  # the huge file is not even downloaded
    assert created.skipped_files == (HUGE,)


async def test_the_same_message_twice_makes_one_ticket(
    session_factory: async_sessionmaker[AsyncSession],
    client: OkdeskClient,
    okdesk: OkdeskEmulator,
    anna: User,
) -> None:
    async with UnitOfWork(session_factory) as uow:
        first = await submission(uow, client).create(anna, message())
    async with UnitOfWork(session_factory) as uow:  # Telegram delivers the update again
        again = await submission(uow, client).create(anna, message())

    assert again.repeated
    assert again.issue_id == first.issue_id
    assert issues_with(okdesk, "[tg:7000000001:5]") == [first.issue_id]


async def test_a_lost_answer_is_found_in_okdesk_instead_of_posting_twice(
    uow: UnitOfWork, lossy_client: OkdeskClient, okdesk: OkdeskEmulator, anna: User
) -> None:
    created = await submission(uow, lossy_client).create(anna, message())

    assert issues_with(okdesk, "[tg:7000000001:5]") == [created.issue_id]
    ticket = await uow.tickets.get_by_dedup_key("7000000001:5")
    assert ticket is not None
    assert (ticket.state, ticket.okdesk_issue_id) == (TicketState.CREATED, created.issue_id)


async def test_a_failed_draft_is_kept_and_sent_again_once(
    session_factory: async_sessionmaker[AsyncSession],
    client: OkdeskClient,
    okdesk: OkdeskEmulator,
    anna: User,
) -> None:
    okdesk.faults.fail_next(1, status=502, method="POST", path_prefix="/api/v1/issues")
    async with UnitOfWork(session_factory) as uow:
        with pytest.raises(SubmissionFailedError) as failure:
            await submission(uow, client).create(anna, message())
    assert failure.value.text_key == "ticket-okdesk-unavailable"
    assert issues_with(okdesk, "[tg:7000000001:5]") == []

    async with UnitOfWork(session_factory) as uow:
        created = await submission(uow, client).submit(anna, failure.value.draft_id)
    async with UnitOfWork(session_factory) as uow:
        again = await submission(uow, client).submit(anna, failure.value.draft_id)

    assert issues_with(okdesk, "[tg:7000000001:5]") == [created.issue_id]
    assert again.repeated


async def test_a_retry_finds_the_ticket_an_unanswered_attempt_created(
    session_factory: async_sessionmaker[AsyncSession],
    client: OkdeskClient,
    okdesk: OkdeskEmulator,
    anna: User,
) -> None:
    async with UnitOfWork(session_factory) as uow:
        draft = await submission(uow, client).save_draft(anna, message())
        await uow.tickets.mark_submitting(draft.draft_id)
        await uow.tickets.mark_failed(draft.draft_id, error="OkdeskTimeoutError")
        await uow.commit()
    existing = await client.create_issue(  # what the unanswered attempt did create
        IssueCreate(title=draft.title, description="… [tg:7000000001:5]", contact_id=1)
    )

    async with UnitOfWork(session_factory) as uow:
        created = await submission(uow, client).submit(anna, draft.draft_id)

    assert created.issue_id == existing.id
    assert issues_with(okdesk, "[tg:7000000001:5]") == [existing.id]


async def test_a_retry_without_okdesk_answering_posts_nothing(
    session_factory: async_sessionmaker[AsyncSession],
    client: OkdeskClient,
    okdesk: OkdeskEmulator,
    anna: User,
) -> None:
    async with UnitOfWork(session_factory) as uow:
        draft = await submission(uow, client).save_draft(anna, message())
        await uow.tickets.mark_submitting(draft.draft_id)
        await uow.tickets.mark_failed(draft.draft_id, error="OkdeskTimeoutError")
        await uow.commit()
    okdesk.faults.fail_next(1, status=503, method="GET", path_prefix="/api/v1/issues/list")

    async with UnitOfWork(session_factory) as uow:
        with pytest.raises(SubmissionFailedError):
            await submission(uow, client).submit(anna, draft.draft_id)

    assert issues_with(okdesk, "[tg:7000000001:5]") == []


async def test_a_submission_in_progress_is_not_started_twice_until_it_is_stale(
    session_factory: async_sessionmaker[AsyncSession],
    client: OkdeskClient,
    okdesk: OkdeskEmulator,
    anna: User,
) -> None:
    async with UnitOfWork(session_factory) as uow:
        draft = await submission(uow, client).save_draft(anna, message())
        await uow.tickets.mark_submitting(draft.draft_id)
        await uow.commit()

    async with UnitOfWork(session_factory) as uow:
        with pytest.raises(DraftBusyError):
            await submission(uow, client).submit(anna, draft.draft_id)
    later = datetime.now(UTC) + timedelta(minutes=11)  # the bot stopped mid-way long ago
    async with UnitOfWork(session_factory) as uow:
        late = TicketSubmission(
            uow=uow,
            okdesk=client,
            files=FakeFiles(PHOTO_FILES),
            tickets_per_hour=10,
            clock=lambda: later,
        )
        created = await late.submit(anna, draft.draft_id)

    assert issues_with(okdesk, "[tg:7000000001:5]") == [created.issue_id]


async def test_a_file_telegram_does_not_hand_over_keeps_the_draft(
    uow: UnitOfWork, client: OkdeskClient, okdesk: OkdeskEmulator, anna: User
) -> None:
    files = FakeFiles(PHOTO_FILES)
    files.broken = True
    with pytest.raises(SubmissionFailedError) as failure:
        await submission(uow, client, files).create(anna, message(files=[PHOTO]))

    assert failure.value.text_key == "ticket-file-unavailable"
    ticket = await uow.tickets.get(failure.value.draft_id)
    assert ticket is not None
    assert ticket.state is TicketState.FAILED


async def test_the_hourly_limit_stops_a_flood(
    uow: UnitOfWork, client: OkdeskClient, okdesk: OkdeskEmulator, anna: User
) -> None:
    tickets = submission(uow, client, limit=2)
    await tickets.create(anna, message("Первая", key="1:1"))
    await tickets.create(anna, message("Вторая", key="1:2"))
    with pytest.raises(TicketRateLimitError) as limited:
        await tickets.create(anna, message("Третья", key="1:3"))

    assert limited.value.limit == 2
    assert issues_with(okdesk, "[tg:1:3]") == []


async def test_someone_elses_draft_cannot_be_sent(
    session_factory: async_sessionmaker[AsyncSession], client: OkdeskClient, anna: User
) -> None:
    async with UnitOfWork(session_factory) as uow:
        draft = await submission(uow, client).save_draft(anna, message())
        other = await uow.users.get_or_create(42, chat_id=42)
        alexey = await uow.users.save_binding(
            42,
            kind=UserKind.INDIVIDUAL,
            phone="+79997654321",
            okdesk_contact_id=2,
            registered_at=datetime.now(UTC),
        )
        await uow.commit()
    assert other.id == alexey.id

    async with UnitOfWork(session_factory) as uow:
        with pytest.raises(DraftNotFoundError):
            await submission(uow, client).submit(alexey, draft.draft_id)
        with pytest.raises(NotRegisteredError):
            await submission(uow, client).submit(None, draft.draft_id)


# --------------------------------------------------------------------------------------------
# Reading tickets


async def test_the_list_puts_open_tickets_first_and_pages(
    client: OkdeskClient, okdesk: OkdeskEmulator, anna: User
) -> None:
    created = [
        (await okdesk.create_issue(f"Заявка {number}", contact_id=1, company_id=1)).id
        for number in range(7)
    ]
    await okdesk.change_status(created[-1], "completed")  # the newest one is closed
    reader = TicketReader(okdesk=client, statuses=StatusCatalog())

    first = await reader.page(anna, 0)
    second = await reader.page(anna, 1)

    assert (first.open_count, first.closed_count, first.pages) == (7, 1, 2)
    listed = [item.issue_id for item in first.items + second.items]
    assert sorted(listed) == sorted([1, *created])
    assert listed[-1] == created[-1]
    assert all(item.is_open for item in first.items)
    assert (await reader.page(anna, 99)).page == 1  # clamped


async def test_a_card_shows_the_last_public_comment(client: OkdeskClient, anna: User) -> None:
    card = await TicketReader(okdesk=client, statuses=StatusCatalog()).card(anna, 1)

    assert card.title == "Не печатает принтер в бухгалтерии"
    assert (card.status, card.is_open) == ("В работе", True)
    assert card.assignee
    assert card.last_comment is not None
    assert "Инженер приедет завтра" in card.last_comment.content


async def test_okdesk_down_while_reading_is_explained(
    client: OkdeskClient, okdesk: OkdeskEmulator, anna: User
) -> None:
    okdesk.faults.fail_next(1, status=503, method="GET", path_prefix="/api/v1/issues")
    with pytest.raises(OkdeskFailureError) as failure:
        await TicketReader(okdesk=client, statuses=StatusCatalog()).page(anna, 0)
    assert failure.value.text_key == "ticket-okdesk-unavailable"


async def test_a_card_of_another_contact_is_refused(client: OkdeskClient, anna: User) -> None:
    with pytest.raises(TicketAccessDeniedError):
        await TicketReader(okdesk=client, statuses=StatusCatalog()).card(anna, 2)

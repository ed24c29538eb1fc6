"""The comments use case against the Okdesk emulator (real client, real HTTP on 127.0.0.1).

Seed: ticket 1 is contact 1's (Анна, in progress) with public comments 1, 2 and private
comment 3; ticket 2 is contact 2's (Алексей, completed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from okdesk_bot.db.models import User
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.okdesk import (
    Comment,
    OkdeskClient,
    OkdeskTimeoutError,
    OkdeskValidationError,
    Upload,
)
from okdesk_bot.services.comments import (
    ALBUM_LIMIT,
    PENDING_LIMIT,
    AlbumDrafts,
    CommentDraft,
    CommentNotPostedError,
    CommentService,
    EmptyCommentError,
    FileTooBigError,
    NotPostedReason,
    OkdeskUnreachableError,
    PendingComment,
    PendingCommentGoneError,
    PendingComments,
)
from okdesk_bot.services.errors import NotRegisteredError, TicketAccessDeniedError
from okdesk_bot.services.files import MAX_FILE_BYTES, IncomingFile
from tests.support import OKDESK_TOKEN
from tests.unit.services.files_support import FakeFiles

PHOTO = IncomingFile("photo", "photo-ref", "photo_7.jpg", "image/jpeg", 4)
PHOTO_FILES = {PHOTO.file_id: b"\x89PNG"}


class MemoryStore:
    """A dialog-storage record in memory."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def get_data(self) -> dict[str, Any]:
        return dict(self.data)

    async def set_data(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)


class AnswerLostClient(OkdeskClient):
    """Okdesk applies a comment but its answer never arrives."""

    async def add_comment(
        self,
        issue_id: int,
        content_html: str,
        *,
        author_id: int,
        author_type: Literal["contact", "employee"] = "contact",
        public: bool = True,
        attachments: Sequence[Upload] = (),
    ) -> Comment:
        await super().add_comment(
            issue_id,
            content_html,
            author_id=author_id,
            author_type=author_type,
            public=public,
            attachments=attachments,
        )
        msg = "Okdesk did not answer in time"
        raise OkdeskTimeoutError(msg, outcome_unknown=True)


class RejectingClient(OkdeskClient):
    """Okdesk refuses every comment's data."""

    async def add_comment(
        self,
        issue_id: int,
        content_html: str,
        *,
        author_id: int,
        author_type: Literal["contact", "employee"] = "contact",
        public: bool = True,
        attachments: Sequence[Upload] = (),
    ) -> Comment:
        msg = "content is invalid"
        raise OkdeskValidationError(msg, status_code=422)


def client(okdesk: OkdeskEmulator, kind: type[OkdeskClient] = OkdeskClient) -> OkdeskClient:
    return kind(okdesk.api_url, OKDESK_TOKEN, max_retries=0, timeout=5)


@pytest.fixture
async def api(okdesk: OkdeskEmulator) -> AsyncIterator[OkdeskClient]:
    async with client(okdesk) as okdesk_client:
        yield okdesk_client


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def comments(api: OkdeskClient, store: MemoryStore) -> CommentService:
    return CommentService(api, PendingComments(store))


@pytest.fixture
def files() -> FakeFiles:
    return FakeFiles(PHOTO_FILES)


def person(contact_id: int | None = 1, *, registered: bool = True) -> User:
    return User(
        telegram_user_id=7_000_000_001,
        chat_id=7_000_000_001,
        okdesk_contact_id=contact_id,
        registered_at=datetime.now(UTC) if registered else None,
    )


def contents(okdesk: OkdeskEmulator, issue_id: int) -> list[str]:
    stored = sorted(okdesk.state.comments.values(), key=lambda each: each.id)
    return [each.content for each in stored if each.issue_id == issue_id]


# --- posting --------------------------------------------------------------------------------


async def test_text_is_posted_escaped_as_the_public_comment_of_the_contact(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles
) -> None:
    draft = CommentDraft(1, "  <b>Срочно</b> & быстро\nвторая строка  ")

    posted = await comments.post(person(), draft, files)

    assert (posted.issue.id, posted.already_posted) == (1, False)
    stored = okdesk.state.comments[posted.comment.id]
    assert stored.content == "&lt;b&gt;Срочно&lt;/b&gt; &amp; быстро<br>вторая строка"
    assert (stored.author.type, stored.author.id, stored.public) == ("contact", 1, True)


async def test_a_photo_goes_as_an_attachment_and_its_name_stands_in_for_missing_text(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles
) -> None:
    posted = await comments.post(person(), CommentDraft(1, files=(PHOTO,)), files)

    stored = okdesk.state.comments[posted.comment.id]
    assert stored.content == "📎 photo_7.jpg"
    [attachment] = [okdesk.state.attachments[each] for each in stored.attachment_ids]
    assert (attachment.file_name, attachment.content) == ("photo_7.jpg", b"\x89PNG")
    assert attachment.content_type == "image/jpeg"


async def test_an_empty_comment_is_refused(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles
) -> None:
    with pytest.raises(EmptyCommentError):
        await comments.post(person(), CommentDraft(1, " \n "), files)
    assert len(contents(okdesk, 1)) == 3


async def test_a_file_over_the_telegram_limit_is_refused_before_download(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles
) -> None:
    huge = IncomingFile("video", "huge", "video.mp4", "video/mp4", MAX_FILE_BYTES + 1)

    with pytest.raises(FileTooBigError):
        await comments.post(person(), CommentDraft(1, "видео", (huge,)), files)

    assert files.fetched == []
    assert len(contents(okdesk, 1)) == 3


async def test_a_file_of_unknown_size_over_the_limit_is_refused(
    comments: CommentService, okdesk: OkdeskEmulator
) -> None:
    unsized = IncomingFile("document", "big", "dump.bin", "application/octet-stream")
    refused = IncomingFile("document", "refused", "dump2.bin", "application/octet-stream")
    big = FakeFiles({"big": bytes(MAX_FILE_BYTES + 1)})  # Telegram refuses anything else

    for file in (unsized, refused):
        with pytest.raises(FileTooBigError):
            await comments.post(person(), CommentDraft(1, "дамп", (file,)), big)
    assert len(contents(okdesk, 1)) == 3


async def test_someone_elses_or_a_missing_ticket_is_refused(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles, store: MemoryStore
) -> None:
    for issue_id in (2, 999):
        with pytest.raises(TicketAccessDeniedError):
            await comments.post(person(), CommentDraft(issue_id, "чужое"), files)
    assert len(contents(okdesk, 2)) == 1
    assert store.data == {}


async def test_an_unregistered_person_can_do_nothing(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles
) -> None:
    with pytest.raises(NotRegisteredError):
        await comments.post(person(registered=False), CommentDraft(1, "текст"), files)
    with pytest.raises(NotRegisteredError):
        await comments.history(None, 1)
    assert len(contents(okdesk, 1)) == 3


# --- when Okdesk does not take it -----------------------------------------------------------


async def test_okdesk_down_keeps_the_comment_and_resend_posts_it_once(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles, store: MemoryStore
) -> None:
    okdesk.faults.fail_next(method="POST", path_prefix="/api/v1/issues/1/comments")

    with pytest.raises(CommentNotPostedError) as failure:
        await comments.post(person(), CommentDraft(1, "Не работает сканер"), files)

    assert failure.value.reason is NotPostedReason.OKDESK_UNAVAILABLE
    assert failure.value.issue_id == 1
    assert failure.value.text_key == "comment-not-posted-unavailable"
    assert "Не работает сканер" not in contents(okdesk, 1)

    posted = await comments.resend(person(), failure.value.pending_id, files)

    assert posted.already_posted is False
    assert contents(okdesk, 1).count("Не работает сканер") == 1
    with pytest.raises(PendingCommentGoneError):
        await comments.resend(person(), failure.value.pending_id, files)
    assert contents(okdesk, 1).count("Не работает сканер") == 1


async def test_a_comment_that_landed_although_the_answer_was_lost_is_not_sent_twice(
    okdesk: OkdeskEmulator, files: FakeFiles, store: MemoryStore
) -> None:
    async with client(okdesk, AnswerLostClient) as losing, client(okdesk) as working:
        with pytest.raises(CommentNotPostedError) as failure:
            await CommentService(losing, PendingComments(store)).post(
                person(), CommentDraft(1, "Бумага   кончилась"), files
            )
        assert contents(okdesk, 1).count("Бумага   кончилась") == 1

        posted = await CommentService(working, PendingComments(store)).resend(
            person(), failure.value.pending_id, files
        )

    assert posted.already_posted is True
    assert posted.comment.content == "Бумага   кончилась"
    assert contents(okdesk, 1).count("Бумага   кончилась") == 1
    assert store.data == {"pending": []}


async def test_a_file_telegram_cannot_give_now_keeps_the_comment(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles
) -> None:
    files.broken = True
    with pytest.raises(CommentNotPostedError) as failure:
        await comments.post(person(), CommentDraft(1, "фото", (PHOTO,)), files)
    assert failure.value.reason is NotPostedReason.FILE_UNAVAILABLE

    files.broken = False
    posted = await comments.resend(person(), failure.value.pending_id, files)

    assert len(okdesk.state.comments[posted.comment.id].attachment_ids) == 1


async def test_a_comment_okdesk_rejects_is_kept_with_its_own_reason(
    okdesk: OkdeskEmulator, files: FakeFiles, store: MemoryStore
) -> None:
    async with client(okdesk, RejectingClient) as rejecting:
        service = CommentService(rejecting, PendingComments(store))
        with pytest.raises(CommentNotPostedError) as failure:
            await service.post(person(), CommentDraft(1, "текст"), files)

    assert failure.value.reason is NotPostedReason.OKDESK_REJECTED
    assert failure.value.text_key == "comment-not-posted-rejected"
    kept = await PendingComments(store).get(failure.value.pending_id)
    assert kept is not None
    assert kept.draft == CommentDraft(1, "текст")


async def test_resending_to_a_ticket_that_is_not_yours_drops_the_comment(
    comments: CommentService, okdesk: OkdeskEmulator, files: FakeFiles, store: MemoryStore
) -> None:
    forged = PendingComment("abc", CommentDraft(2, "чужое"), datetime.now(UTC))
    await PendingComments(store).put(forged)

    with pytest.raises(TicketAccessDeniedError):
        await comments.resend(person(), "abc", files)

    assert await PendingComments(store).get("abc") is None
    assert len(contents(okdesk, 2)) == 1


async def test_discard_forgets_a_kept_comment(
    comments: CommentService, store: MemoryStore
) -> None:
    kept = PendingComment("abc", CommentDraft(1, "текст", (PHOTO,)), datetime.now(UTC))
    await PendingComments(store).put(kept)

    assert await comments.discard("abc") == kept
    assert await comments.discard("abc") is None


async def test_only_the_newest_unsent_comments_are_kept(store: MemoryStore) -> None:
    pending = PendingComments(store)
    for number in range(PENDING_LIMIT + 2):
        await pending.put(PendingComment(f"id{number}", CommentDraft(1, "x"), datetime.now(UTC)))

    assert await pending.get("id0") is None
    assert await pending.get("id1") is None
    assert await pending.get(f"id{PENDING_LIMIT + 1}") is not None


async def test_unreadable_stored_data_is_dropped_not_fatal(store: MemoryStore) -> None:
    store.data = {"pending": [{"id": 1, "draft": "nonsense"}], "other": "kept"}

    assert await PendingComments(store).get("1") is None
    await PendingComments(store).put(
        PendingComment("new", CommentDraft(1, "x"), datetime.now(UTC))
    )

    assert store.data["other"] == "kept"
    assert await PendingComments(store).get("new") is not None


async def test_an_album_is_gathered_into_one_draft_taken_once(store: MemoryStore) -> None:
    second = IncomingFile("photo", "second-ref", "photo_8.jpg", "image/jpeg", 4)
    albums = AlbumDrafts(store)
    await albums.add("chat:42", CommentDraft(1, files=(PHOTO,)))
    await albums.add("chat:42", CommentDraft(1, "подпись", (second,)))

    assert await albums.take("chat:42") == CommentDraft(1, "подпись", (PHOTO, second))
    assert await albums.take("chat:42") is None


async def test_only_the_newest_incomplete_albums_are_kept(store: MemoryStore) -> None:
    albums = AlbumDrafts(store)
    for number in range(ALBUM_LIMIT + 1):
        await albums.add(f"album{number}", CommentDraft(1, files=(PHOTO,)))

    assert await albums.take("album0") is None
    assert await albums.take(f"album{ALBUM_LIMIT}") is not None


# --- reading --------------------------------------------------------------------------------


async def test_history_is_public_comments_oldest_first(
    comments: CommentService, okdesk: OkdeskEmulator
) -> None:
    await okdesk.add_comment(1, "<p>Свежий</p>")
    await okdesk.add_comment(1, "<p>Внутренний</p>", public=False)

    history = await comments.history(person(), 1)

    assert [each.id for each in history.comments][:2] == [1, 2]
    assert [each.content for each in history.comments][-1] == "<p>Свежий</p>"
    assert all(each.public for each in history.comments)
    assert [history.is_own(each) for each in history.comments] == [True, False, False]


async def test_history_of_someone_elses_ticket_is_refused(comments: CommentService) -> None:
    with pytest.raises(TicketAccessDeniedError):
        await comments.history(person(), 2)


async def test_okdesk_down_while_reading_is_a_clear_error(
    comments: CommentService, okdesk: OkdeskEmulator
) -> None:
    okdesk.faults.fail_next(method="GET", path_prefix="/api/v1/issues/1")
    with pytest.raises(OkdeskUnreachableError):
        await comments.history(person(), 1)

    okdesk.faults.fail_next(method="GET", path_prefix="/api/v1/issues/1")
    with pytest.raises(OkdeskUnreachableError):
        await comments.ticket_for_comment(person(), 1)

"""End-to-end behaviour of the Okdesk client against the emulator and its bundled seed.

The seed (``okdesk_bot/emulators/okdesk/seed.json``): company 1 "ООО «Ромашка»" with INN
7701234560 in the custom parameter ``inn`` and contact 1 Анна Смирнова (+79991234567);
company 2 "ИП Сидоров А. В." with INN 500123456750 and contact 2 Алексей Сидоров (phone
89997654321, mobile "+7 (999) 765-43-21"); employees 1 (administrator, the API key's owner)
and 2 (support); issue 1 (contact 1, in_progress) and issue 2 (contact 2, completed).
"""

from datetime import UTC, datetime, timedelta

import pytest

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.okdesk import (
    ContactCreate,
    ContactUpdate,
    IssueAuthor,
    IssueCreate,
    OkdeskAuthError,
    OkdeskClient,
    OkdeskConnectionError,
    OkdeskNotFoundError,
    OkdeskServerError,
    OkdeskValidationError,
    Upload,
)
from tests.integration.okdesk.conftest import TOKEN

ROMASHKA_INN = "7701234560"
SIDOROV_INN = "500123456750"


class TestDiagnostics:
    async def test_ping_succeeds_with_the_right_token(self, client: OkdeskClient) -> None:
        await client.ping()

    async def test_a_wrong_token_is_an_auth_error_that_does_not_show_the_token(
        self, emulator: OkdeskEmulator
    ) -> None:
        wrong = "wrong-token-0123456789"
        async with OkdeskClient(emulator.api_url, wrong) as stranger:
            with pytest.raises(OkdeskAuthError) as caught:
                await stranger.ping()

        assert caught.value.status_code == 401
        assert wrong not in str(caught.value)
        assert wrong not in repr(caught.value)
        assert TOKEN not in str(caught.value)


class TestCompanies:
    async def test_find_by_inn(self, client: OkdeskClient) -> None:
        company = await client.find_company_by_inn(ROMASHKA_INN, parameter_code="inn")

        assert company is not None
        assert company.id == 1
        assert company.name == "ООО «Ромашка»"
        assert company.parameter_value("inn") == ROMASHKA_INN

    @pytest.mark.parametrize(
        "inn",
        ["7707083893", SIDOROV_INN[:-1], SIDOROV_INN + "0", ROMASHKA_INN[1:]],
        ids=["unknown", "prefix", "extension", "suffix"],
    )
    async def test_an_inn_that_is_not_stored_exactly_finds_nothing(
        self, client: OkdeskClient, inn: str
    ) -> None:
        assert await client.find_company_by_inn(inn, parameter_code="inn") is None

    async def test_an_inn_in_another_parameter_is_not_a_match(self, client: OkdeskClient) -> None:
        found = await client.find_company_by_inn(ROMASHKA_INN, parameter_code="contract_date")

        assert found is None

    async def test_search_and_get(self, client: OkdeskClient) -> None:
        by_name = await client.search_companies(name="ИП Сидоров А. В.")
        by_substring = await client.search_companies(search_string="ромашка")
        by_phone = await client.search_companies(phone="+7(495)123-45-67")
        nothing = await client.search_companies(name="Нет такой")

        assert [c.id for c in by_name] == [2]
        assert [c.id for c in by_substring] == [1]
        assert [c.id for c in by_phone] == [1]
        assert nothing == []
        assert (await client.get_company(2)).parameter_value("inn") == SIDOROV_INN
        with pytest.raises(OkdeskNotFoundError):
            await client.get_company(999)


class TestContacts:
    @pytest.mark.parametrize(
        ("phone", "expected_ids"),
        [
            ("+79991234567", [1]),
            ("79991234567", []),
            ("89991234567", []),
            ("89997654321", [2]),
            ("+7 (999) 765-43-21", [2]),
        ],
    )
    async def test_phone_search_matches_the_stored_string_exactly(
        self, client: OkdeskClient, phone: str, expected_ids: list[int]
    ) -> None:
        found = await client.find_contacts_by_phone(phone)

        assert [contact.id for contact in found] == expected_ids

    async def test_create_find_update_and_get(self, client: OkdeskClient) -> None:
        created = await client.create_contact(
            ContactCreate(
                first_name="Пётр", last_name="Кузнецов", phone="+79990001122", company_id=1
            )
        )

        assert created.display_name == "Кузнецов Пётр"
        assert created.company_id == 1
        assert [c.id for c in await client.find_contacts_by_phone("+79990001122")] == [created.id]
        updated = await client.update_contact(created.id, ContactUpdate(company_id=2))
        assert updated.company_id == 2
        assert (await client.get_contact(created.id)).company_id == 2
        assert [c.id for c in await client.search_contacts("кузнецов")] == [created.id]

    async def test_create_without_last_name_reports_the_field(self, client: OkdeskClient) -> None:
        with pytest.raises(OkdeskValidationError) as caught:
            await client.create_contact(ContactCreate(first_name="Пётр", phone="+422"))

        assert caught.value.status_code == 422
        assert "last_name" in caught.value.field_errors
        assert caught.value.field_errors["last_name"] != []


class TestIssues:
    async def test_create_with_json_and_read_back(self, client: OkdeskClient) -> None:
        created = await client.create_issue(
            IssueCreate(
                title="Не работает почта",
                description="<p>С утра не отправляются письма</p>",
                company_id=1,
                contact_id=1,
                priority_code="high",
                author=IssueAuthor(id=1),
            )
        )

        issue = await client.get_issue(created.id)
        assert issue.title == "Не работает почта"
        assert issue.description == "<p>С утра не отправляются письма</p>"
        assert issue.contact_id == 1
        assert issue.company_id == 1
        assert issue.priority is not None
        assert issue.priority.code == "high"
        assert issue.status_code == "opened"
        assert issue.author is not None  # {id, name} in this shape: the name tells who
        assert (issue.author.id, issue.author.name) == (1, "Смирнова Анна Викторовна")
        assert issue.created_at is not None
        assert issue.created_at.tzinfo is not None

    async def test_create_with_attachments_and_download_them(self, client: OkdeskClient) -> None:
        created = await client.create_issue(
            IssueCreate(title="Скан акта", contact_id=2, company_id=2),
            attachments=[
                Upload("акт.pdf", b"%PDF-1.4 act", "application/pdf", description="Акт"),
                Upload("photo.jpg", b"\xff\xd8\xff\xe0photo", "image/jpeg", is_public=False),
            ],
        )

        issue = await client.get_issue(created.id)
        by_name = {a.attachment_file_name: a for a in issue.attachments}
        assert set(by_name) == {"акт.pdf", "photo.jpg"}
        assert by_name["акт.pdf"].description == "Акт"
        assert by_name["акт.pdf"].is_public is True
        assert by_name["photo.jpg"].is_public is False
        assert by_name["photo.jpg"].attachment_file_size == len(b"\xff\xd8\xff\xe0photo")
        attachment = await client.get_attachment(issue.id, by_name["акт.pdf"].id)
        assert attachment.attachment_url is not None
        assert await client.download(attachment.attachment_url) == b"%PDF-1.4 act"

    async def test_a_missing_issue_is_not_found(self, client: OkdeskClient) -> None:
        with pytest.raises(OkdeskNotFoundError):
            await client.get_issue(999_999)

    async def test_a_deleted_issue_and_its_comments_are_not_found(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        created = await client.create_issue(IssueCreate(title="Удалят", contact_id=1))
        await emulator.delete_issue(created.id)

        with pytest.raises(OkdeskNotFoundError):
            await client.get_issue(created.id)
        with pytest.raises(OkdeskNotFoundError):
            await client.list_comments(created.id)

    async def test_list_count_and_paginate_by_contact(self, client: OkdeskClient) -> None:
        started = datetime.now(UTC) - timedelta(minutes=1)
        new_ids = [
            (await client.create_issue(IssueCreate(title=f"Заявка {n}", contact_id=2))).id
            for n in range(3)
        ]

        all_ids = await client.count_issues(contact_ids=[2])
        completed = await client.count_issues(contact_ids=[2], status_codes=["completed"])
        paged = [issue async for issue in client.iter_issues(contact_ids=[2], page_size=2)]
        first_page = await client.list_issues(contact_ids=[2], page_size=2)
        recent = await client.list_issues(contact_ids=[2], updated_since=started)

        assert sorted(all_ids) == sorted([2, *new_ids])
        assert completed == [2]
        assert sorted(issue.id for issue in paged) == sorted(all_ids)
        assert len(first_page) == 2
        assert first_page[0].contact_id == 2
        assert first_page[0].company is not None  # list items carry company references
        assert sorted(issue.id for issue in recent) == sorted(new_ids)

    async def test_statuses_and_priorities(self, client: OkdeskClient) -> None:
        statuses = {status.code: status for status in await client.list_statuses()}
        priorities = [priority.code for priority in await client.list_priorities()]

        assert list(statuses) == ["opened", "in_progress", "delayed", "completed", "closed"]
        assert [code for code, status in statuses.items() if status.is_final] == [
            "completed",
            "closed",
        ]
        assert statuses["opened"].name == "Открыта"
        assert priorities == ["low", "normal", "high"]

    async def test_change_status_through_the_api_and_by_staff(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        created = await client.create_issue(IssueCreate(title="Смена статуса", contact_id=1))

        in_progress = await client.change_status(created.id, "in_progress", skip_webhooks=True)
        delayed = await client.change_status(
            created.id,
            "delayed",
            comment="Ждём запчасть",
            comment_public=True,
            delay_to=datetime.now(UTC) + timedelta(days=2),
        )
        await emulator.change_status(created.id, "completed", comment="Готово")

        assert in_progress.status_code == "in_progress"
        assert delayed.status_code == "delayed"
        assert delayed.delayed_to is not None
        issue = await client.get_issue(created.id)
        assert issue.status_code == "completed"
        assert issue.old_status is not None
        assert issue.old_status.code == "delayed"

    async def test_delayed_without_a_comment_is_a_validation_error(
        self, client: OkdeskClient
    ) -> None:
        with pytest.raises(OkdeskValidationError) as caught:
            await client.change_status(
                1, "delayed", delay_to=datetime.now(UTC) + timedelta(days=1)
            )

        assert "comment" in caught.value.field_errors

    async def test_rate_a_completed_issue(self, client: OkdeskClient) -> None:
        await client.rate_issue(2, "good")

        assert (await client.get_issue(2)).rate == "good"


class TestComments:
    async def test_comment_as_contact_with_attachment(self, client: OkdeskClient) -> None:
        comment = await client.add_comment(
            1,
            "<p>Фото индикатора</p>",
            author_id=1,
            attachments=[Upload("led.jpg", b"\xff\xd8led", "image/jpeg")],
        )

        assert comment.public is True
        assert comment.author is not None
        assert (comment.author.id, comment.author.type) == (1, "contact")
        assert [a.attachment_file_name for a in comment.attachments] == ["led.jpg"]
        listed = {c.id: c for c in await client.list_comments(1)}
        assert listed[comment.id].content == "<p>Фото индикатора</p>"

    async def test_public_and_private_comments_are_listed_with_their_flags(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        public = await emulator.add_comment(1, "<p>Выезжаем</p>", public=True, employee_id=2)
        private = await emulator.add_comment(1, "<p>Внутреннее</p>", public=False, employee_id=2)

        comments = {c.id: c for c in await client.list_comments(1)}

        assert comments[public.id].public is True
        assert comments[private.id].public is False
        author = comments[private.id].author
        assert author is not None
        assert (author.id, author.type) == (2, "employee")
        assert comments[private.id].published_at is not None

    async def test_comment_without_an_existing_author_is_refused(
        self, client: OkdeskClient
    ) -> None:
        with pytest.raises(OkdeskValidationError):
            await client.add_comment(1, "<p>?</p>", author_id=999_999)


async def test_employees_page_through_the_cursor(client: OkdeskClient) -> None:
    newest_first = await client.list_employees()
    after_first = await client.list_employees(from_id=1, direction="forward")

    assert [(e.id, e.display_name) for e in newest_first] == [
        (2, "Петров Сергей Андреевич"),
        (1, "Иванов Иван Иванович"),
    ]
    assert [e.id for e in after_first] == [2]


class TestFaults:
    async def test_injected_5xx_on_a_get_is_retried_to_success(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        emulator.faults.fail_next(
            2, kind="error", status=503, method="GET", path_prefix="/api/v1/issues/statuses"
        )

        statuses = await client.list_statuses()

        assert len(statuses) == 5
        assert emulator.faults.snapshot()["queue"] == []

    async def test_injected_429_and_dropped_connection_on_gets_are_retried(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        emulator.faults.fail_next(1, kind="rate_limit", method="GET")
        emulator.faults.fail_next(1, kind="drop", method="GET")

        issue = await client.get_issue(1)

        assert issue.id == 1
        assert emulator.faults.snapshot()["queue"] == []

    async def test_injected_5xx_on_a_post_is_not_retried(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        before = await client.count_issues()
        emulator.faults.fail_next(1, kind="error", status=502, method="POST")

        with pytest.raises(OkdeskServerError) as caught:
            await client.create_issue(IssueCreate(title="Дубль?", contact_id=1))

        assert caught.value.status_code == 502
        assert caught.value.outcome_unknown is True
        assert await client.count_issues() == before  # one attempt, and it was refused

    async def test_a_dropped_connection_on_a_post_leaves_the_outcome_unknown(
        self, client: OkdeskClient, emulator: OkdeskEmulator
    ) -> None:
        emulator.faults.fail_next(1, kind="drop", method="POST")

        with pytest.raises(OkdeskConnectionError) as caught:
            await client.add_comment(1, "<p>Потеряется?</p>", author_id=1)

        assert caught.value.outcome_unknown is True
        assert "check before sending it again" in str(caught.value)

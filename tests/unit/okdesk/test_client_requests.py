"""What the client sends to Okdesk and how it reads the answers."""

from datetime import UTC, datetime

import pytest

from okdesk_bot.okdesk import (
    ContactCreate,
    ContactUpdate,
    IssueAuthor,
    IssueCreate,
    OkdeskClient,
    OkdeskNotFoundError,
    OkdeskProtocolError,
    Upload,
)
from tests.unit.okdesk.conftest import TOKEN, ClientFactory, FormFile, Reply, ScriptedOkdesk

COMPANY_INN = "7707083893"


def company(company_id: int, inn: str | None, *, active: bool = True) -> dict[str, object]:
    parameters = [] if inn is None else [{"code": "inn", "field_type": "ftstring", "value": inn}]
    return {
        "id": company_id,
        "name": f"Company {company_id}",
        "active": active,
        "parameters": parameters,
    }


class TestTransport:
    async def test_token_is_a_query_parameter_and_never_a_header(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(body=[]))

        await make_client().ping()

        (request,) = okdesk.requests
        assert request.query.getall("api_token") == [TOKEN]
        assert all(TOKEN not in value for value in request.headers.values())
        assert request.headers["Accept"] == "application/json"
        assert request.headers["User-Agent"].startswith("okdesk-telegram-bot/")

    @pytest.mark.parametrize("suffix", ["", "/"])
    async def test_base_url_with_or_without_trailing_slash(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory, suffix: str
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(body=[{"code": "opened"}]))

        statuses = await make_client(base_url=okdesk.api_url + suffix).list_statuses()

        assert [status.code for status in statuses] == ["opened"]
        assert okdesk.requests[0].path == "/api/v1/issues/statuses"

    @pytest.mark.parametrize(
        "base_url",
        [
            "acc.okdesk.ru/api/v1",
            "ftp://acc.okdesk.ru/api/v1",
            f"https://a.ru/api/v1?api_token={TOKEN}",
        ],
    )
    def test_a_base_url_that_is_not_a_plain_http_url_is_refused(self, base_url: str) -> None:
        with pytest.raises(ValueError, match="absolute http") as caught:
            OkdeskClient(base_url, TOKEN)

        assert TOKEN not in str(caught.value)

    async def test_repr_shows_the_base_url_only(self, make_client: ClientFactory) -> None:
        client = make_client()

        assert TOKEN not in repr(client)
        assert client.base_url in repr(client)


class TestCompanies:
    @pytest.mark.parametrize(
        ("reply", "expected_ids"),
        [
            (Reply(body=company(1, None)), [1]),
            (Reply(body=[company(1, None), company(2, None)]), [1, 2]),
            (Reply(body=[]), []),
            (Reply(body={}), []),
            (Reply(status=200), []),
        ],
        ids=["single-object", "array", "empty-array", "empty-object", "empty-body"],
    )
    async def test_search_returns_a_list_for_every_answer_shape(
        self,
        okdesk: ScriptedOkdesk,
        make_client: ClientFactory,
        reply: Reply,
        expected_ids: list[int],
    ) -> None:
        okdesk.script("GET", "companies/", reply)

        found = await make_client().search_companies(phone="+7 (499) 703-47-20")

        assert [c.id for c in found] == expected_ids
        assert "phone=%2B7%20%28499%29%20703-47-20" in okdesk.requests[0].raw_query

    async def test_find_by_inn_filters_by_custom_parameter_and_returns_the_match(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "companies/list", Reply(body=[company(7, COMPANY_INN)]))

        found = await make_client().find_company_by_inn(COMPANY_INN, parameter_code="inn")

        assert found is not None
        assert found.id == 7
        (request,) = okdesk.requests
        assert request.query["custom_parameters[inn]"] == COMPANY_INN
        assert request.query["page[direction]"] == "forward"

    async def test_find_by_inn_never_returns_a_company_with_another_inn(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        # A misconfigured account ignores the filter and lists unrelated companies.
        okdesk.script(
            "GET", "companies/list", Reply(body=[company(1, "5000000000"), company(2, "77")])
        )

        assert await make_client().find_company_by_inn(COMPANY_INN, parameter_code="inn") is None

    async def test_find_by_inn_reads_every_page_when_the_filter_is_ignored(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        first_page = [company(i, str(i)) for i in range(1, 101)]
        okdesk.script(
            "GET",
            "companies/list",
            Reply(body=first_page),
            Reply(body=[company(101, COMPANY_INN)]),
        )

        found = await make_client().find_company_by_inn(COMPANY_INN, parameter_code="inn")

        assert found is not None
        assert found.id == 101
        assert [r.query.get("page[from_id]") for r in okdesk.requests] == [None, "100"]

    async def test_find_by_inn_rereads_list_items_without_parameters(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "companies/list", Reply(body=[company(3, None)]))
        okdesk.script("GET", "companies/", Reply(body=company(3, COMPANY_INN)))

        found = await make_client().find_company_by_inn(COMPANY_INN, parameter_code="inn")

        assert found is not None
        assert found.id == 3
        assert okdesk.sent("GET", "companies/")[0].query["id"] == "3"

    async def test_find_by_inn_prefers_an_active_company(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET",
            "companies/list",
            Reply(body=[company(1, COMPANY_INN, active=False), company(2, COMPANY_INN)]),
        )

        found = await make_client().find_company_by_inn(f" {COMPANY_INN} ", parameter_code="inn")

        assert found is not None
        assert found.id == 2

    async def test_get_company_by_id_raises_not_found_for_an_empty_answer(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "companies/", Reply(status=200))

        with pytest.raises(OkdeskNotFoundError):
            await make_client().get_company(404)

    async def test_list_page_size_is_checked_before_sending(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        with pytest.raises(ValueError, match="page_size"):
            await make_client().list_companies(page_size=101)

        assert okdesk.requests == []


class TestContacts:
    async def test_phone_is_sent_exactly_as_given(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "contacts/", Reply(body={"id": "21", "phone": "+79991234567"}))

        found = await make_client().find_contacts_by_phone("+79991234567")

        assert [c.id for c in found] == [21]
        assert okdesk.requests[0].raw_query.startswith("phone=%2B79991234567&")
        assert okdesk.requests[0].query["phone"] == "+79991234567"

    async def test_create_sends_a_wrapped_json_body(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "contacts/", Reply(body={"id": 30, "name": "Петров Иван"}))

        created = await make_client().create_contact(
            ContactCreate(first_name="Иван", last_name="Петров", phone="+7999", company_id=7)
        )

        assert created.id == 30
        assert okdesk.requests[0].json() == {
            "contact": {
                "first_name": "Иван",
                "last_name": "Петров",
                "phone": "+7999",
                "company_id": 7,
            }
        }

    async def test_update_sends_only_the_changes(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("PATCH", "contacts/30", Reply(body={"contact": {"id": 30, "company_id": 9}}))

        updated = await make_client().update_contact(30, ContactUpdate(company_id=9))

        assert updated.company_id == 9
        assert okdesk.requests[0].json() == {"contact": {"company_id": 9}}


class TestIssues:
    async def test_create_without_files_sends_wrapped_json(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/", Reply(body={"id": 5, "title": "Не печатает"}))

        issue = await make_client().create_issue(
            IssueCreate(title="Не печатает", contact_id=21, author=IssueAuthor(id=21))
        )

        assert issue.id == 5
        (request,) = okdesk.requests
        assert request.headers["Content-Type"] == "application/json"
        assert request.json() == {
            "issue": {
                "title": "Не печатает",
                "contact_id": 21,
                "author": {"id": 21, "type": "contact"},
            }
        }

    async def test_create_with_files_sends_rails_multipart_and_reads_back_an_id_only_answer(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/", Reply(body={"id": 6}))
        okdesk.script("GET", "issues/6", Reply(body={"id": 6, "title": "Скан", "company_id": 7}))

        issue = await make_client().create_issue(
            IssueCreate(title="Скан", company_id=7),
            attachments=[
                Upload("scan.pdf", b"%PDF-1.4", "application/pdf", description="Скан акта"),
                Upload("photo.jpg", b"\xff\xd8\xff", "image/jpeg", is_public=False),
            ],
        )

        assert issue.title == "Скан"
        assert issue.company_id == 7
        form = okdesk.sent("POST", "issues/")[0].form
        assert form["issue[title]"] == "Скан"
        assert form["issue[company_id]"] == "7"
        assert form["issue[attachments][0][attachment]"] == FormFile(
            "scan.pdf", b"%PDF-1.4", "application/pdf"
        )
        assert form["issue[attachments][0][is_public]"] == "true"
        assert form["issue[attachments][0][description]"] == "Скан акта"
        assert form["issue[attachments][1][attachment]"] == FormFile(
            "photo.jpg", b"\xff\xd8\xff", "image/jpeg"
        )
        assert form["issue[attachments][1][is_public]"] == "false"
        assert "issue[attachments][1][description]" not in form

    async def test_list_sends_rails_filters_paging_and_sorting(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/list", Reply(body=[{"id": 1}]))

        await make_client().list_issues(
            contact_ids=[21, 22],
            status_codes=["opened", "in_progress"],
            updated_since=datetime(2026, 3, 1, 9, 30, 45, tzinfo=UTC),
            page=2,
            page_size=20,
        )

        query = okdesk.requests[0].raw_query
        assert "contact_ids[]=21&contact_ids[]=22" in query
        assert "status_codes[]=opened&status_codes[]=in_progress" in query
        assert "updated_since=01-03-2026%2012%3A30" in query  # Moscow time
        assert "page[number]=2&page[size]=20" in query
        assert "sorting[field]=updated_at&sorting[direction]=reverse" in query
        assert "company_ids" not in query

    async def test_list_page_size_over_50_is_refused_before_sending(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        with pytest.raises(ValueError, match="between 1 and 50"):
            await make_client().list_issues(page_size=51)

        assert okdesk.requests == []

    async def test_iteration_walks_pages_until_a_short_one(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET",
            "issues/list",
            Reply(body=[{"id": 1}, {"id": 2}]),
            Reply(body=[{"id": 2}, {"id": 3}]),  # an update shifted issue 2 onto page 2
            Reply(body=[{"id": 4}]),
        )

        ids = [issue.id async for issue in make_client().iter_issues(page_size=2)]

        assert ids == [1, 2, 3, 4]
        assert [r.query["page[number]"] for r in okdesk.requests] == ["1", "2", "3"]

    async def test_count_returns_ids_and_filters_statuses_with_status_brackets(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/count", Reply(body=[3, "4"]))

        ids = await make_client().count_issues(contact_ids=[21], status_codes=["opened"])

        assert ids == [3, 4]
        assert okdesk.requests[0].raw_query.startswith("contact_ids[]=21&status[]=opened&")

    async def test_change_status_body_and_result(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "POST",
            "issues/5/statuses",
            Reply(body={"id": 5, "status": {"code": "delayed", "name": "Отложена"}}),
        )

        issue = await make_client().change_status(
            5,
            "delayed",
            comment="Ждём запчасть",
            comment_public=True,
            delay_to=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            skip_webhooks=True,
        )

        assert issue.status_code == "delayed"
        assert okdesk.requests[0].json() == {
            "code": "delayed",
            "comment": "Ждём запчасть",
            "comment_public": True,
            "delay_to": "2026-03-02T09:00:00+00:00",
            "skip_options": ["skip_webhooks"],
        }

    async def test_change_status_with_an_empty_answer_reads_the_issue_back(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/5/statuses", Reply(status=200))
        okdesk.script("GET", "issues/5", Reply(body={"id": 5, "status": {"code": "completed"}}))

        issue = await make_client().change_status(5, "completed")

        assert issue.status_code == "completed"

    async def test_rate_accepts_a_non_json_answer(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/5/rates", Reply(text="OK"))

        await make_client().rate_issue(5, "good")

        assert okdesk.requests[0].json() == {"rate": "good"}

    async def test_deleted_issue_answered_with_200_errors_is_not_found(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/9", Reply(body={"errors": "Заявка не найдена"}))

        with pytest.raises(OkdeskNotFoundError, match="Заявка не найдена") as caught:
            await make_client().get_issue(9)

        assert caught.value.status_code == 200

    async def test_a_merged_issue_redirect_is_not_found_and_not_followed(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET", "issues/9/comments", Reply(status=301, headers={"Location": "/api/v1/issues/8"})
        )

        with pytest.raises(OkdeskNotFoundError) as caught:
            await make_client().list_comments(9)

        assert caught.value.status_code == 301
        assert len(okdesk.requests) == 1

    async def test_an_answer_of_the_wrong_shape_is_a_protocol_error(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/9", Reply(body={"title": "no id"}))

        with pytest.raises(OkdeskProtocolError, match="not a valid Issue"):
            await make_client().get_issue(9)


class TestComments:
    async def test_add_as_contact_sends_wrapped_json(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "POST",
            "issues/5/comments",
            Reply(body={"id": 11, "content": "<p>Спасибо</p>", "public": True}),
        )

        comment = await make_client().add_comment(5, "<p>Спасибо</p>", author_id=21)

        assert comment.id == 11
        assert okdesk.requests[0].json() == {
            "comment": {
                "content": "<p>Спасибо</p>",
                "author_id": 21,
                "author_type": "contact",
                "public": True,
            }
        }

    async def test_add_with_a_file_sends_comment_multipart(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/5/comments", Reply(body={"comment": {"id": 12}}))

        comment = await make_client().add_comment(
            5,
            "См. фото",
            author_id=3,
            author_type="employee",
            public=False,
            attachments=[Upload("a.png", b"\x89PNG", "image/png")],
        )

        assert comment.id == 12
        form = okdesk.requests[0].form
        assert form["comment[content]"] == "См. фото"
        assert form["comment[author_id]"] == "3"
        assert form["comment[author_type]"] == "employee"
        assert form["comment[public]"] == "false"
        assert form["comment[attachments][0][attachment]"] == FormFile(
            "a.png", b"\x89PNG", "image/png"
        )


class TestAttachments:
    async def test_metadata_and_download_without_leaking_the_token_elsewhere(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        file_url = f"{okdesk.base_url}/static/attachments/8/photo.jpg?signature=abc"
        okdesk.script(
            "GET",
            "issues/5/attachments/8",
            Reply(body={"id": 8, "attachment_file_name": "photo.jpg", "attachment_url": file_url}),
        )
        okdesk.script_absolute("GET", "/static/attachments/8/photo.jpg", Reply(text="JPEGDATA"))
        client = make_client()

        attachment = await client.get_attachment(5, 8)
        assert attachment.attachment_url is not None
        content = await client.download(attachment.attachment_url)

        assert content == b"JPEGDATA"
        download_request = okdesk.requests[-1]
        assert download_request.path == "/static/attachments/8/photo.jpg"
        assert "api_token" not in download_request.query
        assert download_request.query["signature"] == "abc"


async def test_employees_list_uses_cursor_paging(
    okdesk: ScriptedOkdesk, make_client: ClientFactory
) -> None:
    okdesk.script(
        "GET", "employees/list", Reply(body=[{"id": "3", "first_name": "Анна", "last_name": "Ли"}])
    )

    employees = await make_client().list_employees(page_size=10, from_id=2, direction="forward")

    assert employees[0].display_name == "Ли Анна"
    assert okdesk.requests[0].raw_query.startswith(
        "page[size]=10&page[from_id]=2&page[direction]=forward&"
    )

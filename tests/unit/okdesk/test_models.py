"""The Okdesk models read every shape the sources disagree on."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from okdesk_bot.okdesk import (
    Comment,
    Company,
    Contact,
    ContactCreate,
    ContactUpdate,
    Issue,
    IssueAuthor,
    IssueCreate,
    Status,
    Upload,
)

# GET /issues/{id}, abridged from the apidoc example (okdesk-api.md §4).
ISSUE_BY_ID = {
    "id": 153,
    "title": "Требуется мастер на выезд",
    "description": "",
    "created_at": "2016-03-15T18:05:17.568+03:00",
    "updated_at": "2016-08-23T09:39:35.428+03:00",
    "completed_at": None,
    "delayed_to": None,
    "company_id": 40,
    "attachments": [
        {
            "id": 8,
            "attachment_file_name": "photo.jpg",
            "description": "Фото",
            "attachment_file_size": 4149,
            "is_public": False,
            "created_at": "2016-09-30T09:28:50.499+03:00",
        }
    ],
    "parameters": [],
    "comments": {"count": 5, "last_at": "2018-07-05T16:06:10.000+03:00"},
    "type": {"id": 2, "code": "service", "name": "Обслуживание", "available_for_client": True},
    "priority": {"code": "low", "name": "Низкий"},
    "status": {"code": "opened", "name": "Открыта"},
    "rate": {"id": 3, "value": "normal"},
    "contact": {"id": 3020, "name": "Егор Егоров"},
    "author": {"id": 3020, "name": "Егор Егоров"},
    "status_times": {"opened": {"total": "134 д., 14 ч., 57 м."}},
}

# An issues/list item (okdesk-api.md §4, per gothchibjo/okdesk-go): company and contact as
# references, coloured status, no description; ids as strings for good measure.
ISSUE_LIST_ITEM = {
    "id": "154",
    "title": "Не печатает принтер",
    "company": {"id": "40", "name": "ООО Ромашка"},
    "contact": {"id": "3020", "name": "Егор Егоров"},
    "service_object": {"id": 1, "name": "Офис"},
    "status": {"code": "in_progress", "name": "В работе", "color": "#5cb85c"},
    "priority": {"code": "high", "name": "Высокий", "color": "#d9534f"},
    "created_at": "2026-09-01T12:00:00.000+03:00",
}


class TestIssue:
    def test_by_id_shape_exposes_company_and_contact_ids(self) -> None:
        issue = Issue.model_validate(ISSUE_BY_ID)

        assert issue.company_id == 40
        assert issue.contact_id == 3020
        assert issue.contact is not None
        assert issue.contact.name == "Егор Егоров"
        assert issue.status_code == "opened"
        assert issue.rate == "normal"
        assert issue.description == ""
        assert issue.attachments[0].attachment_file_name == "photo.jpg"
        assert issue.attachments[0].is_public is False

    def test_list_item_shape_normalises_to_the_same_model(self) -> None:
        issue = Issue.model_validate(ISSUE_LIST_ITEM)

        assert issue.id == 154
        assert issue.company_id == 40
        assert issue.company is not None
        assert issue.company.name == "ООО Ромашка"
        assert issue.contact_id == 3020
        assert issue.status is not None
        assert issue.status.color == "#5cb85c"
        assert issue.description is None

    def test_timestamps_are_aware_with_milliseconds(self) -> None:
        issue = Issue.model_validate(ISSUE_BY_ID)

        assert issue.created_at == datetime(
            2016, 3, 15, 18, 5, 17, 568000, tzinfo=timezone(timedelta(hours=3))
        )
        assert issue.completed_at is None

    def test_wrapped_body_is_accepted(self) -> None:
        assert Issue.model_validate({"issue": ISSUE_BY_ID}) == Issue.model_validate(ISSUE_BY_ID)

    def test_an_id_only_answer_is_a_valid_issue(self) -> None:
        issue = Issue.model_validate({"id": "77"})

        assert issue.id == 77
        assert issue.title is None
        assert issue.attachments == []

    def test_null_lists_blank_timestamps_and_plain_string_rate_are_tolerated(self) -> None:
        issue = Issue.model_validate(
            {"id": 1, "attachments": None, "deadline_at": "", "rate": "good", "child_ids": None}
        )

        assert issue.attachments == []
        assert issue.deadline_at is None
        assert issue.rate == "good"

    def test_naive_timestamp_is_read_as_utc(self) -> None:
        issue = Issue.model_validate({"id": 1, "updated_at": "2026-01-02T03:04:05"})

        assert issue.updated_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def test_an_id_is_required(self) -> None:
        with pytest.raises(ValidationError):
            Issue.model_validate({"title": "no id"})


class TestCompany:
    def test_parameter_value_reads_custom_parameters_by_code(self) -> None:
        company = Company.model_validate(
            {
                "company": {
                    "id": "1040",
                    "name": "Okdesk",
                    "parameters": [
                        {"code": "inn", "name": "ИНН", "field_type": "ftstring", "value": "77"},
                        {"code": "vip", "field_type": "ftcheckbox", "value": True},
                        {"code": "rooms", "field_type": "ftmultiselect", "value": ["a", "b"]},
                    ],
                    "coordinates": [53.2, 44.9],
                }
            }
        )

        assert company.id == 1040
        assert company.parameter_value("inn") == "77"
        assert company.parameter_value("vip") is True
        assert company.parameter_value("rooms") == ["a", "b"]
        assert company.parameter_value("missing") is None

    def test_webhook_style_parameter_type_key_is_read(self) -> None:
        company = Company.model_validate(
            {"id": 1, "parameters": [{"code": "inn", "type": "ftstring", "value": "1"}]}
        )

        assert company.parameters[0].field_type == "ftstring"


class TestContact:
    def test_fields_and_display_name(self) -> None:
        contact = Contact.model_validate(
            {
                "id": "21",
                "first_name": "Николай",
                "last_name": "Ставрогин",
                "patronymic": "Всеволодович",
                "phone": "+79991234567",
                "company_id": "15",
                "access_level": None,
                "unknown_future_field": {"x": 1},
            }
        )

        assert contact.id == 21
        assert contact.company_id == 15
        assert contact.access_level == []
        assert contact.display_name == "Ставрогин Николай Всеволодович"

    def test_company_reference_gives_company_id(self) -> None:
        contact = Contact.model_validate({"id": 1, "name": "N", "company": {"id": 9}})

        assert contact.company_id == 9
        assert contact.display_name == "N"

    def test_display_name_falls_back_to_the_id(self) -> None:
        assert Contact.model_validate({"id": 5}).display_name == "#5"


class TestStatus:
    @pytest.mark.parametrize("key", ["final", "is_final", "completed", "is_completed", "finished"])
    def test_finality_flag_is_read_from_any_known_name(self, key: str) -> None:
        status = Status.model_validate({"code": "closed", "name": "Закрыта", key: True})

        assert status.is_final is True

    def test_unknown_finality_stays_none(self) -> None:
        status = Status.model_validate({"code": "opened", "completed": "yes please"})

        assert status.is_final is None


class TestComment:
    def test_rest_shape(self) -> None:
        comment = Comment.model_validate(
            {
                "id": 1,
                "content": "<p>Готово</p>",
                "public": True,
                "published_at": "2026-09-01T12:00:00+03:00",
                "author": {"id": "10", "name": "Иванов", "type": "employee"},
                "attachments": [],
            }
        )

        assert comment.public is True
        assert comment.author is not None
        assert comment.author.id == 10
        assert comment.author.type == "employee"
        assert comment.published_at is not None

    def test_webhook_style_flags_and_null_content_are_tolerated(self) -> None:
        comment = Comment.model_validate(
            {"comment": {"id": "5880", "is_public": False, "content": None}}
        )

        assert comment.id == 5880
        assert comment.public is False
        assert comment.content == ""


class TestRequestModels:
    def test_issue_create_uses_api_field_names_and_drops_unset_fields(self) -> None:
        issue = IssueCreate(
            title="Не печатает",
            contact_id=5,
            type_code="incident",
            priority_code="high",
            author=IssueAuthor(id=5),
            custom_parameters={"channel": "telegram"},
        )

        assert issue.to_fields() == {
            "title": "Не печатает",
            "contact_id": 5,
            "type": "incident",
            "priority": "high",
            "author": {"id": 5, "type": "contact"},
            "custom_parameters": {"channel": "telegram"},
        }

    def test_issue_create_needs_a_title(self) -> None:
        with pytest.raises(ValidationError):
            IssueCreate(title="")

    def test_contact_update_sends_only_given_fields_including_explicit_none(self) -> None:
        changes = ContactUpdate(company_id=None, phone="+7999")

        assert changes.to_fields() == {"company_id": None, "phone": "+7999"}

    def test_contact_create_rejects_unknown_fields(self) -> None:
        with pytest.raises(ValidationError):
            ContactCreate.model_validate({"first_name": "A", "telegram_username": "x"})

    def test_upload_repr_hides_the_content_and_needs_a_name(self) -> None:
        upload = Upload("scan.pdf", b"%PDF-secret-bytes", "application/pdf")

        assert "secret-bytes" not in repr(upload)
        with pytest.raises(ValueError, match="file name"):
            Upload(" ", b"x")

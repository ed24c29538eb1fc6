"""Okdesk webhook payloads become typed events with stable dedup keys, or a clear error."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from okdesk_bot.okdesk.webhooks import (
    DEDUP_KEY_MAX_LENGTH,
    AssigneeChangedEvent,
    IssueEvent,
    NewCommentEvent,
    NewTicketEvent,
    StatusChangedEvent,
    TicketDeletedEvent,
    UnknownEvent,
    WebhookPayloadError,
    dedup_key,
    parse_webhook,
)

# The official `new_ticket_status` example of the webhookdoc (okdesk-api.md §7), with the
# parts the document elides ("…") filled in with plausible values.
OFFICIAL_STATUS_EXAMPLE: dict[str, Any] = {
    "event": {
        "event_type": "new_ticket_status",
        "author": {
            "id": "1",
            "first_name": "Иван",
            "last_name": "Иванов",
            "patronymic": "Иванович",
            "type": "employee",
        },
        "old_status": {"code": "opened", "name": "Открыта"},
        "new_status": {"code": "completed", "name": "Решена"},
        "comment": {"id": "5880", "is_public": True, "content": "Работы проверены"},
        "attachments": [
            {
                "id": "519",
                "is_public": True,
                "attachment_file_name": "Screenshot(1).png",
                "description": "Скриншот",
                "attachment_file_size": "23460",
                "created_at": "2021-04-14T16:58:03.921+03:00",
            }
        ],
        "parameters": [
            {
                "code": "address",
                "name": "Адрес вызова",
                "type": "ftstring",
                "value": "ул. Ленина 44",
            }
        ],
        "time_entries": {"id": "13", "comment": "Выезд", "spent_time": "2", "employee": {}},
        "old_assignee": {"group": {"id": "2", "name": "Выездные"}, "employee": None},
        "new_assignee": None,
    },
    "issue": {
        "title": "Требуется мастер на выезд",
        "planned_execution_in_hours": "12.5",
        "spent_time_total": "6",
        "id": "153",
        "parent_id": None,
        "child_ids": [93, 94, 91],
        "description": "Не работает касса",
        "type": {"code": "service", "name": "Обслуживание", "inner": False},
        "priority": {"code": "low", "name": "Низкий"},
        "status": {"code": "completed", "name": "Решена"},
        "old_status": {"code": "opened", "name": "Открыта"},
        "rate": "normal",
        "client": {
            "company": {"name": "ООО «Ромашка»", "id": "15"},
            "contact": {
                "first_name": "Николай",
                "last_name": "Ставрогин",
                "patronymic": "Всеволодович",
                "id": "21",
            },
        },
        "agreement": {"id": "34", "title": "Договор обслуживания"},
        "maintenance_entity": {"name": "053 Камаз Т1", "id": "43", "address": {}},
        "equipments": [{"id": "96", "serial_number": "SN-1", "inventory_number": "INV-1"}],
        "author": {
            "id": "44",
            "first_name": "Пётр",
            "last_name": "Петров",
            "patronymic": "Петрович",
            "type": "employee",
        },
        "assignee": {
            "group": {"id": "1", "name": "Первая линия"},
            "employee": {"id": "116", "first_name": "Анна", "last_name": "Ли"},
        },
        "coexecutors": [],
        "observers": {"employees": [], "contacts": [], "groups": []},
        "created_at": "2016-09-30T09:28:50.499+03:00",
        "deadline_at": "2016-10-01T09:28:50.499+03:00",
        "planned_reaction_at": None,
        "start_execution_until": None,
        "completed_at": None,
        "reacted_at": None,
        "parameters": [{"code": "inn", "name": "ИНН", "type": "ftstring", "value": "7707083893"}],
        "attachments": [],
    },
}


def _payload(event_type: str, **event: Any) -> dict[str, Any]:
    """The official example's issue part under an event of ``event_type``."""
    return {
        "event": {"event_type": event_type, **event},
        "issue": copy.deepcopy(OFFICIAL_STATUS_EXAMPLE["issue"]),
    }


def test_official_status_example_parses_with_string_ids_as_ints() -> None:
    event = parse_webhook(OFFICIAL_STATUS_EXAMPLE)

    assert isinstance(event, StatusChangedEvent)
    assert event.event_type == "new_ticket_status"
    assert event.old_status is not None
    assert (event.old_status.code, event.new_status.code) == ("opened", "completed")
    assert event.new_status.name == "Решена"
    assert event.author is not None
    assert event.author.id == 1
    assert event.author.is_employee
    assert event.author.display_name == "Иванов Иван Иванович"
    assert event.comment is not None
    assert (event.comment.id, event.comment.is_public) == (5880, True)
    assert event.comment.content == "Работы проверены"
    [attachment] = event.attachments
    assert (attachment.id, attachment.attachment_file_size) == (519, 23460)
    issue = event.issue
    assert (issue.id, issue.title, issue.status_code, issue.rate) == (
        153,
        "Требуется мастер на выезд",
        "completed",
        "normal",
    )
    assert (issue.contact_id, issue.company_id) == (21, 15)
    assert issue.created_at == datetime(2016, 9, 30, 6, 28, 50, 499_000, tzinfo=UTC)
    assert issue.assignee is not None
    assert issue.assignee.employee is not None
    assert issue.assignee.employee.id == 116
    assert issue.parameters[0].value == "7707083893"


def test_contact_falls_back_to_the_top_level_issue_contact() -> None:
    payload = _payload("new_comment", comment={"id": 7, "content": "x"})
    del payload["issue"]["client"]
    payload["issue"]["contact"] = {"id": "3020", "name": "Егор Егоров"}

    event = parse_webhook(payload)

    assert isinstance(event, IssueEvent)
    assert event.issue.contact_id == 3020
    assert event.issue.contact is not None
    assert event.issue.contact.display_name == "Егор Егоров"
    assert event.issue.company_id is None


def test_client_contact_wins_over_the_top_level_contact() -> None:
    payload = _payload("new_comment", comment={"id": 7})
    payload["issue"]["contact"] = {"id": "99"}

    event = parse_webhook(payload)

    assert isinstance(event, IssueEvent)
    assert event.issue.contact_id == 21


def test_issue_without_any_client_has_no_contact() -> None:
    payload = _payload("new_files")
    payload["issue"]["client"] = {"company": None, "contact": None}

    event = parse_webhook(payload)

    assert isinstance(event, IssueEvent)
    assert (event.issue.contact_id, event.issue.company_id) == (None, None)


def test_new_comment_tells_a_clients_comment_from_an_employees() -> None:
    payload = _payload(
        "new_comment",
        author={"id": "21", "first_name": "Николай", "last_name": "Ставрогин", "type": "contact"},
        comment={"id": "77", "is_public": False, "content": None},
        attachments=None,
    )

    event = parse_webhook(payload)

    assert isinstance(event, NewCommentEvent)
    assert event.author is not None
    assert event.author.is_contact
    assert not event.author.is_employee
    assert (event.comment.id, event.comment.is_public, event.comment.content) == (77, False, "")
    assert event.attachments == []


def test_author_without_an_id_does_not_cost_the_event() -> None:
    payload = copy.deepcopy(OFFICIAL_STATUS_EXAMPLE)
    payload["event"]["author"] = {"id": None, "first_name": "Автоматизация"}

    event = parse_webhook(payload)

    assert isinstance(event, StatusChangedEvent)
    assert event.author is not None
    assert (event.author.id, event.author.display_name) == (None, "Автоматизация")


def test_unknown_person_type_reads_as_none() -> None:
    payload = _payload("new_comment", author={"id": 5, "type": "robot"}, comment={"id": 1})

    event = parse_webhook(payload)

    assert isinstance(event, NewCommentEvent)
    assert event.author is not None
    assert event.author.type is None
    assert event.author.display_name == "#5"


@pytest.mark.parametrize(
    ("event_type", "model"),
    [
        ("new_ticket", NewTicketEvent),
        ("new_assignee", AssigneeChangedEvent),
        ("ticket_deleted", TicketDeletedEvent),
        ("new_files", IssueEvent),
        ("change_ticket_parameter", IssueEvent),
        ("issue.updated", IssueEvent),
    ],
)
def test_issue_events_dispatch_on_event_type(event_type: str, model: type[IssueEvent]) -> None:
    event = parse_webhook(_payload(event_type))

    assert type(event) is model
    assert event.event_type == event_type
    assert event.issue.id == 153


def test_new_ticket_reads_its_source_and_assignee_change_its_assignees() -> None:
    ticket = parse_webhook(_payload("new_ticket", source="from_contact"))
    assignee = parse_webhook(
        _payload(
            "new_assignee",
            old_assignee={"group": None, "employee": None},
            new_assignee={"group": {"id": "1", "name": "Линия"}, "employee": {"id": "116"}},
        )
    )

    assert isinstance(ticket, NewTicketEvent)
    assert ticket.source == "from_contact"
    assert isinstance(assignee, AssigneeChangedEvent)
    assert assignee.new_assignee is not None
    assert assignee.new_assignee.employee is not None
    assert assignee.new_assignee.employee.id == 116


def test_partial_issue_of_a_deleted_ticket_is_enough() -> None:
    event = parse_webhook({"event": {"event_type": "ticket_deleted"}, "issue": {"id": "8"}})

    assert isinstance(event, TicketDeletedEvent)
    assert (event.issue.id, event.issue.title, event.author) == (8, None, None)


@pytest.mark.parametrize(
    ("alias", "model", "event_type"),
    [
        ("issue.created", NewTicketEvent, "new_ticket"),
        ("issue.status_changed", StatusChangedEvent, "new_ticket_status"),
        ("comment.created", NewCommentEvent, "new_comment"),
    ],
)
def test_names_of_the_original_description_are_aliases(
    alias: str, model: type[IssueEvent], event_type: str
) -> None:
    payload = _payload(alias, comment={"id": "5"}, new_status={"code": "completed"})

    event = parse_webhook(payload)

    assert type(event) is model
    assert event.event_type == event_type
    assert event.received_type == alias


def test_status_change_without_event_statuses_reads_the_issues() -> None:
    event = parse_webhook(_payload("issue.status_changed"))

    assert isinstance(event, StatusChangedEvent)
    assert event.new_status.code == "completed"
    assert event.old_status is not None
    assert event.old_status.code == "opened"


@pytest.mark.parametrize("event_type", ["new_company", "change_equipment", "brand_new_thing"])
def test_unknown_event_types_parse_as_unknown_events(event_type: str) -> None:
    payload = {"event": {"event_type": event_type}, "company": {"id": "1"}}

    event = parse_webhook(payload)

    assert isinstance(event, UnknownEvent)
    assert event.event_type == event_type
    assert dedup_key(event) == f"sha256:{event.fingerprint}"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([OFFICIAL_STATUS_EXAMPLE], "must be a JSON object, not an array"),
        ("new_ticket", "must be a JSON object, not a string"),
        (None, "must be a JSON object, not null"),
        (42, "must be a JSON object, not a number"),
        ({"issue": {"id": 1}}, "no `event` object"),
        ({"event": ["new_ticket"]}, "no `event` object"),
        ({"event": {"author": {"id": 1}}}, "no `event.event_type`"),
        ({"event": {"event_type": 5}}, "no `event.event_type`"),
        ({"event": {"event_type": " "}}, "no `event.event_type`"),
    ],
)
def test_garbage_is_a_payload_error(payload: object, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message):
        parse_webhook(payload)


def test_known_event_without_what_it_needs_names_the_fields_not_their_values() -> None:
    payload = {
        "event": {"event_type": "new_comment", "comment": {"content": "пароль: hunter2"}},
        "issue": {"id": "not-a-number"},
    }

    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(payload)

    message = str(caught.value)
    assert message.startswith("malformed new_comment webhook")
    assert "issue.id" in message
    assert "event.comment.id" in message
    assert "not-a-number" not in message
    assert "hunter2" not in message


def test_issue_event_without_issue_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match=r"issue: "):
        parse_webhook({"event": {"event_type": "new_ticket"}})


def test_issue_id_beyond_64_bits_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match=r"issue\.id"):
        parse_webhook({"event": {"event_type": "new_ticket"}, "issue": {"id": str(2**63)}})


def test_comment_key_is_the_comment_id() -> None:
    event = parse_webhook(_payload("new_comment", comment={"id": "5880"}))

    assert dedup_key(event) == "comment:5880"


def test_comment_key_is_the_same_for_an_alias_and_a_retry_with_other_content() -> None:
    first = parse_webhook(_payload("comment.created", comment={"id": 9, "content": "a"}))
    again = parse_webhook(_payload("new_comment", comment={"id": "9", "content": "a "}))

    assert dedup_key(first) == dedup_key(again) == "comment:9"


def test_status_key_uses_the_event_time_when_the_payload_has_one() -> None:
    payload = copy.deepcopy(OFFICIAL_STATUS_EXAMPLE)
    payload["event"]["created_at"] = "2021-04-14T16:58:03.921+03:00"
    payload["issue"]["updated_at"] = "2021-04-14T17:00:00.000+03:00"

    key = dedup_key(parse_webhook(payload))

    assert key == "status:153:completed:2021-04-14T13:58:03.921000+00:00"


def test_status_key_uses_the_issue_update_time_otherwise() -> None:
    payload = copy.deepcopy(OFFICIAL_STATUS_EXAMPLE)
    payload["issue"]["updated_at"] = "2021-04-14T17:00:00.000+03:00"

    assert dedup_key(parse_webhook(payload)) == "status:153:completed:2021-04-14T14:00:00+00:00"


def test_status_key_without_any_time_is_the_content_hash() -> None:
    """The official example carries no event time: equal content, equal key; else different."""
    reordered = dict(reversed(list(copy.deepcopy(OFFICIAL_STATUS_EXAMPLE).items())))
    changed = copy.deepcopy(OFFICIAL_STATUS_EXAMPLE)
    changed["event"]["old_status"] = {"code": "delayed", "name": "Отложена"}

    key = dedup_key(parse_webhook(OFFICIAL_STATUS_EXAMPLE))

    assert key.startswith("sha256:")
    assert len(key) == len("sha256:") + 64
    assert dedup_key(parse_webhook(reordered)) == key
    assert dedup_key(parse_webhook(changed)) != key


def test_repeated_transitions_at_different_times_get_different_keys() -> None:
    first = copy.deepcopy(OFFICIAL_STATUS_EXAMPLE)
    first["issue"]["updated_at"] = "2021-04-14T17:00:00+03:00"
    second = copy.deepcopy(first)
    second["issue"]["updated_at"] = "2021-04-15T09:00:00+03:00"

    assert dedup_key(parse_webhook(first)) != dedup_key(parse_webhook(second))


def test_outlandish_status_code_falls_back_to_the_hash() -> None:
    payload = copy.deepcopy(OFFICIAL_STATUS_EXAMPLE)
    payload["issue"]["updated_at"] = "2021-04-14T17:00:00+03:00"
    payload["event"]["new_status"] = {"code": "x" * DEDUP_KEY_MAX_LENGTH}

    key = dedup_key(parse_webhook(payload))

    assert key.startswith("sha256:")


def test_ticket_creation_and_deletion_are_keyed_by_issue() -> None:
    created = parse_webhook(_payload("new_ticket", source="from_email"))
    created_again = parse_webhook(_payload("issue.created", source="from_contact"))
    deleted = parse_webhook({"event": {"event_type": "ticket_deleted"}, "issue": {"id": 153}})

    assert dedup_key(created) == dedup_key(created_again) == "ticket:153"
    assert dedup_key(deleted) == "deleted:153"


def test_other_events_are_keyed_by_content() -> None:
    files = parse_webhook(_payload("new_files"))
    other_files = parse_webhook(_payload("new_files", attachments=[{"id": "1"}]))

    assert dedup_key(files) == f"sha256:{files.fingerprint}"
    assert dedup_key(files) != dedup_key(other_files)

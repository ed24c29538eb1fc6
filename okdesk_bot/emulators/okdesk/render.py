"""REST JSON shapes of the emulated records, following the apidoc examples.

Ids are integers here (webhooks use strings, see :mod:`.webhooks`); timestamps are ISO 8601
with milliseconds and the account's offset, e.g. ``2016-03-15T18:05:17.568+03:00``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from okdesk_bot.emulators.okdesk.state import (
    ACCOUNT_TZ,
    Actor,
    Attachment,
    Comment,
    Company,
    Contact,
    Employee,
    Issue,
    OkdeskState,
    ParameterDef,
    Priority,
    Status,
)

Json = dict[str, Any]


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and the account's offset."""
    if moment is None:
        return None
    return moment.astimezone(ACCOUNT_TZ).isoformat(timespec="milliseconds")


def parameters(definitions: Mapping[str, ParameterDef], values: Mapping[str, Any]) -> list[Json]:
    """``parameters: [{code, name, field_type, value}]`` for the attributes that are set."""
    return [
        {
            "code": code,
            "name": definitions[code].name,
            "field_type": definitions[code].field_type,
            "value": value,
        }
        for code, value in values.items()
        if code in definitions
    ]


def status(record: Status, *, with_color: bool = False) -> Json:
    data: Json = {"code": record.code, "name": record.name}
    if with_color:
        data["color"] = record.color
    return data


def status_reference(record: Status) -> Json:
    """An item of ``GET /issues/statuses``; ``final`` marks "issues here count as done"."""
    return {"code": record.code, "name": record.name, "color": record.color, "final": record.final}


def priority(record: Priority, *, with_color: bool = False) -> Json:
    data: Json = {"code": record.code, "name": record.name}
    if with_color:
        data["color"] = record.color
    return data


def employee(record: Employee) -> Json:
    return {
        "id": record.id,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "patronymic": record.patronymic,
        "name": record.name,
        "position": record.position,
        "email": record.email,
        "login": record.login,
        "phone": record.phone,
        "active": record.active,
        "groups": [],
        "roles": [],
    }


def company(state: OkdeskState, record: Company) -> Json:
    category = state.categories.get(record.category_id) if record.category_id else None
    assignee = state.employees.get(record.default_assignee_id or 0)
    return {
        "id": record.id,
        "name": record.name,
        "additional_name": record.additional_name,
        "site": record.site,
        "email": record.email,
        "phone": record.phone,
        "crm_1c_id": record.crm_1c_id,
        "active": record.active,
        "address": record.address,
        "coordinates": None,
        "comment": record.comment,
        "observers": [],
        "contacts": [
            {"id": c.id, "name": c.name}
            for c in state.contacts.values()
            if c.company_id == record.id
        ],
        "default_assignee": {"id": assignee.id, "name": assignee.name} if assignee else None,
        "category": category.model_dump() if category else None,
        "attachments": [],
        "parameters": parameters(state.company_parameters, record.parameters),
    }


def contact(state: OkdeskState, record: Contact) -> Json:
    return {
        "id": record.id,
        "name": record.name,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "patronymic": record.patronymic,
        "position": record.position,
        "email": record.email,
        "phone": record.phone,
        "mobile_phone": record.mobile_phone,
        "comment": record.comment,
        "cc_email": None,
        "additional_emails": [],
        "login": record.login,
        "crm_1c_id": record.crm_1c_id,
        "updated_at": timestamp(record.updated_at),
        "company_id": record.company_id,
        "active": record.active,
        "access_level": list(record.access_level),
        "maintenance_entity_ids": [],
        "observers": [],
        "default_assignee": None,
        "parameters": parameters(state.contact_parameters, record.parameters),
        "observable_companies": [],
    }


def attachment(record: Attachment) -> Json:
    return {
        "id": record.id,
        "attachment_file_name": record.file_name,
        "description": record.description,
        "attachment_file_size": record.size,
        "is_public": record.is_public,
        "created_at": timestamp(record.created_at),
    }


def person_ref(state: OkdeskState, actor: Actor) -> Json:
    """``{id, name}`` of an employee or a contact."""
    return {"id": actor.id, "name": state.person(actor).name}


def comment(state: OkdeskState, record: Comment) -> Json:
    return {
        "id": record.id,
        "content": record.content,
        "public": record.public,
        "published_at": timestamp(record.published_at),
        "author": {**person_ref(state, record.author), "type": record.author.type},
        "attachments": [attachment(a) for a in state.attachments_by_ids(record.attachment_ids)],
    }


def _ref(record: Employee | Contact | Company | None) -> Json | None:
    return None if record is None else {"id": record.id, "name": record.name}


def issue(state: OkdeskState, record: Issue) -> Json:
    """The ``GET /issues/{id}`` shape (the company only as ``company_id``)."""
    comments = state.comments_of(record)
    issue_type = state.issue_types[record.type_code]
    old_status = state.statuses.get(record.old_status_code or "")
    return {
        "id": record.id,
        "title": record.title,
        "description": record.description,
        "created_at": timestamp(record.created_at),
        "completed_at": timestamp(record.completed_at),
        "deadline_at": timestamp(record.deadline_at),
        "source": record.source,
        "spent_time_total": 0,
        "start_execution_until": None,
        "planned_execution_in_hours": None,
        "planned_reaction_at": None,
        "reacted_at": None,
        "updated_at": timestamp(record.updated_at),
        "delayed_to": timestamp(record.delayed_to),
        "company_id": record.company_id,
        "group_id": None,
        "coexecutors": [],
        "service_object_id": None,
        "equipment_ids": [],
        "attachments": [attachment(a) for a in state.attachments_by_ids(record.attachment_ids)],
        "parameters": parameters(state.issue_parameters, record.parameters),
        "comments": {
            "count": len(comments),
            "last_at": timestamp(comments[-1].published_at) if comments else None,
        },
        "parent_id": None,
        "child_ids": [],
        "type": {
            "id": issue_type.id,
            "code": issue_type.code,
            "name": issue_type.name,
            "available_for_client": issue_type.available_for_client,
        },
        "priority": priority(state.priorities[record.priority_code]),
        "status": status(state.statuses[record.status_code]),
        "old_status": status(old_status) if old_status else None,
        "rate": {"id": record.rate_id, "value": record.rate} if record.rate else None,
        "address": None,
        "observers": [],
        "observer_groups": [],
        "contact": _ref(state.contacts.get(record.contact_id or 0)),
        "agreement": None,
        "assignee": _ref(state.employees.get(record.assignee_id or 0)),
        "author": person_ref(state, record.author),
    }


def issue_list_item(state: OkdeskState, record: Issue) -> Json:
    """The ``GET /issues/list`` item: related records as ``{id, name}``, colours, no
    description."""
    issue_type = state.issue_types[record.type_code]
    return {
        "id": record.id,
        "title": record.title,
        "created_at": timestamp(record.created_at),
        "completed_at": timestamp(record.completed_at),
        "deadline_at": timestamp(record.deadline_at),
        "planned_reaction_at": None,
        "reacted_at": None,
        "delay_to": timestamp(record.delayed_to),
        "updated_at": timestamp(record.updated_at),
        "status": status(state.statuses[record.status_code], with_color=True),
        "type": {"code": issue_type.code, "name": issue_type.name},
        "priority": priority(state.priorities[record.priority_code], with_color=True),
        "company": _ref(state.companies.get(record.company_id or 0)),
        "contact": _ref(state.contacts.get(record.contact_id or 0)),
        "service_object": None,
        "agreement": None,
        "equipments": [],
    }

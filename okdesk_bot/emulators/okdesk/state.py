"""The emulated Okdesk account: typed records and the rules that change them.

Everything lives in memory and is touched from one event loop only. Records are pydantic
models so that the seed file is validated by the same types the store uses. Mutations
validate their input the way Okdesk does and raise :class:`ValidationError` carrying the
Rails-style ``{field: [message]}`` mapping that the REST layer returns with HTTP 422.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ACCOUNT_TZ = timezone(timedelta(hours=3))
"""The account's time zone (Moscow, no DST); every timestamp is rendered in it."""

DELAYED_STATUS = "delayed"
"""The status code for which Okdesk requires ``delay_to`` (and by default a comment)."""

RATE_VALUES = ("bad", "normal", "good")

BLANK = "не может быть пустым"
MISSING = "отсутствует"
NOT_FOUND = "не найден"
NOT_ALLOWED = "имеет непредусмотренное значение"
TAKEN = "уже существует"

ActorType = Literal["employee", "contact"]
FieldType = Literal[
    "ftstring", "fttext", "ftdate", "ftdatetime", "ftcheckbox", "ftselect", "ftmultiselect"
]
IssueSource = Literal["from_employee", "from_contact", "from_email"]


def account_now() -> datetime:
    """Return the current time in the account's time zone."""
    return datetime.now(ACCOUNT_TZ)


class EmulatorError(Exception):
    """Base class of the errors an emulated Okdesk call can end with."""


class NotFoundError(EmulatorError):
    """The addressed record does not exist (HTTP 404)."""

    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"{entity} {entity_id} not found")
        self.entity = entity
        self.entity_id = entity_id


class ValidationError(EmulatorError):
    """The input is invalid (HTTP 422); ``errors`` is keyed by field, values are messages."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(f"validation failed: {dict(errors)}")
        self.errors: dict[str, Any] = dict(errors)


class BadRequestError(EmulatorError):
    """The request cannot be parsed at all (HTTP 400)."""


class ErrorCollector:
    """Accumulates field errors so one response reports all of them, as Rails does."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: str | Sequence[str], message: str) -> None:
        """Add ``message`` under ``path`` (a field name or a nested path)."""
        keys = [path] if isinstance(path, str) else list(path)
        node = self.errors
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(keys[-1], []).append(message)

    def raise_if_any(self) -> None:
        """Raise :class:`ValidationError` when something was collected."""
        if self.errors:
            raise ValidationError(self.errors)


class Record(BaseModel):
    """Base of the stored records: strict about unknown fields, mutable."""

    model_config = ConfigDict(extra="forbid")


class Actor(Record):
    """A reference to the person behind an action: an employee or a contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ActorType
    id: int


class Status(Record):
    """An issue status of the account (codes are configurable in Okdesk)."""

    code: str
    name: str
    color: str = "#999999"
    final: bool = False
    comment_required: bool = False


class Priority(Record):
    code: str
    name: str
    color: str = "#999999"
    default: bool = False


class IssueType(Record):
    id: int
    code: str
    name: str
    inner: bool = False
    available_for_client: bool = True
    default: bool = False


class ParameterDef(Record):
    """An additional attribute ("custom parameter") definition."""

    code: str
    name: str
    field_type: FieldType = "ftstring"


class Category(Record):
    id: int
    code: str
    name: str
    color: str = "#999999"


class Employee(Record):
    id: int
    first_name: str
    last_name: str
    patronymic: str = ""
    position: str = ""
    email: str | None = None
    login: str | None = None
    phone: str | None = None
    active: bool = True

    @property
    def name(self) -> str:
        """Full name as Okdesk renders it: last, first, patronymic."""
        return _join_name(self.last_name, self.first_name, self.patronymic)


class Company(Record):
    id: int
    name: str
    additional_name: str | None = None
    site: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    comment: str | None = None
    crm_1c_id: str | None = None
    active: bool = True
    category_id: int | None = None
    default_assignee_id: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    created_at: AwareDatetime = Field(default_factory=account_now)
    updated_at: AwareDatetime = Field(default_factory=account_now)


class Contact(Record):
    id: int
    first_name: str
    last_name: str
    patronymic: str = ""
    position: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    comment: str | None = None
    login: str | None = None
    crm_1c_id: str | None = None
    company_id: int | None = None
    active: bool = True
    access_level: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    created_at: AwareDatetime = Field(default_factory=account_now)
    updated_at: AwareDatetime = Field(default_factory=account_now)

    @property
    def name(self) -> str:
        """``"<last_name> <first_name> <patronymic>"``, as Okdesk builds it."""
        return _join_name(self.last_name, self.first_name, self.patronymic)


class Attachment(Record):
    id: int
    issue_id: int
    comment_id: int | None = None
    file_name: str
    content_type: str = "application/octet-stream"
    content: bytes = b""
    description: str = ""
    is_public: bool = False
    created_at: AwareDatetime = Field(default_factory=account_now)

    @property
    def size(self) -> int:
        return len(self.content)


class Comment(Record):
    id: int
    issue_id: int
    content: str
    public: bool
    author: Actor
    published_at: AwareDatetime
    attachment_ids: list[int] = Field(default_factory=list)


class Issue(Record):
    id: int
    title: str
    description: str = ""
    source: IssueSource = "from_employee"
    type_code: str
    priority_code: str
    status_code: str
    old_status_code: str | None = None
    company_id: int | None = None
    contact_id: int | None = None
    author: Actor
    assignee_id: int | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    completed_at: AwareDatetime | None = None
    deadline_at: AwareDatetime | None = None
    delayed_to: AwareDatetime | None = None
    rate: str | None = None
    rate_id: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    attachment_ids: list[int] = Field(default_factory=list)


class SeedData(Record):
    """The shape of ``seed.json``: the account's references and initial records."""

    api_employee_id: int
    support_employee_id: int
    statuses: list[Status] = Field(min_length=1)
    transitions: dict[str, list[str]] | None = None
    priorities: list[Priority] = Field(min_length=1)
    issue_types: list[IssueType] = Field(min_length=1)
    issue_parameters: list[ParameterDef] = Field(default_factory=list)
    company_categories: list[Category] = Field(default_factory=list)
    company_parameters: list[ParameterDef] = Field(default_factory=list)
    contact_parameters: list[ParameterDef] = Field(default_factory=list)
    employees: list[Employee] = Field(min_length=1)
    companies: list[Company] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FileUpload:
    """A file sent with an issue, a comment or a staff action."""

    file_name: str
    content: bytes
    content_type: str = "application/octet-stream"
    description: str = ""
    is_public: bool | None = None


@dataclass(frozen=True, slots=True)
class IssueDraft:
    """The validated-by-type input of issue creation; the store checks the semantics."""

    author: Actor
    title: str | None
    description: str = ""
    company_id: int | None = None
    contact_id: int | None = None
    type_code: str | None = None
    priority_code: str | None = None
    assignee_id: int | None = None
    deadline_at: datetime | None = None
    custom_parameters: Mapping[str, Any] = field(default_factory=dict)
    attachments: Sequence[FileUpload] = ()
    source: IssueSource | None = None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What a status change did; the webhook ``new_ticket_status`` is built from it."""

    issue: Issue
    old_status: Status
    new_status: Status
    comment: Comment | None


def _join_name(*parts: str) -> str:
    return " ".join(part for part in parts if part)


class Identified(Protocol):
    """Any record with an integer ``id``."""

    @property
    def id(self) -> int: ...


def _next_ids(records: Iterable[Identified]) -> Iterator[int]:
    """Ids continue after the largest seeded one."""
    return itertools.count(max((record.id for record in records), default=0) + 1)


class OkdeskState:
    """All records of one emulated account plus the operations Okdesk allows on them."""

    def __init__(self, seed: SeedData, *, clock: Callable[[], datetime] = account_now) -> None:
        self.clock = clock
        self.api_employee_id = seed.api_employee_id
        self.support_employee_id = seed.support_employee_id
        self.statuses = {status.code: status for status in seed.statuses}
        self.transitions = (
            None
            if seed.transitions is None
            else {code: frozenset(targets) for code, targets in seed.transitions.items()}
        )
        self.priorities = {priority.code: priority for priority in seed.priorities}
        self.issue_types = {issue_type.code: issue_type for issue_type in seed.issue_types}
        self.issue_parameters = {p.code: p for p in seed.issue_parameters}
        self.company_parameters = {p.code: p for p in seed.company_parameters}
        self.contact_parameters = {p.code: p for p in seed.contact_parameters}
        self.categories = {category.id: category for category in seed.company_categories}
        self.employees = {employee.id: employee for employee in seed.employees}
        self.companies = {company.id: company for company in seed.companies}
        self.contacts = {contact.id: contact for contact in seed.contacts}
        self.issues = {issue.id: issue for issue in seed.issues}
        self.comments = {comment.id: comment for comment in seed.comments}
        self.attachments: dict[int, Attachment] = {}
        self._company_ids = _next_ids(seed.companies)
        self._contact_ids = _next_ids(seed.contacts)
        self._issue_ids = _next_ids(seed.issues)
        self._comment_ids = _next_ids(seed.comments)
        self._attachment_ids = itertools.count(1)
        self._rate_ids = itertools.count(1)
        self._check_references()

    # -- lookups -------------------------------------------------------------------------

    def issue(self, issue_id: int) -> Issue:
        try:
            return self.issues[issue_id]
        except KeyError:
            raise NotFoundError("issue", issue_id) from None

    def company(self, company_id: int) -> Company:
        try:
            return self.companies[company_id]
        except KeyError:
            raise NotFoundError("company", company_id) from None

    def contact(self, contact_id: int) -> Contact:
        try:
            return self.contacts[contact_id]
        except KeyError:
            raise NotFoundError("contact", contact_id) from None

    def employee(self, employee_id: int) -> Employee:
        try:
            return self.employees[employee_id]
        except KeyError:
            raise NotFoundError("employee", employee_id) from None

    def attachment(self, issue_id: int, attachment_id: int) -> Attachment:
        attachment = self.attachments.get(attachment_id)
        if attachment is None or attachment.issue_id != issue_id:
            raise NotFoundError("attachment", attachment_id)
        return attachment

    def person(self, actor: Actor) -> Employee | Contact:
        """The employee or contact an actor refers to."""
        if actor.type == "employee":
            return self.employee(actor.id)
        return self.contact(actor.id)

    def exists(self, actor: Actor) -> bool:
        pool: Mapping[int, object] = self.employees if actor.type == "employee" else self.contacts
        return actor.id in pool

    def comments_of(self, issue: Issue) -> list[Comment]:
        found = (c for c in self.comments.values() if c.issue_id == issue.id)
        return sorted(found, key=lambda comment: (comment.published_at, comment.id))

    def attachments_by_ids(self, attachment_ids: Sequence[int]) -> list[Attachment]:
        return [self.attachments[i] for i in attachment_ids if i in self.attachments]

    def default_priority(self) -> Priority:
        return next(
            (p for p in self.priorities.values() if p.default),
            next(iter(self.priorities.values())),
        )

    def default_type(self) -> IssueType:
        return next(
            (t for t in self.issue_types.values() if t.default),
            next(iter(self.issue_types.values())),
        )

    def initial_status(self) -> Status:
        """New issues start in the first configured status."""
        return next(iter(self.statuses.values()))

    # -- directory -----------------------------------------------------------------------

    def create_company(self, values: Mapping[str, Any]) -> Company:
        """Create a company from already type-coerced ``values`` (the REST field names)."""
        errors = ErrorCollector()
        if not values.get("name"):
            errors.add("name", BLANK)
        category_id = self._category_id(values.get("category_code"), errors)
        assignee_id = values.get("default_assignee_id")
        if assignee_id is not None and assignee_id not in self.employees:
            errors.add("default_assignee_id", NOT_FOUND)
        parameters = _custom_parameters(
            self.company_parameters, values.get("custom_parameters") or {}, errors
        )
        errors.raise_if_any()
        now = self.clock()
        company = Company(
            id=next(self._company_ids),
            category_id=category_id,
            parameters=parameters,
            created_at=now,
            updated_at=now,
            **{key: values[key] for key in _COMPANY_FIELDS if values.get(key) is not None},
        )
        self.companies[company.id] = company
        return company

    def create_contact(self, values: Mapping[str, Any]) -> Contact:
        """Create a contact; ``first_name`` and ``last_name`` are required."""
        errors = ErrorCollector()
        for name in ("last_name", "first_name"):
            if not values.get(name):
                errors.add(name, BLANK)
        self._check_contact_links(values, errors, own_id=None)
        parameters = _custom_parameters(
            self.contact_parameters, values.get("custom_parameters") or {}, errors
        )
        errors.raise_if_any()
        now = self.clock()
        contact = Contact(
            id=next(self._contact_ids),
            first_name=values["first_name"],
            last_name=values["last_name"],
            parameters=parameters,
            created_at=now,
            updated_at=now,
            **{key: values[key] for key in _CONTACT_FIELDS if values.get(key) is not None},
        )
        self.contacts[contact.id] = contact
        return contact

    def update_contact(self, contact_id: int, values: Mapping[str, Any]) -> Contact:
        """Apply the given fields to a contact (absent fields stay as they are)."""
        contact = self.contact(contact_id)
        errors = ErrorCollector()
        for name in ("last_name", "first_name"):
            if name in values and not values[name]:
                errors.add(name, BLANK)
        self._check_contact_links(values, errors, own_id=contact_id)
        parameters = _custom_parameters(
            self.contact_parameters, values.get("custom_parameters") or {}, errors
        )
        errors.raise_if_any()
        for key in ("first_name", "last_name", *_CONTACT_FIELDS):
            if key in values:
                setattr(contact, key, values[key])
        contact.parameters.update(parameters)
        contact.updated_at = self.clock()
        return contact

    # -- issues --------------------------------------------------------------------------

    def create_issue(self, draft: IssueDraft) -> Issue:
        """Create an issue; an empty type or priority means the account default.

        Without ``company_id`` the issue gets the contact's company, as Okdesk does when a
        contact is given.
        """
        errors = ErrorCollector()
        if not (draft.title or "").strip():
            errors.add("title", BLANK)
        if not self.exists(draft.author):
            errors.add(("author", "id"), NOT_FOUND)
        if draft.contact_id is not None and draft.contact_id not in self.contacts:
            errors.add("contact_id", NOT_FOUND)
        if draft.company_id is not None and draft.company_id not in self.companies:
            errors.add("company_id", NOT_FOUND)
        if draft.assignee_id is not None and draft.assignee_id not in self.employees:
            errors.add("assignee_id", NOT_FOUND)
        if draft.type_code and draft.type_code not in self.issue_types:
            errors.add("type", NOT_ALLOWED)
        if draft.priority_code and draft.priority_code not in self.priorities:
            errors.add("priority", NOT_ALLOWED)
        parameters = _custom_parameters(self.issue_parameters, draft.custom_parameters, errors)
        errors.raise_if_any()
        company_id = draft.company_id
        if company_id is None and draft.contact_id is not None:
            company_id = self.contacts[draft.contact_id].company_id
        now = self.clock()
        issue = Issue(
            id=next(self._issue_ids),
            title=(draft.title or "").strip(),
            description=draft.description,
            source=draft.source or _source_of(draft.author),
            type_code=draft.type_code or self.default_type().code,
            priority_code=draft.priority_code or self.default_priority().code,
            status_code=self.initial_status().code,
            company_id=company_id,
            contact_id=draft.contact_id,
            author=draft.author,
            assignee_id=draft.assignee_id,
            created_at=now,
            updated_at=now,
            deadline_at=draft.deadline_at,
            parameters=parameters,
        )
        self.issues[issue.id] = issue
        self.add_attachments(
            issue, draft.attachments, default_public=draft.author.type == "contact"
        )
        return issue

    def change_status(
        self,
        issue_id: int,
        code: str | None,
        *,
        author: Actor,
        comment: str | None = None,
        comment_public: bool = False,
        delay_to: datetime | None = None,
        enforce_requirements: bool = True,
    ) -> StatusChange:
        """Move an issue to another status.

        ``enforce_requirements`` applies the API rules (``delay_to`` for ``delayed``, a comment
        where the status requires one); the staff UI path skips them.
        """
        issue = self.issue(issue_id)
        old = self.statuses[issue.status_code]
        new = self._target_status(old, code, comment, delay_to, enforce_requirements)
        now = self.clock()
        issue.old_status_code = old.code
        issue.status_code = new.code
        issue.delayed_to = delay_to if new.code == DELAYED_STATUS else None
        if new.final and not old.final:
            issue.completed_at = now
        elif not new.final:
            issue.completed_at = None
        issue.updated_at = now
        note = None
        if comment:
            note = self.add_comment(issue.id, comment, author=author, public=comment_public)
        return StatusChange(issue=issue, old_status=old, new_status=new, comment=note)

    def add_comment(
        self,
        issue_id: int,
        content: str | None,
        *,
        author: Actor | None,
        public: bool,
        attachments: Sequence[FileUpload] = (),
    ) -> Comment:
        """Add a comment; a contact's comment is always public (contacts see only those)."""
        issue = self.issue(issue_id)
        errors = ErrorCollector()
        if not (content or "").strip():
            errors.add("content", BLANK)
        if author is None:
            errors.add("author_id", MISSING)
        elif not self.exists(author):
            errors.add("author_id", NOT_FOUND)
        errors.raise_if_any()
        assert author is not None  # narrowed by the collector above
        now = self.clock()
        comment = Comment(
            id=next(self._comment_ids),
            issue_id=issue.id,
            content=content or "",
            public=public or author.type == "contact",
            author=author,
            published_at=now,
        )
        self.comments[comment.id] = comment
        added = self.add_attachments(
            issue, attachments, default_public=comment.public, comment_id=comment.id
        )
        comment.attachment_ids = [attachment.id for attachment in added]
        issue.updated_at = now
        return comment

    def add_attachments(
        self,
        issue: Issue,
        uploads: Sequence[FileUpload],
        *,
        default_public: bool,
        comment_id: int | None = None,
    ) -> list[Attachment]:
        """Store files on an issue (or on one of its comments)."""
        now = self.clock()
        added = []
        for upload in uploads:
            attachment = Attachment(
                id=next(self._attachment_ids),
                issue_id=issue.id,
                comment_id=comment_id,
                file_name=upload.file_name,
                content_type=upload.content_type,
                content=upload.content,
                description=upload.description,
                is_public=default_public if upload.is_public is None else upload.is_public,
                created_at=now,
            )
            self.attachments[attachment.id] = attachment
            added.append(attachment)
        if comment_id is None:
            issue.attachment_ids.extend(attachment.id for attachment in added)
        if added:
            issue.updated_at = now
        return added

    def assign(self, issue_id: int, employee_id: int | None) -> tuple[Issue, int | None]:
        """Set the assignee; returns the issue and the previous assignee id."""
        issue = self.issue(issue_id)
        if employee_id is not None and employee_id not in self.employees:
            raise ValidationError({"assignee_id": [NOT_FOUND]})
        previous = issue.assignee_id
        issue.assignee_id = employee_id
        issue.updated_at = self.clock()
        return issue, previous

    def rate(self, issue_id: int, value: str | None) -> Issue:
        """Store the client's rating (``bad``, ``normal`` or ``good``)."""
        issue = self.issue(issue_id)
        if not value:
            raise ValidationError({"rate": [BLANK]})
        if value not in RATE_VALUES:
            raise ValidationError({"rate": [NOT_ALLOWED]})
        issue.rate = value
        issue.rate_id = next(self._rate_ids)
        issue.updated_at = self.clock()
        return issue

    def delete_issue(self, issue_id: int) -> Issue:
        """Remove an issue with its comments and files; returns the removed record."""
        issue = self.issues.pop(issue_id, None)
        if issue is None:
            raise NotFoundError("issue", issue_id)
        for comment_id in [c.id for c in self.comments.values() if c.issue_id == issue_id]:
            del self.comments[comment_id]
        for attachment_id in [a.id for a in self.attachments.values() if a.issue_id == issue_id]:
            del self.attachments[attachment_id]
        return issue

    # -- helpers -------------------------------------------------------------------------

    def _target_status(
        self,
        old: Status,
        code: str | None,
        comment: str | None,
        delay_to: datetime | None,
        enforce_requirements: bool,
    ) -> Status:
        if not code:
            raise ValidationError({"code": [BLANK]})
        new = self.statuses.get(code)
        if new is None:
            raise ValidationError({"code": [NOT_ALLOWED]})
        if not self.transition_allowed(old.code, new.code):
            message = f"переход из статуса «{old.name}» в статус «{new.name}» недоступен"
            raise ValidationError({"code": [message]})
        if enforce_requirements:
            errors = ErrorCollector()
            if new.code == DELAYED_STATUS and delay_to is None:
                errors.add("delay_to", BLANK)
            if new.comment_required and not (comment or "").strip():
                errors.add("comment", BLANK)
            errors.raise_if_any()
        return new

    def transition_allowed(self, old_code: str, new_code: str) -> bool:
        """Any two distinct statuses unless the seed lists the allowed transitions."""
        if old_code == new_code:
            return False
        if self.transitions is None:
            return True
        return new_code in self.transitions.get(old_code, frozenset())

    def _category_id(self, code: object, errors: ErrorCollector) -> int | None:
        if code is None:
            return None
        for category in self.categories.values():
            if category.code == code:
                return category.id
        errors.add("category_code", NOT_FOUND)
        return None

    def _check_contact_links(
        self, values: Mapping[str, Any], errors: ErrorCollector, *, own_id: int | None
    ) -> None:
        company_id = values.get("company_id")
        if company_id is not None and company_id not in self.companies:
            errors.add("company_id", NOT_FOUND)
        login = values.get("login")
        if login and any(c.login == login and c.id != own_id for c in self.contacts.values()):
            errors.add("login", TAKEN)

    def _check_references(self) -> None:
        """Reject a seed whose records point at things that do not exist."""
        problems = [
            f"issue {issue.id}: {what}"
            for issue in self.issues.values()
            for what, ok in (
                ("status", issue.status_code in self.statuses),
                ("priority", issue.priority_code in self.priorities),
                ("type", issue.type_code in self.issue_types),
                ("company", issue.company_id is None or issue.company_id in self.companies),
                ("contact", issue.contact_id is None or issue.contact_id in self.contacts),
                ("assignee", issue.assignee_id is None or issue.assignee_id in self.employees),
                ("author", self.exists(issue.author)),
            )
            if not ok
        ]
        problems += [
            f"comment {comment.id}: issue or author"
            for comment in self.comments.values()
            if comment.issue_id not in self.issues or not self.exists(comment.author)
        ]
        problems += [
            f"contact {contact.id}: company"
            for contact in self.contacts.values()
            if contact.company_id is not None and contact.company_id not in self.companies
        ]
        for employee_id in (self.api_employee_id, self.support_employee_id):
            if employee_id not in self.employees:
                problems.append(f"employee {employee_id} is not seeded")
        if problems:
            raise ValueError("inconsistent Okdesk seed: " + "; ".join(problems))


_COMPANY_FIELDS = (
    "name",
    "additional_name",
    "site",
    "email",
    "phone",
    "address",
    "comment",
    "crm_1c_id",
    "default_assignee_id",
)
_CONTACT_FIELDS = (
    "patronymic",
    "position",
    "email",
    "phone",
    "mobile_phone",
    "comment",
    "login",
    "crm_1c_id",
    "company_id",
    "active",
    "access_level",
)


def _source_of(author: Actor) -> IssueSource:
    return "from_contact" if author.type == "contact" else "from_employee"


def _custom_parameters(
    definitions: Mapping[str, ParameterDef], values: Mapping[str, Any], errors: ErrorCollector
) -> dict[str, Any]:
    """Keep the values whose code is defined; report the others."""
    accepted: dict[str, Any] = {}
    for code, value in values.items():
        definition = definitions.get(code)
        if definition is None:
            errors.add(("custom_parameters", code), NOT_FOUND)
        else:
            accepted[code] = _coerce_parameter(definition.field_type, value)
    return accepted


def _coerce_parameter(field_type: FieldType, value: object) -> object:
    """Store a submitted attribute value in the JSON type Okdesk returns for its field type."""
    if value is None:
        return None
    if field_type == "ftcheckbox":
        return value if isinstance(value, bool) else str(value).lower() in {"true", "1"}
    if field_type == "ftmultiselect":
        items = value if isinstance(value, list) else [value]
        return [str(item) for item in items]
    return str(value)

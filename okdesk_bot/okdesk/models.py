"""Typed Okdesk records, tolerant of what the sources disagree on.

Parsing follows ``/work/shared/okdesk-api.md``:

* ids arrive as numbers or numeric strings and become ``int``;
* a record may come flat (``{...}``) or wrapped in its entity name (``{"issue": {...}}``);
* unknown fields are ignored and nearly every field is optional (only ``id`` and a reference's
  ``code`` are required);
* timestamps are ISO 8601 with milliseconds and an offset and become aware datetimes;
* the two REST shapes of an issue (GET by id: ``company_id``, ``contact {id,name}``; list item:
  ``company {id,name}``, coloured ``status``, no description) become one :class:`Issue`.

Request inputs (:class:`IssueCreate`, :class:`ContactCreate`, :class:`ContactUpdate`,
:class:`Upload`) validate what the client can check before a request is sent.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)

__all__ = [
    "Attachment",
    "Comment",
    "Company",
    "Contact",
    "ContactCreate",
    "ContactUpdate",
    "CustomParameter",
    "Employee",
    "Issue",
    "IssueAuthor",
    "IssueCreate",
    "IssueType",
    "NamedRef",
    "Priority",
    "Rate",
    "Status",
    "Upload",
    "UserRef",
]

Rate = Literal["bad", "normal", "good"]
"""The CSAT values of ``POST /issues/{id}/rates`` (apidoc, via apepenkov/okdesk_api)."""

_T = TypeVar("_T")


def _none_as_empty(value: object) -> object:
    return [] if value is None else value


def _blank_as_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _assume_utc_if_naive(value: datetime | None) -> datetime | None:
    # Okdesk always sends an offset; a naive value is read as UTC rather than rejected, so that
    # one odd timestamp cannot make a whole issue unreadable.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


Items = Annotated[list[_T], BeforeValidator(_none_as_empty)]
"""A list that may also arrive as ``null``."""

Timestamp = Annotated[
    datetime | None, BeforeValidator(_blank_as_none), AfterValidator(_assume_utc_if_naive)
]
"""An aware datetime, or ``None`` for ``null``/``""``."""


def _unwrap(data: object, wrapper: str | None) -> object:
    if (
        wrapper is not None
        and isinstance(data, dict)
        and isinstance(data.get(wrapper), dict)
        and "id" not in data
    ):
        return data[wrapper]
    return data


class OkdeskModel(BaseModel):
    """Base of the records read from Okdesk: immutable, extra fields ignored.

    A subclass that sets ``wrapper`` also accepts its payload wrapped in that key.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    wrapper: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _prepare_payload(cls, data: Any) -> Any:
        data = _unwrap(data, cls.wrapper)
        return cls._normalise(dict(data)) if isinstance(data, dict) else data

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Rewrite alternative field names and shapes into the model's own (a hook)."""
        return data


class NamedRef(OkdeskModel):
    """A reference such as ``{"id": 40, "name": "…"}`` (company, contact, group, assignee)."""

    id: int
    name: str | None = None


class UserRef(OkdeskModel):
    """A person who did something: an employee or a contact."""

    id: int
    name: str | None = None
    type: str | None = None


class Status(OkdeskModel):
    """An issue status, from the statuses reference or embedded in an issue.

    The shape of the reference is not documented; ``is_final`` is read from whichever flag
    the server sends (``final``, ``is_final``, ``completed``, ``is_completed``, ``finished``).
    """

    _FINALITY_KEYS: ClassVar[tuple[str, ...]] = (
        "is_final",
        "final",
        "completed",
        "is_completed",
        "finished",
    )

    code: str
    name: str | None = None
    color: str | None = None
    is_final: bool | None = None

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("is_final") is None:
            for key in cls._FINALITY_KEYS:
                if isinstance(data.get(key), bool):
                    data["is_final"] = data[key]
                    break
        return data


class Priority(OkdeskModel):
    """An issue priority."""

    code: str
    name: str | None = None
    color: str | None = None


class IssueType(OkdeskModel):
    """An issue type."""

    code: str
    name: str | None = None
    available_for_client: bool | None = None


class CustomParameter(OkdeskModel):
    """An additional attribute value (REST ``field_type``; webhooks say ``type``)."""

    code: str
    name: str | None = None
    field_type: str | None = None
    value: JsonValue = None

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("field_type") is None and "type" in data:
            data["field_type"] = data["type"]
        return data


class Attachment(OkdeskModel):
    """A file attached to an issue, a comment or a company.

    ``attachment_url`` is present only when the file is fetched on its own, and works for
    30 seconds after it is issued.
    """

    wrapper = "attachment"

    id: int
    attachment_file_name: str | None = None
    description: str | None = None
    attachment_file_size: int | None = None
    is_public: bool | None = None
    created_at: Timestamp = None
    attachment_url: str | None = None


def _parameter_value(parameters: list[CustomParameter], code: str) -> JsonValue:
    for parameter in parameters:
        if parameter.code == code:
            return parameter.value
    return None


class Company(OkdeskModel):
    """A client company. Its INN, if any, lives in a custom parameter (``parameters``)."""

    wrapper = "company"

    id: int
    name: str | None = None
    additional_name: str | None = None
    phone: str | None = None
    email: str | None = None
    site: str | None = None
    address: str | None = None
    comment: str | None = None
    crm_1c_id: str | None = None
    active: bool | None = None
    category: NamedRef | None = None
    parameters: Items[CustomParameter] = []
    attachments: Items[Attachment] = []

    def parameter_value(self, code: str) -> JsonValue:
        """The value of the custom parameter ``code``, or ``None`` when the company has none."""
        return _parameter_value(self.parameters, code)


class Contact(OkdeskModel):
    """A contact person of a client company."""

    wrapper = "contact"

    id: int
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    position: str | None = None
    comment: str | None = None
    login: str | None = None
    company_id: int | None = None
    active: bool | None = None
    access_level: Items[str] = []
    parameters: Items[CustomParameter] = []
    updated_at: Timestamp = None

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        company = data.get("company")
        if data.get("company_id") is None and isinstance(company, dict):
            data["company_id"] = company.get("id")
        return data

    @property
    def display_name(self) -> str:
        """The server-built ``name``, else ``last first patronymic``, else ``#id``."""
        return _display_name(self.name, self.last_name, self.first_name, self.patronymic, self.id)

    def parameter_value(self, code: str) -> JsonValue:
        """The value of the custom parameter ``code``, or ``None`` when the contact has none."""
        return _parameter_value(self.parameters, code)


class Employee(OkdeskModel):
    """A helpdesk employee."""

    wrapper = "employee"

    id: int
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    email: str | None = None
    phone: str | None = None
    login: str | None = None
    position: str | None = None
    active: bool | None = None

    @property
    def display_name(self) -> str:
        """The server-built ``name``, else ``last first patronymic``, else ``#id``."""
        return _display_name(self.name, self.last_name, self.first_name, self.patronymic, self.id)


def _display_name(name: str | None, *parts_and_id: str | int | None) -> str:
    *parts, record_id = parts_and_id
    if name:
        return name
    joined = " ".join(part for part in parts if isinstance(part, str) and part)
    return joined or f"#{record_id}"


class Comment(OkdeskModel):
    """A comment on an issue. ``content`` is HTML."""

    wrapper = "comment"

    id: int
    content: str = ""
    public: bool | None = None
    published_at: Timestamp = None
    author: UserRef | None = None
    attachments: Items[Attachment] = []

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("public") is None and "is_public" in data:
            data["public"] = data["is_public"]
        if data.get("published_at") is None and "created_at" in data:
            data["published_at"] = data["created_at"]
        if data.get("content") is None:
            data["content"] = ""
        return data


class Issue(OkdeskModel):
    """An issue (ticket), from ``GET /issues/{id}``, an ``issues/list`` item or a write.

    ``company`` and ``contact`` are references whichever shape arrived: a bare ``company_id``
    becomes ``NamedRef(id=…, name=None)``. ``rate`` is the rating value (``good``…), read
    from REST's ``{"id":…, "value":…}`` or a plain string.
    """

    wrapper = "issue"

    id: int
    title: str | None = None
    description: str | None = None
    status: Status | None = None
    old_status: Status | None = None
    priority: Priority | None = None
    type: IssueType | None = None
    company: NamedRef | None = None
    contact: NamedRef | None = None
    author: UserRef | None = None
    assignee: NamedRef | None = None
    source: str | None = None
    rate: str | None = None
    parent_id: int | None = None
    child_ids: Items[int] = []
    created_at: Timestamp = None
    updated_at: Timestamp = None
    completed_at: Timestamp = None
    deadline_at: Timestamp = None
    delayed_to: Timestamp = None
    attachments: Items[Attachment] = []
    parameters: Items[CustomParameter] = []

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        for ref in ("company", "contact"):
            ref_id = data.get(f"{ref}_id")
            if data.get(ref) is None and ref_id is not None:
                data[ref] = {"id": ref_id}
        rate = data.get("rate")
        if isinstance(rate, dict):
            data["rate"] = rate.get("value")
        return data

    @property
    def company_id(self) -> int | None:
        """The client company's id, from either issue shape."""
        return self.company.id if self.company else None

    @property
    def contact_id(self) -> int | None:
        """The contact's id, from either issue shape."""
        return self.contact.id if self.contact else None

    @property
    def status_code(self) -> str | None:
        """The current status code (``opened``, ``completed``…), if the server sent it."""
        return self.status.code if self.status else None

    def parameter_value(self, code: str) -> JsonValue:
        """The value of the custom parameter ``code``, or ``None`` when the issue has none."""
        return _parameter_value(self.parameters, code)


class _RequestModel(BaseModel):
    """Base of request inputs: unknown keyword arguments are a programming error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_fields(self) -> dict[str, JsonValue]:
        """The fields to send, by their API names, without the ones left unset or ``None``."""
        dumped: dict[str, JsonValue] = self.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return dumped


class IssueAuthor(_RequestModel):
    """Who files an issue on whose behalf; Okdesk honours it only for Administrator keys."""

    id: int
    type: Literal["contact", "employee"] = "contact"


class IssueCreate(_RequestModel):
    """The data of ``POST /issues/``.

    ``type_code`` and ``priority_code`` are sent as the API's ``type`` and ``priority``; when
    left out Okdesk applies the account's defaults.
    """

    title: str = Field(min_length=1)
    description: str | None = None
    company_id: int | None = None
    contact_id: int | None = None
    type_code: str | None = Field(default=None, serialization_alias="type")
    priority_code: str | None = Field(default=None, serialization_alias="priority")
    assignee_id: int | None = None
    group_id: int | None = None
    maintenance_entity_id: int | None = None
    parent_id: int | None = None
    author: IssueAuthor | None = None
    custom_parameters: dict[str, JsonValue] | None = None


class ContactCreate(_RequestModel):
    """The data of ``POST /contacts/``. Which fields Okdesk requires is account-dependent."""

    first_name: str = Field(min_length=1)
    last_name: str | None = None
    patronymic: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    company_id: int | None = None
    position: str | None = None
    comment: str | None = None
    access_level: list[str] | None = None
    custom_parameters: dict[str, JsonValue] | None = None


class ContactUpdate(_RequestModel):
    """The changes of ``PATCH /contacts/{id}``: only the fields given are sent.

    A field set explicitly to ``None`` is sent as ``null`` and clears the value.
    """

    first_name: str | None = None
    last_name: str | None = None
    patronymic: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    company_id: int | None = None
    position: str | None = None
    comment: str | None = None
    access_level: list[str] | None = None
    custom_parameters: dict[str, JsonValue] | None = None

    def to_fields(self) -> dict[str, JsonValue]:
        """The fields that were given, ``None`` included."""
        dumped: dict[str, JsonValue] = self.model_dump(
            mode="json", by_alias=True, exclude_unset=True
        )
        return dumped


@dataclass(frozen=True, slots=True)
class Upload:
    """A file to attach to a new issue or comment (sent as multipart/form-data)."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"
    is_public: bool = True
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.filename.strip():
            msg = "an upload needs a file name"
            raise ValueError(msg)

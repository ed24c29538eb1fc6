"""REST routes for companies, contacts and employees.

Search (``GET /companies/`` and ``GET /contacts/``) returns one object, the lowest-id
record matching every given parameter. When nothing matches, or no search parameter is
given, the answer is **200 with an empty object** ``{}``: the apidoc promises a single object,
a public client of the contact search tests ``len(response) == 0`` and another treats a
falsy body as "not found", so an empty JSON object satisfies every documented consumer
while staying parseable JSON. ``search_string`` switches to a case-insensitive substring
search that returns an array and ignores the other parameters.

Phone search compares the stored string exactly (``+79991234567`` and ``89991234567`` are
different numbers to Okdesk); a contact matches on ``phone`` or ``mobile_phone``. A ``+``
sent unencoded arrives as a space and therefore finds nothing, as on the real service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from okdesk_bot.emulators.okdesk import render
from okdesk_bot.emulators.okdesk.desk import Helpdesk
from okdesk_bot.emulators.okdesk.params import (
    Cursor,
    MomentRange,
    Params,
    int_list,
    opt_bool,
    opt_int,
    opt_mapping,
    opt_str,
    parse_moment,
    str_list,
    unwrap,
)
from okdesk_bot.emulators.okdesk.state import (
    Company,
    Contact,
    Identified,
    OkdeskState,
    ParameterDef,
)
from okdesk_bot.emulators.okdesk.webutil import (
    ACTOR,
    add_route,
    json_errors,
    query_params,
    read_body,
    respond,
)

R = TypeVar("R", bound=Identified)

_COMPANY_TEXT_FIELDS = (
    "name",
    "additional_name",
    "site",
    "email",
    "phone",
    "address",
    "comment",
    "crm_1c_id",
    "category_code",
)
_CONTACT_TEXT_FIELDS = (
    "first_name",
    "last_name",
    "patronymic",
    "position",
    "email",
    "phone",
    "mobile_phone",
    "comment",
    "login",
    "crm_1c_id",
)
_NULL = "#null"


class DirectoryApi:
    """Handlers of ``/api/v1/companies``, ``/api/v1/contacts`` and ``/api/v1/employees``."""

    def __init__(self, desk: Helpdesk) -> None:
        self._desk = desk

    @property
    def _state(self) -> OkdeskState:
        return self._desk.state

    def register(self, router: web.UrlDispatcher) -> None:
        add_route(router, "GET", "/api/v1/companies", self.search_companies)
        add_route(router, "POST", "/api/v1/companies", self.create_company)
        add_route(router, "GET", "/api/v1/companies/list", self.list_companies)
        add_route(router, "GET", r"/api/v1/companies/{company_id:\d+}", self.show_company)
        add_route(router, "GET", "/api/v1/contacts", self.search_contacts)
        add_route(router, "POST", "/api/v1/contacts", self.create_contact)
        add_route(router, "GET", "/api/v1/contacts/list", self.list_contacts)
        add_route(router, "GET", r"/api/v1/contacts/{contact_id:\d+}", self.show_contact)
        add_route(router, "PATCH", r"/api/v1/contacts/{contact_id:\d+}", self.update_contact)
        add_route(router, "GET", "/api/v1/employees/list", self.list_employees)

    # -- companies -----------------------------------------------------------------------

    async def search_companies(self, request: web.Request) -> web.Response:
        if request[ACTOR].type == "contact":
            return json_errors("Метод недоступен для ключей, связанных с контактными лицами", 403)
        params = query_params(request)
        companies = self._state.companies.values()
        needle = opt_str(params, "search_string")
        if needle is not None:
            found = [
                c
                for c in companies
                if _contains(needle, c.name, c.additional_name, c.phone, c.email)
            ]
            return respond([render.company(self._state, c) for c in _by_id(found)])
        criteria: list[Callable[[Company], bool]] = []
        if (name := opt_str(params, "name")) is not None:
            criteria.append(lambda c: name in (c.name, c.additional_name))
        if (phone := opt_str(params, "phone")) is not None:
            criteria.append(lambda c: c.phone == phone)
        if (company_id := opt_int(params, "id")) is not None:
            criteria.append(lambda c: c.id == company_id)
        if (crm_1c_id := opt_str(params, "crm_1c_id")) is not None:
            criteria.append(lambda c: crm_1c_id in (c.crm_1c_id or ""))
        match = _first(companies, criteria)
        return respond({} if match is None else render.company(self._state, match))

    async def create_company(self, request: web.Request) -> web.Response:
        body = unwrap(await read_body(request), "company")
        values: Params = {key: opt_str(body, key) for key in _COMPANY_TEXT_FIELDS}
        values["default_assignee_id"] = opt_int(body, "default_assignee_id")
        values["custom_parameters"] = opt_mapping(body, "custom_parameters")
        company = self._state.create_company(values)
        return respond(render.company(self._state, company))

    async def list_companies(self, request: web.Request) -> web.Response:
        params = query_params(request)
        cursor = Cursor.parse(params)
        predicates = self._company_filters(params)
        found = [c for c in self._state.companies.values() if all(p(c) for p in predicates)]
        page = cursor.apply(found, key=lambda company: company.id)
        return respond([render.company(self._state, company) for company in page])

    async def show_company(self, request: web.Request) -> web.Response:
        company = self._state.company(int(request.match_info["company_id"]))
        return respond(render.company(self._state, company))

    def _company_filters(self, params: Mapping[str, Any]) -> list[Callable[[Company], bool]]:
        predicates: list[Callable[[Company], bool]] = []
        if (categories := int_list(params, "category_ids")) is not None:
            predicates.append(_id_in(categories, lambda c: c.category_id))
        if (assignees := int_list(params, "default_assignee_ids")) is not None:
            predicates.append(_id_in(assignees, lambda c: c.default_assignee_id))
        for key in ("name", "additional_name", "crm_1c_id"):
            value = opt_str(params, key)
            if value is not None:
                predicates.append(_field_equals(key, value))
        created = MomentRange.parse(params, "created")
        predicates.append(lambda c: created.admits(c.created_at))
        conditions = opt_mapping(params, "custom_parameters")
        definitions = self._state.company_parameters
        predicates.append(lambda c: _parameters_match(definitions, c.parameters, conditions))
        return predicates

    # -- contacts ------------------------------------------------------------------------

    async def search_contacts(self, request: web.Request) -> web.Response:
        params = query_params(request)
        contacts = self._state.contacts.values()
        needle = opt_str(params, "search_string")
        if needle is not None:
            found = [
                c
                for c in contacts
                if _contains(needle, c.name, c.phone, c.mobile_phone, c.email, c.login)
            ]
            return respond([render.contact(self._state, c) for c in _by_id(found)])
        criteria: list[Callable[[Contact], bool]] = []
        if (phone := opt_str(params, "phone")) is not None:
            criteria.append(lambda c: phone in (c.phone, c.mobile_phone))
        if (contact_id := opt_int(params, "id")) is not None:
            criteria.append(lambda c: c.id == contact_id)
        for key in ("email", "login", "crm_1c_id"):
            value = opt_str(params, key)
            if value is not None:
                criteria.append(_field_equals(key, value))
        match = _first(contacts, criteria)
        return respond({} if match is None else render.contact(self._state, match))

    async def create_contact(self, request: web.Request) -> web.Response:
        body = unwrap(await read_body(request), "contact")
        contact = self._state.create_contact(_contact_values(body))
        return respond(render.contact(self._state, contact))

    async def update_contact(self, request: web.Request) -> web.Response:
        body = unwrap(await read_body(request), "contact")
        contact_id = int(request.match_info["contact_id"])
        contact = self._state.update_contact(contact_id, _contact_values(body))
        return respond(render.contact(self._state, contact))

    async def list_contacts(self, request: web.Request) -> web.Response:
        cursor = Cursor.parse(query_params(request))
        page = cursor.apply(self._state.contacts.values(), key=lambda contact: contact.id)
        return respond([render.contact(self._state, contact) for contact in page])

    async def show_contact(self, request: web.Request) -> web.Response:
        contact = self._state.contact(int(request.match_info["contact_id"]))
        return respond(render.contact(self._state, contact))

    # -- employees -----------------------------------------------------------------------

    async def list_employees(self, request: web.Request) -> web.Response:
        cursor = Cursor.parse(query_params(request))
        page = cursor.apply(self._state.employees.values(), key=lambda employee: employee.id)
        return respond([render.employee(employee) for employee in page])


def _contact_values(body: Mapping[str, Any]) -> Params:
    """The contact fields present in ``body``, coerced (absent fields stay absent)."""
    values: Params = {key: opt_str(body, key) for key in _CONTACT_TEXT_FIELDS if key in body}
    if "company_id" in body:
        values["company_id"] = opt_int(body, "company_id")
    if "active" in body:
        values["active"] = opt_bool(body, "active")
    if "access_level" in body:
        values["access_level"] = str_list(body, "access_level")
    if "custom_parameters" in body:
        values["custom_parameters"] = opt_mapping(body, "custom_parameters")
    return values


def _by_id(records: Iterable[R]) -> list[R]:
    return sorted(records, key=lambda record: record.id)


def _id_in(ids: list[int], get: Callable[[Company], int | None]) -> Callable[[Company], bool]:
    """Match records whose reference is among ``ids``; ``0`` stands for "none"."""
    wanted = set(ids)
    return lambda company: (get(company) or 0) in wanted


def _field_equals(key: str, value: str) -> Callable[[Any], bool]:
    return lambda record: getattr(record, key) == value


def _first(records: Iterable[R], criteria: list[Callable[[R], bool]]) -> R | None:
    """The lowest-id record meeting every criterion; ``None`` without criteria."""
    if not criteria:
        return None
    matches = [record for record in records if all(test(record) for test in criteria)]
    return min(matches, key=lambda record: record.id, default=None)


def _contains(needle: str, *haystack: str | None) -> bool:
    wanted = needle.casefold()
    return any(wanted in value.casefold() for value in haystack if value)


def _parameters_match(
    definitions: Mapping[str, ParameterDef],
    stored: Mapping[str, Any],
    conditions: Mapping[str, Any],
) -> bool:
    """Apply ``custom_parameters[...]`` filters to a record's attribute values.

    ``[<code>]=v`` compares strings (``true``/``false`` for checkboxes, membership for
    multi-selects), ``[<code>][]=v`` matches any listed value, ``#null`` matches an empty
    attribute, and ``[<code>_since]``/``[<code>_until]`` bound a date attribute.
    """
    return all(
        _condition_holds(definitions, stored, key, wanted) for key, wanted in conditions.items()
    )


def _condition_holds(
    definitions: Mapping[str, ParameterDef], stored: Mapping[str, Any], key: str, wanted: object
) -> bool:
    if key not in definitions:
        for suffix, upper in (("_since", False), ("_until", True)):
            code = key.removesuffix(suffix)
            if code != key and code in definitions:
                return _within(stored.get(code), str(wanted), upper=upper)
    return _value_matches(stored.get(key), wanted)


def _within(value: object, limit: str, *, upper: bool) -> bool:
    moment = parse_moment(str(value)) if value else None
    edge = parse_moment(limit, end_of_day=upper)
    if moment is None or edge is None:
        return False
    return moment <= edge if upper else moment >= edge


def _value_matches(value: object, wanted: object) -> bool:
    if isinstance(wanted, list):
        return any(_value_matches(value, option) for option in wanted)
    text = str(wanted)
    if text == _NULL:
        return value in (None, "", [])
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if isinstance(value, list):
        return text in [str(item) for item in value]
    return value is not None and str(value) == text

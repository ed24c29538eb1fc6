"""Async client of the Okdesk REST API.

Built from ``/work/shared/okdesk-api.md``. Every call goes through :meth:`OkdeskClient._request`
(and :meth:`OkdeskClient._send` below it), which is where the token is added, timeouts apply,
idempotent calls are retried, and answers become models or :mod:`~okdesk_bot.okdesk.errors`.

Safety rules kept here:

* The token travels only as the ``api_token`` query parameter, and it is added by
  :class:`~okdesk_bot.okdesk._http.ApiTokenTransport` below httpx's client layer, so httpx's
  own request log, its exceptions and ``response.request`` never hold it. httpx exceptions are
  never chained to ours either; their redacted text is copied into our message instead.
* GETs are retried on connection errors, timeouts, 429 and 5xx with exponential backoff and
  full jitter. Writes are retried only when the request certainly never left the client
  (connection refused, connect or pool timeout); any other failure of a write is raised with
  ``outcome_unknown=True``.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import TracebackType
from typing import Literal, Self, TypeVar

import httpx
from pydantic import JsonValue, ValidationError

from okdesk_bot import __version__
from okdesk_bot.okdesk._http import (
    ApiTokenTransport,
    Redactor,
    backoff_delay,
    encode_query,
    form_fields,
    format_filter_datetime,
    parse_retry_after,
)
from okdesk_bot.okdesk.errors import (
    OkdeskAuthError,
    OkdeskConnectionError,
    OkdeskError,
    OkdeskForbiddenError,
    OkdeskNotFoundError,
    OkdeskProtocolError,
    OkdeskRateLimitedError,
    OkdeskServerError,
    OkdeskTimeoutError,
    OkdeskValidationError,
    flatten_errors,
)
from okdesk_bot.okdesk.models import (
    Attachment,
    Comment,
    Company,
    Contact,
    ContactCreate,
    ContactUpdate,
    Employee,
    Issue,
    IssueCreate,
    OkdeskModel,
    Priority,
    Rate,
    Status,
    Upload,
)

__all__ = ["DEFAULT_USER_AGENT", "ISSUES_PAGE_SIZE_MAX", "LIST_PAGE_SIZE_MAX", "OkdeskClient"]

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"okdesk-telegram-bot/{__version__}"
ISSUES_PAGE_SIZE_MAX = 50
"""``issues/list`` page size limit (shared-goals/okdesk-mcp; the apidoc says 100 elsewhere)."""
LIST_PAGE_SIZE_MAX = 100
"""``page[size]`` limit of the cursor-paginated ``*/list`` endpoints (apidoc)."""
MOSCOW = timezone(timedelta(hours=3), "MSK")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SERVER_TEXT_LIMIT = 300
_OUTCOME_UNKNOWN_NOTE = (
    " The request reached Okdesk but no reliable answer came back, so it may or may not have"
    " been applied: check before sending it again."
)

Direction = Literal["reverse", "forward"]
_M = TypeVar("_M", bound=OkdeskModel)
_Searchable = TypeVar("_Searchable", Company, Contact)


class OkdeskClient:
    """Typed async client of one Okdesk account, over one httpx connection pool.

    ``base_url`` is the full API base, e.g. ``https://acc.okdesk.ru/api/v1`` or a self-hosted
    ``https://sd.example.ru/api/v1``; a trailing slash is optional. ``account_timezone`` is the
    zone Okdesk reads date filters in (Moscow time by default). ``proxy`` is used instead of
    proxy environment variables, which the client ignores. ``transport`` replaces the network
    layer (tests pass ``httpx.MockTransport``); the token is still added above it.

    Use as ``async with OkdeskClient(...) as okdesk:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        user_agent: str = DEFAULT_USER_AGENT,
        account_timezone: tzinfo = MOSCOW,
        proxy: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_token.strip():
            msg = "the Okdesk API token is empty"
            raise ValueError(msg)
        if max_retries < 0 or backoff_base < 0 or backoff_max < 0:
            msg = "max_retries, backoff_base and backoff_max must not be negative"
            raise ValueError(msg)
        if proxy is not None and transport is not None:
            msg = "pass either proxy or transport, not both"
            raise ValueError(msg)
        self._redact = Redactor(api_token)
        self._base_url = base_url.rstrip("/") + "/"
        api_base = httpx.URL(self._base_url)
        if api_base.scheme not in {"http", "https"} or not api_base.host or api_base.query:
            msg = (
                "the Okdesk API base URL must be an absolute http(s) URL without a query,"
                f" such as https://account.okdesk.ru/api/v1; got {self._redact(base_url)!r}"
            )
            raise ValueError(msg)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._account_timezone = account_timezone
        self._http = httpx.AsyncClient(
            transport=ApiTokenTransport(
                transport or httpx.AsyncHTTPTransport(proxy=proxy),
                api_base=api_base,
                api_token=api_token,
            ),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"Accept": "application/json", "User-Agent": user_agent},
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The API base URL, ending with a slash."""
        return self._base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # ------------------------------------------------------------------ diagnostics

    async def ping(self) -> None:
        """Check that Okdesk is reachable and accepts the token (a cheap reference read)."""
        await self._request("GET", "issues/statuses", idempotent=True)

    # ------------------------------------------------------------------ companies

    async def search_companies(
        self,
        *,
        name: str | None = None,
        phone: str | None = None,
        company_id: int | None = None,
        search_string: str | None = None,
    ) -> list[Company]:
        """``GET /companies/``: exact ``name``/``phone``/``id``, or a substring search.

        Okdesk answers with one object, an array or an empty body; all become a list. Okdesk
        ignores the other filters when ``search_string`` is given.
        """
        params: dict[str, JsonValue] = {
            "name": name,
            "phone": phone,
            "id": company_id,
            "search_string": search_string,
        }
        if all(value is None for value in params.values()):
            msg = "search_companies needs at least one filter"
            raise ValueError(msg)
        payload = await self._request("GET", "companies/", params=params, idempotent=True)
        return self._many(Company, payload, "GET companies/")

    async def get_company(self, company_id: int) -> Company:
        """One company by id (``GET /companies/?id=``, the documented lookup)."""
        companies = await self.search_companies(company_id=company_id)
        return _pick_by_id(companies, company_id, "company")

    async def list_companies(
        self,
        *,
        custom_parameters: Mapping[str, str] | None = None,
        name: str | None = None,
        page_size: int = LIST_PAGE_SIZE_MAX,
        from_id: int | None = None,
        direction: Direction | None = None,
    ) -> list[Company]:
        """One page of ``GET /companies/list`` (cursor pagination, see :meth:`iter_companies`).

        ``custom_parameters`` filters by additional attributes: ``{"inn": "7707083893"}`` is
        sent as ``custom_parameters[inn]=7707083893``.
        """
        _check_page_size(page_size, LIST_PAGE_SIZE_MAX)
        params: dict[str, JsonValue] = {
            "custom_parameters": dict(custom_parameters) if custom_parameters else None,
            "name": name,
            "page": {"size": page_size, "from_id": from_id, "direction": direction},
        }
        payload = await self._request("GET", "companies/list", params=params, idempotent=True)
        return self._many(Company, payload, "GET companies/list")

    async def iter_companies(
        self,
        *,
        custom_parameters: Mapping[str, str] | None = None,
        name: str | None = None,
        page_size: int = LIST_PAGE_SIZE_MAX,
    ) -> AsyncIterator[Company]:
        """Every company matching the filters, in ascending id order, page by page."""
        from_id: int | None = None
        while True:
            page = await self.list_companies(
                custom_parameters=custom_parameters,
                name=name,
                page_size=page_size,
                from_id=from_id,
                direction="forward",
            )
            fresh = [company for company in page if from_id is None or company.id > from_id]
            for company in fresh:
                yield company
            if len(page) < page_size or not fresh:
                return
            from_id = max(company.id for company in fresh)

    async def find_company_by_inn(self, inn: str, *, parameter_code: str) -> Company | None:
        """The company whose custom parameter ``parameter_code`` holds exactly ``inn``.

        Filters with ``custom_parameters[<code>]=<inn>`` and then checks every record's own
        value, so a server that ignores the filter cannot make this return a wrong company (it
        only makes the search read more pages). A list item without the parameter is re-read
        by id before it is judged. Among several matches an active one with the lowest id wins.
        """
        wanted = inn.strip()
        if not wanted:
            msg = "the INN to search for is empty"
            raise ValueError(msg)
        matches: list[Company] = []
        ignored = 0
        async for listed in self.iter_companies(custom_parameters={parameter_code: wanted}):
            company = listed
            if company.parameter_value(parameter_code) is None:
                company = await self.get_company(listed.id)
            if _same_identifier(company.parameter_value(parameter_code), wanted):
                matches.append(company)
            else:
                ignored += 1
        if ignored:
            logger.warning(
                "Okdesk returned %d companies whose parameter %r does not match the INN filter;"
                " check that the parameter code is right",
                ignored,
                parameter_code,
            )
        if len(matches) > 1:
            logger.warning(
                "%d Okdesk companies share one INN (ids %s)",
                len(matches),
                ", ".join(str(company.id) for company in matches),
            )
        return min(matches, key=lambda c: (c.active is False, c.id)) if matches else None

    # ------------------------------------------------------------------ contacts

    async def find_contacts_by_phone(self, phone: str) -> list[Contact]:
        """Contacts whose phone is exactly ``phone`` as stored (Okdesk does not normalise).

        Try the forms the account uses (``+7…``, ``8…``) if one finds nothing.
        """
        if not phone.strip():
            msg = "the phone to search for is empty"
            raise ValueError(msg)
        return await self._search_contacts({"phone": phone})

    async def search_contacts(self, search_string: str) -> list[Contact]:
        """Contacts matching a substring (``GET /contacts/?search_string=``)."""
        if not search_string.strip():
            msg = "the search string is empty"
            raise ValueError(msg)
        return await self._search_contacts({"search_string": search_string})

    async def get_contact(self, contact_id: int) -> Contact:
        """One contact by id (``GET /contacts/?id=``, the form clients use)."""
        contacts = await self._search_contacts({"id": contact_id})
        return _pick_by_id(contacts, contact_id, "contact")

    async def create_contact(self, contact: ContactCreate) -> Contact:
        """``POST /contacts/``. Raises :class:`OkdeskValidationError` with field errors."""
        payload = await self._request(
            "POST", "contacts/", json={"contact": contact.to_fields()}, idempotent=False
        )
        return self._one(Contact, payload, "POST contacts/")

    async def update_contact(self, contact_id: int, changes: ContactUpdate) -> Contact:
        """``PATCH /contacts/{id}`` with only the fields set in ``changes``."""
        path = f"contacts/{contact_id}"
        payload = await self._request(
            "PATCH", path, json={"contact": changes.to_fields()}, idempotent=False
        )
        if payload is None:
            return await self.get_contact(contact_id)
        return self._one(Contact, payload, f"PATCH {path}")

    async def _search_contacts(self, params: dict[str, JsonValue]) -> list[Contact]:
        payload = await self._request("GET", "contacts/", params=params, idempotent=True)
        return self._many(Contact, payload, "GET contacts/")

    # ------------------------------------------------------------------ issues

    async def create_issue(self, issue: IssueCreate, attachments: Sequence[Upload] = ()) -> Issue:
        """``POST /issues/``: a JSON body, or multipart/form-data when files are attached.

        Okdesk may answer with the full issue or only its id; in the latter case the issue is
        read back with :meth:`get_issue`.
        """
        if attachments:
            data, files = _multipart("issue", issue.to_fields(), attachments)
            payload = await self._request(
                "POST", "issues/", data=data, files=files, idempotent=False
            )
        else:
            payload = await self._request(
                "POST", "issues/", json={"issue": issue.to_fields()}, idempotent=False
            )
        created = self._one(Issue, payload, "POST issues/")
        return created if created.title is not None else await self.get_issue(created.id)

    async def get_issue(self, issue_id: int) -> Issue:
        """``GET /issues/{id}``."""
        path = f"issues/{issue_id}"
        return self._one(Issue, await self._get_issue_resource(path), f"GET {path}")

    async def list_issues(
        self,
        *,
        contact_ids: Sequence[int] = (),
        company_ids: Sequence[int] = (),
        status_codes: Sequence[str] = (),
        updated_since: datetime | None = None,
        page: int = 1,
        page_size: int = ISSUES_PAGE_SIZE_MAX,
        sort_field: Literal["created_at", "updated_at"] = "updated_at",
        sort_direction: Direction = "reverse",
    ) -> list[Issue]:
        """One page of ``GET /issues/list`` (list-item shape: no description).

        ``updated_since`` must be timezone-aware; it is sent as ``DD-MM-YYYY HH:MM`` in the
        account's time zone (see :func:`~okdesk_bot.okdesk._http.format_filter_datetime`).
        """
        _check_page_size(page_size, ISSUES_PAGE_SIZE_MAX)
        if page < 1:
            msg = f"page numbers start at 1, got {page}"
            raise ValueError(msg)
        params = self._issue_filters(
            contact_ids=contact_ids,
            company_ids=company_ids,
            status_key="status_codes",
            status_codes=status_codes,
            updated_since=updated_since,
        )
        params["page"] = {"number": page, "size": page_size}
        params["sorting"] = {"field": sort_field, "direction": sort_direction}
        payload = await self._request("GET", "issues/list", params=params, idempotent=True)
        return self._many(Issue, payload, "GET issues/list")

    async def iter_issues(
        self,
        *,
        contact_ids: Sequence[int] = (),
        company_ids: Sequence[int] = (),
        status_codes: Sequence[str] = (),
        updated_since: datetime | None = None,
        page_size: int = ISSUES_PAGE_SIZE_MAX,
        sort_field: Literal["created_at", "updated_at"] = "updated_at",
        sort_direction: Direction = "reverse",
    ) -> AsyncIterator[Issue]:
        """Every issue matching the filters, page by page, each issue once."""
        seen: set[int] = set()
        page_number = 1
        while True:
            page = await self.list_issues(
                contact_ids=contact_ids,
                company_ids=company_ids,
                status_codes=status_codes,
                updated_since=updated_since,
                page=page_number,
                page_size=page_size,
                sort_field=sort_field,
                sort_direction=sort_direction,
            )
            fresh = [issue for issue in page if issue.id not in seen]
            for issue in fresh:
                seen.add(issue.id)
                yield issue
            if len(page) < page_size or not fresh:
                return
            page_number += 1

    async def count_issues(
        self,
        *,
        contact_ids: Sequence[int] = (),
        company_ids: Sequence[int] = (),
        status_codes: Sequence[str] = (),
        updated_since: datetime | None = None,
    ) -> list[int]:
        """The ids of all matching issues (``GET /issues/count`` returns ids, not a number)."""
        params = self._issue_filters(
            contact_ids=contact_ids,
            company_ids=company_ids,
            status_key="status",
            status_codes=status_codes,
            updated_since=updated_since,
        )
        payload = await self._request("GET", "issues/count", params=params, idempotent=True)
        if payload is None:
            return []
        if not isinstance(payload, list):
            msg = "Okdesk answered GET issues/count with something other than a list of ids"
            raise OkdeskProtocolError(msg)
        try:
            return [int(str(issue_id)) for issue_id in payload]
        except ValueError:
            msg = "Okdesk answered GET issues/count with an id that is not a number"
            raise OkdeskProtocolError(msg) from None

    async def list_statuses(self) -> list[Status]:
        """The account's issue statuses (``GET /issues/statuses``)."""
        payload = await self._request("GET", "issues/statuses", idempotent=True)
        return self._many(Status, payload, "GET issues/statuses")

    async def list_priorities(self) -> list[Priority]:
        """The account's issue priorities (``GET /issues/priorities/``)."""
        payload = await self._request("GET", "issues/priorities/", idempotent=True)
        return self._many(Priority, payload, "GET issues/priorities/")

    async def change_status(
        self,
        issue_id: int,
        code: str,
        *,
        comment: str | None = None,
        comment_public: bool | None = None,
        delay_to: datetime | None = None,
        skip_webhooks: bool = False,
    ) -> Issue:
        """``POST /issues/{id}/statuses``; returns the updated issue.

        ``delay_to`` (required by Okdesk for ``delayed``) must be timezone-aware and is sent in
        ISO 8601. ``skip_webhooks`` asks Okdesk not to send webhooks for this change, so the
        bot's own action does not echo back to it.
        """
        if delay_to is not None and delay_to.utcoffset() is None:
            msg = "delay_to must be timezone-aware"
            raise ValueError(msg)
        body: dict[str, JsonValue] = {"code": code}
        if comment is not None:
            body["comment"] = comment
        if comment_public is not None:
            body["comment_public"] = comment_public
        if delay_to is not None:
            body["delay_to"] = delay_to.isoformat()
        if skip_webhooks:
            body["skip_options"] = ["skip_webhooks"]
        path = f"issues/{issue_id}/statuses"
        payload = await self._request("POST", path, json=body, idempotent=False)
        if payload is None:
            return await self.get_issue(issue_id)
        updated = self._one(Issue, payload, f"POST {path}")
        return updated if updated.status is not None else await self.get_issue(issue_id)

    async def rate_issue(self, issue_id: int, rate: Rate) -> None:
        """Rate the work on an issue (``POST /issues/{id}/rates``)."""
        await self._request(
            "POST", f"issues/{issue_id}/rates", json={"rate": rate}, idempotent=False
        )

    # ------------------------------------------------------------------ comments

    async def list_comments(self, issue_id: int) -> list[Comment]:
        """All comments of an issue, public and private (check ``Comment.public``)."""
        path = f"issues/{issue_id}/comments"
        return self._many(Comment, await self._get_issue_resource(path), f"GET {path}")

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
        """``POST /issues/{id}/comments``. ``content_html`` is HTML (``<br>`` for breaks).

        To write as the client, pass the contact's id with ``author_type="contact"``.
        """
        fields: dict[str, JsonValue] = {
            "content": content_html,
            "author_id": author_id,
            "author_type": author_type,
            "public": public,
        }
        path = f"issues/{issue_id}/comments"
        if attachments:
            data, files = _multipart("comment", fields, attachments)
            payload = await self._request("POST", path, data=data, files=files, idempotent=False)
        else:
            payload = await self._request("POST", path, json={"comment": fields}, idempotent=False)
        return self._one(Comment, payload, f"POST {path}")

    # ------------------------------------------------------------------ attachments

    async def get_attachment(self, issue_id: int, attachment_id: int) -> Attachment:
        """An issue attachment's metadata with a fresh ``attachment_url`` (valid 30 s)."""
        path = f"issues/{issue_id}/attachments/{attachment_id}"
        return self._one(Attachment, await self._get_issue_resource(path), f"GET {path}")

    async def download(self, url: str) -> bytes:
        """Fetch a file from an ``attachment_url`` (absolute, or relative to the API host).

        The token is sent only if the URL lies under the API base URL; redirects are followed.
        An expired link answers 403 (:class:`OkdeskForbiddenError`): ask
        :meth:`get_attachment` for a fresh one.
        """
        target = httpx.URL(self._base_url).join(url)
        response = await self._send("GET", target, idempotent=True, follow_redirects=True)
        return response.content

    # ------------------------------------------------------------------ employees

    async def list_employees(
        self,
        *,
        page_size: int = LIST_PAGE_SIZE_MAX,
        from_id: int | None = None,
        direction: Direction | None = None,
    ) -> list[Employee]:
        """One page of ``GET /employees/list`` (cursor pagination)."""
        _check_page_size(page_size, LIST_PAGE_SIZE_MAX)
        params: dict[str, JsonValue] = {
            "page": {"size": page_size, "from_id": from_id, "direction": direction}
        }
        payload = await self._request("GET", "employees/list", params=params, idempotent=True)
        return self._many(Employee, payload, "GET employees/list")

    # ------------------------------------------------------------------ plumbing

    def _issue_filters(
        self,
        *,
        contact_ids: Sequence[int],
        company_ids: Sequence[int],
        status_key: Literal["status", "status_codes"],
        status_codes: Sequence[str],
        updated_since: datetime | None,
    ) -> dict[str, JsonValue]:
        # issues/list filters statuses with status_codes[], issues/count with status[].
        return {
            "contact_ids": list(contact_ids) or None,
            "company_ids": list(company_ids) or None,
            status_key: list(status_codes) or None,
            "updated_since": (
                format_filter_datetime(updated_since, self._account_timezone)
                if updated_since is not None
                else None
            ),
        }

    async def _get_issue_resource(self, path: str) -> JsonValue:
        """GET under an issue; an ``errors`` body with 200 means the issue is gone.

        Okdesk answers HTTP 200 with an error object for an issue that was deleted, merged or
        is no longer visible (okdesk-api.md §1), which is "not found" for the caller.
        """
        try:
            return await self._request("GET", path, idempotent=True)
        except OkdeskValidationError as exc:
            if exc.status_code is not None and exc.status_code < 300:
                raise OkdeskNotFoundError(exc.message, status_code=exc.status_code) from None
            raise

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, JsonValue] | None = None,
        json: JsonValue = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        data: Mapping[str, str | list[str]] | None = None,
        idempotent: bool,
    ) -> JsonValue:
        """Call the API at ``path`` (relative to the base URL) and return the decoded JSON.

        An empty or non-JSON success body gives ``None``. A success body carrying a non-empty
        ``errors`` key raises :class:`OkdeskValidationError` with that status code.
        """
        query = encode_query(params or {})
        url = httpx.URL(self._base_url + path + (f"?{query}" if query else ""))
        response = await self._send(
            method, url, json=json, files=files, data=data, idempotent=idempotent
        )
        payload = _decode_json(response)
        if isinstance(payload, dict) and payload.get("errors"):
            raise self._validation_error(
                payload["errors"], response.status_code, f"{method} {url.path}"
            )
        return payload

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        json: JsonValue = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        data: Mapping[str, str | list[str]] | None = None,
        idempotent: bool,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send a request with the retry policy; return a 2xx response or raise OkdeskError."""
        label = f"{method} {url.path}"
        retries = 0
        while True:
            request = self._http.build_request(method, url, json=json, files=files, data=data)
            outcome = await self._attempt(request, label, follow_redirects=follow_redirects)
            if isinstance(outcome, httpx.Response):
                if outcome.is_success:
                    return outcome
                error = self._status_error(outcome, label, write=not idempotent)
                delay = self._response_retry_delay(outcome, retries) if idempotent else None
                reason = f"HTTP {outcome.status_code}"
            else:
                error = self._request_error(outcome, label, write=not idempotent)
                retryable = isinstance(outcome, _NOT_SENT) or (
                    idempotent and isinstance(outcome, httpx.TransportError)
                )
                delay = self._backoff(retries) if retryable else None
                reason = type(outcome).__name__
            if delay is None or retries >= self._max_retries:
                # Raised outside any ``except`` block: nothing from httpx is chained to it.
                raise error
            retries += 1
            logger.warning(
                "Okdesk %s: %s, retry %d of %d in %.2f s",
                label,
                reason,
                retries,
                self._max_retries,
                delay,
            )
            await asyncio.sleep(delay)

    async def _attempt(
        self, request: httpx.Request, label: str, *, follow_redirects: bool
    ) -> httpx.Response | httpx.RequestError:
        started = time.perf_counter()
        try:
            response = await self._http.send(request, follow_redirects=follow_redirects)
        except httpx.RequestError as exc:
            logger.debug(
                "Okdesk %s failed after %.0f ms: %s",
                label,
                (time.perf_counter() - started) * 1000,
                type(exc).__name__,
            )
            return exc
        logger.debug(
            "Okdesk %s -> %d in %.0f ms",
            label,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def _backoff(self, retries: int) -> float:
        return backoff_delay(retries, base=self._backoff_base, cap=self._backoff_max)

    def _response_retry_delay(self, response: httpx.Response, retries: int) -> float | None:
        """How long to wait before retrying a GET after this response, or None to give up."""
        if response.status_code == 429:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), now=datetime.now(UTC)
            )
            if retry_after is None:
                return self._backoff(retries)
            return retry_after if retry_after <= self._backoff_max else None
        if response.status_code >= 500:
            return self._backoff(retries)
        return None

    def _status_error(self, response: httpx.Response, label: str, *, write: bool) -> OkdeskError:
        """Map a non-2xx response to the exception tree."""
        status = response.status_code
        payload = _decode_json(response)
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors is None and payload is None:
            errors = response.text.strip() or None
        if status in {400, 422}:
            return self._validation_error(errors, status, label)
        detail = self._summary(errors)
        said = f" Okdesk says: {detail}" if detail else ""
        if 300 <= status < 400:
            return OkdeskNotFoundError(
                f"Okdesk redirected {label} (HTTP {status}): the record was deleted, merged"
                " or is no longer visible.",
                status_code=status,
            )
        if status == 401:
            return OkdeskAuthError(
                f"Okdesk rejected the API token (HTTP 401) on {label}: check the token in the"
                f" bot settings.{said}",
                status_code=status,
            )
        if status == 403:
            return OkdeskForbiddenError(
                f"The Okdesk user of the API token lacks the rights for {label} (HTTP 403).{said}",
                status_code=status,
            )
        if status == 404:
            return OkdeskNotFoundError(
                f"Okdesk found nothing for {label} (HTTP 404).{said}", status_code=status
            )
        if status == 429:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), now=datetime.now(UTC)
            )
            wait = f" Okdesk asks to wait {retry_after:.0f} s." if retry_after is not None else ""
            return OkdeskRateLimitedError(
                f"Okdesk is limiting the request rate (HTTP 429) on {label}.{wait}",
                retry_after=retry_after,
            )
        if status >= 500:
            return OkdeskServerError(
                f"Okdesk failed on {label} (HTTP {status}).{said}"
                + (_OUTCOME_UNKNOWN_NOTE if write else ""),
                status_code=status,
                outcome_unknown=write,
            )
        return OkdeskError(
            f"Okdesk answered {label} with HTTP {status}.{said}", status_code=status
        )

    def _request_error(self, exc: httpx.RequestError, label: str, *, write: bool) -> OkdeskError:
        """Map an httpx failure to the exception tree, keeping only its redacted text."""
        text = str(exc).strip()
        cause = self._redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        if not isinstance(exc, httpx.TransportError):
            return OkdeskProtocolError(f"Okdesk's answer to {label} could not be read ({cause}).")
        unknown = write and not isinstance(exc, _NOT_SENT)
        note = _OUTCOME_UNKNOWN_NOTE if unknown else ""
        if isinstance(exc, httpx.TimeoutException):
            return OkdeskTimeoutError(
                f"Okdesk did not answer {label} in time ({cause}).{note}", outcome_unknown=unknown
            )
        return OkdeskConnectionError(
            f"Could not reach Okdesk for {label} ({cause}).{note}", outcome_unknown=unknown
        )

    def _validation_error(self, errors: object, status: int, label: str) -> OkdeskValidationError:
        general, fields = flatten_errors(errors)
        general = [self._redact(message) for message in general]
        fields = {
            name: [self._redact(message) for message in messages]
            for name, messages in fields.items()
        }
        detail = self._summary(errors)
        return OkdeskValidationError(
            f"Okdesk rejected {label} (HTTP {status})."
            + (f" Okdesk says: {detail}" if detail else ""),
            status_code=status,
            field_errors=fields,
            general_errors=general,
        )

    def _summary(self, errors: object) -> str:
        """One redacted, length-limited line describing an ``errors`` value."""
        general, fields = flatten_errors(errors)
        parts = general + [f"{name}: {', '.join(msgs)}" for name, msgs in fields.items()]
        text = self._redact(" ".join("; ".join(parts).split()))
        if len(text) > _SERVER_TEXT_LIMIT:
            text = text[: _SERVER_TEXT_LIMIT - 1] + "…"
        return text

    @staticmethod
    def _one(model: type[_M], payload: JsonValue, label: str) -> _M:
        if payload is None:
            msg = f"Okdesk sent an empty answer to {label}."
            raise OkdeskProtocolError(msg)
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            msg = f"Okdesk's answer to {label} is not a valid {model.__name__}: {_brief(exc)}"
            raise OkdeskProtocolError(msg) from None

    @classmethod
    def _many(cls, model: type[_M], payload: JsonValue, label: str) -> list[_M]:
        """Records from an array, a single object, or an empty answer.

        Searches answer "nothing found" with an empty body or an empty object (a public
        client tests ``len(response) == 0``), both of which give an empty list.
        """
        if payload is None or payload in ("", {}):
            return []
        items = payload if isinstance(payload, list) else [payload]
        return [cls._one(model, item, label) for item in items]


def _decode_json(response: httpx.Response) -> JsonValue:
    """The JSON body, or ``None`` for an empty or non-JSON body (Okdesk sends both)."""
    if not response.content.strip():
        return None
    try:
        payload: JsonValue = response.json()
    except ValueError:
        return None
    return payload


def _brief(exc: ValidationError) -> str:
    """A short description of a model validation failure, without the input values."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)[:3]
    ]
    return "; ".join(problems)


def _check_page_size(page_size: int, maximum: int) -> None:
    if not 1 <= page_size <= maximum:
        msg = f"page_size must be between 1 and {maximum}, got {page_size}"
        raise ValueError(msg)


def _pick_by_id(records: Sequence[_Searchable], record_id: int, kind: str) -> _Searchable:
    """The record with ``record_id``; a search that ignored ``id=`` cannot return another."""
    for record in records:
        if record.id == record_id:
            return record
    msg = f"Okdesk has no {kind} with id {record_id}."
    raise OkdeskNotFoundError(msg)


def _same_identifier(value: JsonValue, wanted: str) -> bool:
    """Whether a custom parameter value is exactly the identifier (whitespace aside)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return str(value).strip() == wanted


def _multipart(
    root: str, fields: Mapping[str, JsonValue], uploads: Sequence[Upload]
) -> tuple[dict[str, str | list[str]], list[tuple[str, tuple[str, bytes, str]]]]:
    """Form fields and files for a Rails-style multipart body with attachments.

    The apidoc's curl examples name files ``issue[attachments][0][attachment]`` with
    ``issue[attachments][0][is_public]`` and ``[description]`` beside them.
    """
    attachments: dict[str, JsonValue] = {
        str(index): {"is_public": upload.is_public, "description": upload.description}
        for index, upload in enumerate(uploads)
    }
    data = form_fields({root: {**fields, "attachments": attachments}})
    files = [
        (
            f"{root}[attachments][{index}][attachment]",
            (upload.filename, upload.content, upload.content_type),
        )
        for index, upload in enumerate(uploads)
    ]
    return data, files

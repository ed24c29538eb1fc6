"""The support side of the emulated account: what employees do in the Okdesk UI.

:class:`Staff` holds the actions (Python), :class:`StaffApi` exposes them over HTTP under
``/_staff/`` (JSON, no ``api_token``) for sandboxes and tests written in other processes.
Each action fires the webhook Okdesk would send. Status changes made here skip the API-only
requirements (``delay_to``, mandatory comments): the UI asks for them in its own form.

HTTP routes (bodies and answers are JSON; files travel base64-encoded as
``{"file_name", "content_base64", "content_type"?, "description"?, "is_public"?}``):

=========  ===================================  ==============================================
GET        /_staff/issues                       ``[{"issue": {...}, "comments": [...]}]``
POST       /_staff/issues                       ``{title, contact_id?, company_id?, ...}``
GET        /_staff/issues/{id}                  ``{"issue": {...}, "comments": [...]}``
DELETE     /_staff/issues/{id}                  fires ``ticket_deleted``
POST       /_staff/issues/{id}/statuses         ``{code, comment?, comment_public?, ...}``
POST       /_staff/issues/{id}/comments         ``{content, public?, employee_id?, ...}``
POST       /_staff/issues/{id}/attachments      ``{attachments: [...], employee_id?}``
POST       /_staff/issues/{id}/assignee         ``{assignee_id, employee_id?}``
GET, PUT   /_staff/webhooks                     ``{"urls": [...]}``
GET        /_staff/webhooks/log                 delivery log (``DELETE`` clears it)
POST       /_staff/webhooks/drop                ``{"count": N}``: do not send the next N
GET, PUT   /_staff/faults                       random fault settings (``DELETE`` resets all)
POST       /_staff/faults/queue                 ``{count, kind, status?, delay?, method?, ...}``
=========  ===================================  ==============================================
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from okdesk_bot.emulators.okdesk import render
from okdesk_bot.emulators.okdesk.desk import Helpdesk
from okdesk_bot.emulators.okdesk.faults import FAULT_KINDS, FaultInjector, FaultKind
from okdesk_bot.emulators.okdesk.params import (
    indexed_list,
    opt_bool,
    opt_int,
    opt_moment,
    opt_str,
    str_list,
)
from okdesk_bot.emulators.okdesk.state import (
    BLANK,
    NOT_ALLOWED,
    Actor,
    Attachment,
    Comment,
    FileUpload,
    Issue,
    IssueDraft,
    IssueSource,
    ValidationError,
)
from okdesk_bot.emulators.okdesk.webutil import read_body, respond

_SOURCES: tuple[IssueSource, ...] = ("from_employee", "from_contact", "from_email")


class Staff:
    """Employee actions; ``employee_id=None`` means the seed's support employee."""

    def __init__(self, desk: Helpdesk) -> None:
        self._desk = desk

    def employee(self, employee_id: int | None) -> Actor:
        """The acting employee (checked to exist)."""
        state = self._desk.state
        chosen = state.support_employee_id if employee_id is None else employee_id
        return Actor(type="employee", id=state.employee(chosen).id)

    def create_issue(
        self,
        title: str,
        *,
        contact_id: int | None = None,
        company_id: int | None = None,
        description: str = "",
        source: IssueSource = "from_employee",
        employee_id: int | None = None,
        attachments: Sequence[FileUpload] = (),
    ) -> Issue:
        """Register an issue the way support does (by phone, from an e-mail, ...).

        For ``from_contact`` and ``from_email`` the contact, when given, is the author.
        """
        author = self.employee(employee_id)
        if source != "from_employee" and contact_id is not None:
            author = Actor(type="contact", id=contact_id)
        draft = IssueDraft(
            author=author,
            title=title,
            description=description,
            company_id=company_id,
            contact_id=contact_id,
            attachments=attachments,
            source=source,
        )
        return self._desk.create_issue(draft)

    def change_status(
        self,
        issue_id: int,
        code: str,
        *,
        comment: str | None = None,
        comment_public: bool = True,
        employee_id: int | None = None,
        delay_to: datetime | None = None,
    ) -> Issue:
        return self._desk.change_status(
            issue_id,
            code,
            author=self.employee(employee_id),
            comment=comment,
            comment_public=comment_public,
            delay_to=delay_to,
            enforce_requirements=False,
        )

    def add_comment(
        self,
        issue_id: int,
        content: str,
        *,
        public: bool = True,
        employee_id: int | None = None,
        contact_id: int | None = None,
        attachments: Sequence[FileUpload] = (),
    ) -> Comment:
        """Add an HTML comment by an employee, or by a contact (as from the client portal)."""
        if contact_id is None:
            author = self.employee(employee_id)
        else:
            author = Actor(type="contact", id=contact_id)
        return self._desk.add_comment(
            issue_id, content, author=author, public=public, attachments=attachments
        )

    def attach_files(
        self, issue_id: int, files: Sequence[FileUpload], *, employee_id: int | None = None
    ) -> list[Attachment]:
        return self._desk.attach_files(issue_id, files, author=self.employee(employee_id))

    def assign(
        self, issue_id: int, assignee_id: int | None, *, employee_id: int | None = None
    ) -> Issue:
        return self._desk.assign(issue_id, assignee_id, author=self.employee(employee_id))

    def delete_issue(self, issue_id: int, *, employee_id: int | None = None) -> Issue:
        return self._desk.delete_issue(issue_id, author=self.employee(employee_id))


class StaffApi:
    """The HTTP face of :class:`Staff`, webhook configuration and fault injection."""

    def __init__(self, staff: Staff, desk: Helpdesk, faults: FaultInjector) -> None:
        self._staff = staff
        self._desk = desk
        self._faults = faults

    def register(self, router: web.UrlDispatcher) -> None:
        issue = r"/_staff/issues/{issue_id:\d+}"
        router.add_get("/_staff/issues", self.list_issues)
        router.add_post("/_staff/issues", self.create_issue)
        router.add_get(issue, self.show_issue)
        router.add_delete(issue, self.delete_issue)
        router.add_post(issue + "/statuses", self.change_status)
        router.add_post(issue + "/comments", self.add_comment)
        router.add_post(issue + "/attachments", self.attach_files)
        router.add_post(issue + "/assignee", self.assign)
        router.add_get("/_staff/webhooks", self.webhook_urls)
        router.add_put("/_staff/webhooks", self.set_webhook_urls)
        router.add_get("/_staff/webhooks/log", self.webhook_log)
        router.add_delete("/_staff/webhooks/log", self.clear_webhook_log)
        router.add_post("/_staff/webhooks/drop", self.drop_webhooks)
        router.add_get("/_staff/faults", self.fault_settings)
        router.add_put("/_staff/faults", self.configure_faults)
        router.add_delete("/_staff/faults", self.reset_faults)
        router.add_post("/_staff/faults/queue", self.queue_fault)

    # -- issues --------------------------------------------------------------------------

    async def list_issues(self, _request: web.Request) -> web.Response:
        issues = sorted(self._desk.state.issues.values(), key=lambda issue: issue.id)
        return respond([self._issue_with_comments(issue) for issue in issues])

    async def show_issue(self, request: web.Request) -> web.Response:
        issue = self._desk.state.issue(_issue_id(request))
        return respond(self._issue_with_comments(issue))

    async def create_issue(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        issue = self._staff.create_issue(
            opt_str(body, "title") or "",
            contact_id=opt_int(body, "contact_id"),
            company_id=opt_int(body, "company_id"),
            description=opt_str(body, "description") or "",
            source=_source(opt_str(body, "source")),
            employee_id=opt_int(body, "employee_id"),
            attachments=_files(body),
        )
        return respond(render.issue(self._desk.state, issue))

    async def delete_issue(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        issue = self._staff.delete_issue(
            _issue_id(request), employee_id=opt_int(body, "employee_id")
        )
        return respond({"id": issue.id})

    async def change_status(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        comment_public = opt_bool(body, "comment_public")
        issue = self._staff.change_status(
            _issue_id(request),
            opt_str(body, "code") or "",
            comment=opt_str(body, "comment"),
            comment_public=True if comment_public is None else comment_public,
            employee_id=opt_int(body, "employee_id"),
            delay_to=opt_moment(body, "delay_to"),
        )
        return respond(render.issue(self._desk.state, issue))

    async def add_comment(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        public = opt_bool(body, "public")
        comment = self._staff.add_comment(
            _issue_id(request),
            opt_str(body, "content") or "",
            public=True if public is None else public,
            employee_id=opt_int(body, "employee_id"),
            contact_id=opt_int(body, "contact_id"),
            attachments=_files(body),
        )
        return respond(render.comment(self._desk.state, comment))

    async def attach_files(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        added = self._staff.attach_files(
            _issue_id(request), _files(body), employee_id=opt_int(body, "employee_id")
        )
        return respond([render.attachment(attachment) for attachment in added])

    async def assign(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        issue = self._staff.assign(
            _issue_id(request),
            opt_int(body, "assignee_id"),
            employee_id=opt_int(body, "employee_id"),
        )
        return respond(render.issue(self._desk.state, issue))

    def _issue_with_comments(self, issue: Issue) -> dict[str, Any]:
        state = self._desk.state
        return {
            "issue": render.issue(state, issue),
            "comments": [render.comment(state, c) for c in state.comments_of(issue)],
        }

    # -- webhooks ------------------------------------------------------------------------

    async def webhook_urls(self, _request: web.Request) -> web.Response:
        return respond({"urls": list(self._desk.sender.urls)})

    async def set_webhook_urls(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        self._desk.sender.set_urls(str_list(body, "urls") or [])
        return respond({"urls": list(self._desk.sender.urls)})

    async def webhook_log(self, _request: web.Request) -> web.Response:
        return respond([delivery.as_json() for delivery in self._desk.sender.log])

    async def clear_webhook_log(self, _request: web.Request) -> web.Response:
        self._desk.sender.clear_log()
        return respond([])

    async def drop_webhooks(self, request: web.Request) -> web.Response:
        count = opt_int(await read_body(request), "count")
        if count is None or count < 0:
            raise ValidationError({"count": ["должно быть больше или равно 0"]})
        self._desk.sender.drop_next(count)
        return respond({"drop_remaining": self._desk.sender.drop_remaining})

    # -- faults --------------------------------------------------------------------------

    async def fault_settings(self, _request: web.Request) -> web.Response:
        return respond(self._faults.snapshot())

    async def configure_faults(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        _apply(
            lambda: self._faults.configure(
                latency=_opt_float(body, "latency"),
                latency_jitter=_opt_float(body, "latency_jitter"),
                error_rate=_opt_float(body, "error_rate"),
                error_status=opt_int(body, "error_status"),
                rate_limit_rate=_opt_float(body, "rate_limit_rate"),
                drop_rate=_opt_float(body, "drop_rate"),
                retry_after=opt_int(body, "retry_after"),
                seed=opt_int(body, "seed"),
            )
        )
        return respond(self._faults.snapshot())

    async def reset_faults(self, _request: web.Request) -> web.Response:
        self._faults.reset()
        return respond(self._faults.snapshot())

    async def queue_fault(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        kind = _fault_kind(opt_str(body, "kind"))
        _apply(
            lambda: self._faults.fail_next(
                opt_int(body, "count") or 1,
                kind=kind,
                status=opt_int(body, "status"),
                delay=_opt_float(body, "delay") or 0.0,
                method=opt_str(body, "method"),
                path_prefix=opt_str(body, "path_prefix"),
            )
        )
        return respond(self._faults.snapshot())


def _issue_id(request: web.Request) -> int:
    return int(request.match_info["issue_id"])


def _opt_float(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError({key: ["должно иметь тип number"]})
    try:
        return float(value)
    except ValueError:
        raise ValidationError({key: ["должно иметь тип number"]}) from None


def _source(value: str | None) -> IssueSource:
    wanted = value or "from_employee"
    for source in _SOURCES:
        if source == wanted:
            return source
    raise ValidationError({"source": [NOT_ALLOWED]})


def _fault_kind(value: str | None) -> FaultKind:
    wanted = value or "error"
    for kind in FAULT_KINDS:
        if kind == wanted:
            return kind
    raise ValidationError({"kind": [NOT_ALLOWED]})


def _apply(change: Callable[[], None]) -> None:
    """Run a fault-settings change, turning its ``ValueError`` into a 422."""
    try:
        change()
    except ValueError as exc:
        raise ValidationError({"faults": [str(exc)]}) from None


def _files(body: Mapping[str, Any]) -> list[FileUpload]:
    """Decode ``attachments: [{file_name, content_base64, ...}]``."""
    files = []
    for index, entry in enumerate(indexed_list(body.get("attachments"))):
        if not isinstance(entry, Mapping):
            raise ValidationError({"attachments": {str(index): ["должно иметь тип hash"]}})
        file_name = opt_str(entry, "file_name")
        try:
            content = base64.b64decode(opt_str(entry, "content_base64") or "", validate=True)
        except binascii.Error:
            raise ValidationError(
                {"attachments": {str(index): {"content_base64": ["неверный base64"]}}}
            ) from None
        if not file_name:
            raise ValidationError({"attachments": {str(index): {"file_name": [BLANK]}}})
        files.append(
            FileUpload(
                file_name=file_name,
                content=content,
                content_type=opt_str(entry, "content_type") or "application/octet-stream",
                description=opt_str(entry, "description") or "",
                is_public=opt_bool(entry, "is_public"),
            )
        )
    return files

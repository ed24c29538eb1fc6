"""REST routes for issues, their statuses, comments, ratings and files.

Choices where the apidoc is silent:

* ``issues/list`` sorts by ``created_at`` ``forward`` (oldest first) unless ``sorting[...]``
  says otherwise; the default page size is 50 (also the maximum).
* ``issues/list`` takes ``status_codes[]``/``priority_codes[]``/``type_codes[]`` while
  ``issues/count`` takes ``status[]``/``priority[]``/``type[]``, each as documented; the
  other endpoint's spelling is ignored like any unknown parameter.
* A comment posted without ``public`` is private unless its author is a contact; a status
  comment without ``comment_public`` is private.
* Keys tied to a contact see only public comments. Issues they create are authored by that
  contact and, without ``contact_id``, belong to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from okdesk_bot.emulators.okdesk import render
from okdesk_bot.emulators.okdesk.desk import Helpdesk
from okdesk_bot.emulators.okdesk.params import (
    MomentRange,
    PageNumber,
    int_list,
    opt_bool,
    opt_int,
    opt_mapping,
    opt_moment,
    opt_str,
    str_list,
    unwrap,
    uploads,
)
from okdesk_bot.emulators.okdesk.state import (
    BLANK,
    NOT_ALLOWED,
    Actor,
    ActorType,
    ErrorCollector,
    Issue,
    IssueDraft,
    OkdeskState,
    ValidationError,
)
from okdesk_bot.emulators.okdesk.webutil import (
    ACTOR,
    TemporaryLinks,
    add_route,
    query_params,
    read_body,
    respond,
)

Predicate = Callable[[Issue], bool]

_ISSUE = r"/api/v1/issues/{issue_id:\d+}"
_SORT_FIELDS = ("created_at", "updated_at")
_DIRECTIONS = ("reverse", "forward")


class IssuesApi:
    """Handlers of ``/api/v1/issues/...``."""

    def __init__(self, desk: Helpdesk, links: TemporaryLinks) -> None:
        self._desk = desk
        self._links = links

    @property
    def _state(self) -> OkdeskState:
        return self._desk.state

    def register(self, router: web.UrlDispatcher) -> None:
        add_route(router, "GET", "/api/v1/issues/list", self.list_issues)
        add_route(router, "GET", "/api/v1/issues/count", self.count_issues)
        add_route(router, "GET", "/api/v1/issues/statuses", self.statuses)
        add_route(router, "GET", "/api/v1/issues/priorities", self.priorities)
        add_route(router, "POST", "/api/v1/issues", self.create_issue)
        add_route(router, "GET", _ISSUE, self.show_issue)
        add_route(router, "POST", _ISSUE + "/statuses", self.change_status)
        add_route(router, "POST", _ISSUE + "/rates", self.rate)
        add_route(router, "GET", _ISSUE + "/comments", self.comments)
        add_route(router, "POST", _ISSUE + "/comments", self.add_comment)
        add_route(router, "GET", _ISSUE + r"/attachments/{attachment_id:\d+}", self.attachment)

    async def list_issues(self, request: web.Request) -> web.Response:
        params = query_params(request)
        page = PageNumber.parse(params)
        field = opt_str(_sorting(params), "field") or "created_at"
        direction = opt_str(_sorting(params), "direction") or "forward"
        if field not in _SORT_FIELDS:
            raise ValidationError({"sorting": {"field": [_one_of(_SORT_FIELDS)]}})
        if direction not in _DIRECTIONS:
            raise ValidationError({"sorting": {"direction": [_one_of(_DIRECTIONS)]}})
        predicates = [
            *_common_filters(params),
            *_code_filters(params, "status_codes", "priority_codes", "type_codes"),
        ]
        found = sorted(
            (issue for issue in self._state.issues.values() if _admits(predicates, issue)),
            key=lambda issue: (
                issue.updated_at if field == "updated_at" else issue.created_at,
                issue.id,
            ),
            reverse=direction == "reverse",
        )
        return respond([render.issue_list_item(self._state, i) for i in page.apply(found)])

    async def count_issues(self, request: web.Request) -> web.Response:
        params = query_params(request)
        predicates = [
            *_common_filters(params),
            *_code_filters(params, "status", "priority", "type"),
            *self._count_filters(params),
        ]
        ids = sorted(i.id for i in self._state.issues.values() if _admits(predicates, i))
        return respond(ids)

    async def statuses(self, _request: web.Request) -> web.Response:
        return respond([render.status_reference(s) for s in self._state.statuses.values()])

    async def priorities(self, _request: web.Request) -> web.Response:
        return respond(
            [render.priority(p, with_color=True) for p in self._state.priorities.values()]
        )

    async def create_issue(self, request: web.Request) -> web.Response:
        body = unwrap(await read_body(request), "issue")
        actor = request[ACTOR]
        contact_id = opt_int(body, "contact_id")
        if contact_id is None and actor.type == "contact":
            contact_id = actor.id
        draft = IssueDraft(
            author=_author(body, actor),
            title=opt_str(body, "title"),
            description=opt_str(body, "description") or "",
            company_id=opt_int(body, "company_id"),
            contact_id=contact_id,
            type_code=opt_str(body, "type"),
            priority_code=opt_str(body, "priority"),
            assignee_id=opt_int(body, "assignee_id"),
            deadline_at=opt_moment(body, "deadline_at"),
            custom_parameters=opt_mapping(body, "custom_parameters"),
            attachments=uploads(body),
        )
        issue = self._desk.create_issue(draft)
        return respond(render.issue(self._state, issue))

    async def show_issue(self, request: web.Request) -> web.Response:
        issue = self._state.issue(_issue_id(request))
        return respond(render.issue(self._state, issue))

    async def change_status(self, request: web.Request) -> web.Response:
        body = unwrap(await read_body(request), "issue")
        skip_options = str_list(body, "skip_options") or []
        issue = self._desk.change_status(
            _issue_id(request),
            opt_str(body, "code"),
            author=request[ACTOR],
            comment=opt_str(body, "comment"),
            comment_public=bool(opt_bool(body, "comment_public")),
            delay_to=opt_moment(body, "delay_to"),
            skip_webhooks="skip_webhooks" in skip_options,
        )
        return respond(render.issue(self._state, issue))

    async def rate(self, request: web.Request) -> web.Response:
        body = unwrap(await read_body(request), "issue")
        issue = self._desk.rate(_issue_id(request), opt_str(body, "rate"), author=request[ACTOR])
        return respond(render.issue(self._state, issue))

    async def comments(self, request: web.Request) -> web.Response:
        issue = self._state.issue(_issue_id(request))
        public_only = request[ACTOR].type == "contact"
        return respond(
            [
                render.comment(self._state, comment)
                for comment in self._state.comments_of(issue)
                if comment.public or not public_only
            ]
        )

    async def add_comment(self, request: web.Request) -> web.Response:
        issue_id = _issue_id(request)
        self._state.issue(issue_id)
        body = unwrap(await read_body(request), "comment")
        author_type = _actor_type(opt_str(body, "author_type"))
        if author_type is None:
            raise ValidationError({"author_type": [NOT_ALLOWED]})
        author_id = opt_int(body, "author_id")
        comment = self._desk.add_comment(
            issue_id,
            opt_str(body, "content"),
            author=None if author_id is None else Actor(type=author_type, id=author_id),
            public=bool(opt_bool(body, "public")),
            attachments=uploads(body),
        )
        return respond(render.comment(self._state, comment))

    async def attachment(self, request: web.Request) -> web.Response:
        attachment = self._state.attachment(
            _issue_id(request), int(request.match_info["attachment_id"])
        )
        token = self._links.issue(attachment.id)
        url = request.url.origin().join(
            request.app.router["attachment_file"].url_for(token=token, name=attachment.file_name)
        )
        return respond({**render.attachment(attachment), "attachment_url": str(url)})

    def _count_filters(self, params: Mapping[str, Any]) -> list[Predicate]:
        predicates: list[Predicate] = []
        excluded = str_list(params, "status_not")
        if excluded is not None:
            predicates.append(lambda issue: issue.status_code not in excluded)
        if opt_bool(params, "opened"):
            statuses = self._state.statuses
            predicates.append(lambda issue: not statuses[issue.status_code].final)
        rates = str_list(params, "rate")
        if rates is not None:
            predicates.append(lambda issue: (issue.rate or "0") in rates)
        employees = int_list(params, "author_employee_ids")
        contacts = int_list(params, "author_contact_ids")
        if employees is not None or contacts is not None:
            predicates.append(lambda issue: _authored_by(issue, employees, contacts))
        return predicates


def _issue_id(request: web.Request) -> int:
    return int(request.match_info["issue_id"])


def _author(body: Mapping[str, Any], actor: Actor) -> Actor:
    """``author {id, type}`` is honoured for employee (administrator) keys only."""
    author = opt_mapping(body, "author")
    if not author or actor.type == "contact":
        return actor
    errors = ErrorCollector()
    author_type = _actor_type(opt_str(author, "type"))
    if author_type is None:
        errors.add(("author", "type"), NOT_ALLOWED)
    author_id = opt_int(author, "id")
    if author_id is None:
        errors.add(("author", "id"), BLANK)
    errors.raise_if_any()
    assert author_type is not None  # narrowed by the collector above
    assert author_id is not None
    return Actor(type=author_type, id=author_id)


def _actor_type(value: str | None) -> ActorType | None:
    """``employee`` (the default when absent) or ``contact``; ``None`` for anything else."""
    if value is None or value == "employee":
        return "employee"
    if value == "contact":
        return "contact"
    return None


def _sorting(params: Mapping[str, Any]) -> Mapping[str, Any]:
    sorting = params.get("sorting")
    return sorting if isinstance(sorting, Mapping) else {}


def _one_of(values: tuple[str, ...]) -> str:
    return "должен быть одним из: " + ", ".join(values)


def _admits(predicates: list[Predicate], issue: Issue) -> bool:
    return all(predicate(issue) for predicate in predicates)


def _id_filter(ids: list[int] | None, get: Callable[[Issue], int | None]) -> list[Predicate]:
    """Match issues whose id is among ``ids``; the id ``0`` stands for "none"."""
    if ids is None:
        return []
    wanted = set(ids)
    return [lambda issue: (get(issue) or 0) in wanted]


def _common_filters(params: Mapping[str, Any]) -> list[Predicate]:
    predicates = [
        *_id_filter(int_list(params, "company_ids"), lambda issue: issue.company_id),
        *_id_filter(int_list(params, "contact_ids"), lambda issue: issue.contact_id),
        *_id_filter(int_list(params, "assignee_ids"), lambda issue: issue.assignee_id),
    ]
    created = MomentRange.parse(params, "created")
    updated = MomentRange.parse(params, "updated")
    completed = MomentRange.parse(params, "completed")
    predicates.append(
        lambda issue: (
            created.admits(issue.created_at)
            and updated.admits(issue.updated_at)
            and completed.admits(issue.completed_at)
        )
    )
    return predicates


def _code_filters(
    params: Mapping[str, Any], status_key: str, priority_key: str, type_key: str
) -> list[Predicate]:
    statuses = str_list(params, status_key)
    priorities = str_list(params, priority_key)
    types = str_list(params, type_key)
    return [
        lambda issue: statuses is None or issue.status_code in statuses,
        lambda issue: priorities is None or issue.priority_code in priorities,
        lambda issue: types is None or issue.type_code in types,
    ]


def _authored_by(issue: Issue, employees: list[int] | None, contacts: list[int] | None) -> bool:
    """``author_employee_ids`` and ``author_contact_ids`` combine with OR."""
    if issue.author.type == "employee":
        return employees is not None and issue.author.id in employees
    return contacts is not None and issue.author.id in contacts

"""The aiohttp application: REST API, staff API, issue web page and file downloads.

* ``/api/v1/...`` needs ``?api_token=``: a missing or unknown token gives 401
  ``{"errors": "..."}``. Fault injection applies here only.
* ``/_staff/...`` is the support side (see :mod:`.staff`), without a token.
* ``/issues/{id}`` is a plain HTML page of the ticket, so links built as
  ``<web base>/issues/<id>`` resolve.
* ``/_files/{token}/{name}`` serves an attachment through a temporary link issued by
  ``GET /api/v1/issues/{id}/attachments/{attachment_id}``.

Errors are JSON everywhere except the web page: 400 for unparseable bodies, 404
``{"errors": "..."}`` for unknown records or routes, 422 ``{"errors": {field: [message]}}``.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from aiohttp import web

from okdesk_bot.emulators.okdesk.api_directory import DirectoryApi
from okdesk_bot.emulators.okdesk.api_issues import IssuesApi
from okdesk_bot.emulators.okdesk.desk import Helpdesk
from okdesk_bot.emulators.okdesk.faults import API_PREFIX, FaultInjector
from okdesk_bot.emulators.okdesk.render import timestamp
from okdesk_bot.emulators.okdesk.staff import Staff, StaffApi
from okdesk_bot.emulators.okdesk.state import (
    BadRequestError,
    Issue,
    NotFoundError,
    ValidationError,
)
from okdesk_bot.emulators.okdesk.webutil import (
    ACTOR,
    MAX_BODY_BYTES,
    ApiKeys,
    Handler,
    TemporaryLinks,
    json_errors,
)

_JSON_PREFIXES = (API_PREFIX, "/_staff")


def build_app(
    desk: Helpdesk,
    *,
    keys: ApiKeys,
    faults: FaultInjector,
    links: TemporaryLinks,
    staff: Staff,
) -> web.Application:
    """Assemble the emulator's application around an account and its settings."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        owner = keys.owner(request.query.get("api_token"))
        if owner is None:
            return json_errors("Не указан или неверный api_token", 401)
        request[ACTOR] = owner
        return await handler(request)

    app = web.Application(
        middlewares=[faults.middleware, _errors_as_json, authenticate],
        client_max_size=MAX_BODY_BYTES,
    )
    IssuesApi(desk, links).register(app.router)
    DirectoryApi(desk).register(app.router)
    StaffApi(staff, desk, faults).register(app.router)
    pages = _Pages(desk, links)
    app.router.add_get(r"/issues/{issue_id:\d+}", pages.issue_page)
    app.router.add_get("/_files/{token}/{name}", pages.download, name="attachment_file")

    async def close_sender(_: web.Application) -> None:
        await desk.sender.close()

    app.on_cleanup.append(close_sender)
    return app


@web.middleware
async def _errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ValidationError as exc:
        return json_errors(exc.errors, 422)
    except NotFoundError:
        return json_errors("Не найдено", 404)
    except BadRequestError as exc:
        return json_errors(str(exc), 400)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(_JSON_PREFIXES):
            raise
        return json_errors(exc.reason, exc.status)


class _Pages:
    """Routes for people: the issue page and attachment downloads."""

    def __init__(self, desk: Helpdesk, links: TemporaryLinks) -> None:
        self._desk = desk
        self._links = links

    async def issue_page(self, request: web.Request) -> web.Response:
        issue = self._desk.state.issues.get(int(request.match_info["issue_id"]))
        if issue is None:
            return web.Response(
                status=404, text=_page("Заявка не найдена", ""), content_type="text/html"
            )
        return web.Response(text=self._render(issue), content_type="text/html")

    async def download(self, request: web.Request) -> web.Response:
        attachment_id = self._links.resolve(request.match_info["token"])
        if attachment_id is None:
            return web.Response(status=403, text="Request has expired")
        attachment = self._desk.state.attachments.get(attachment_id)
        if attachment is None:
            return web.Response(status=404, text="Not found")
        return web.Response(
            body=attachment.content,
            content_type=attachment.content_type,
            headers={
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(attachment.file_name)}"
            },
        )

    def _render(self, issue: Issue) -> str:
        state = self._desk.state
        company = state.companies.get(issue.company_id or 0)
        contact = state.contacts.get(issue.contact_id or 0)
        facts = [
            ("Статус", state.statuses[issue.status_code].name),
            ("Приоритет", state.priorities[issue.priority_code].name),
            ("Клиент", company.name if company else "—"),
            ("Контактное лицо", contact.name if contact else "—"),
            ("Создана", timestamp(issue.created_at) or ""),
        ]
        rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
        comments = "".join(
            f"<li><b>{escape(state.person(c.author).name)}</b> "
            f"<time>{timestamp(c.published_at)}</time>"
            f"<div>{escape(c.content)}</div></li>"
            for c in state.comments_of(issue)
            if c.public
        )
        body = (
            f"<table>{rows}</table><h2>Описание</h2><p>{escape(issue.description)}</p>"
            f"<h2>Комментарии</h2><ul>{comments}</ul>"
        )
        return _page(f"Заявка №{issue.id}: {issue.title}", body)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )

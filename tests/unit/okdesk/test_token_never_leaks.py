"""The API token never appears in exceptions, their chains or any log record.

httpx puts the full URL, query string included, into its INFO log line and into the
``request`` of its exceptions; these tests drive real failures over a socket and search every
rendering of the outcome for the token. Each test also checks that the token was really sent,
so a pass cannot come from a request that simply lacked it.
"""

import logging
import traceback
from collections.abc import Iterator

import pytest

from okdesk_bot.okdesk import (
    ContactCreate,
    OkdeskAuthError,
    OkdeskConnectionError,
    OkdeskError,
    OkdeskServerError,
    OkdeskTimeoutError,
    OkdeskValidationError,
)
from tests.unit.okdesk.conftest import TOKEN, ClientFactory, Reply, ScriptedOkdesk, unused_port


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger, httpx and httpcore included, at DEBUG (whatever set them before)."""
    caplog.set_level(logging.DEBUG)
    for library in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=library)
    return caplog


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]


def assert_token_absent(
    exc: OkdeskError, logs: pytest.LogCaptureFixture, *, active_logger: str = "httpx"
) -> None:
    """No rendering of ``exc`` or of any log record holds the token.

    ``active_logger`` names a logger that must have written something, proving the capture
    worked: httpx logs only once a response arrives, httpcore logs every connection attempt.
    """
    renderings = ["".join(traceback.format_exception(exc))]
    for link in exception_chain(exc):
        renderings += [str(link), repr(link), repr(vars(link))]
    formatter = logging.Formatter("%(name)s %(message)s")
    renderings += [formatter.format(record) for record in logs.records]

    leaks = [text for text in renderings if TOKEN in text]
    assert leaks == []
    assert any(record.name.startswith(active_logger) for record in logs.records)


async def test_auth_failure_with_the_token_echoed_by_the_server(
    okdesk: ScriptedOkdesk, make_client: ClientFactory, all_logs: pytest.LogCaptureFixture
) -> None:
    okdesk.script(
        "GET",
        "issues/statuses",
        Reply(status=401, body={"errors": f"Неверный ключ {TOKEN} в запросе ?api_token={TOKEN}"}),
    )

    with pytest.raises(OkdeskAuthError) as caught:
        await make_client().list_statuses()

    assert okdesk.requests[0].query["api_token"] == TOKEN
    assert "Неверный ключ *** в запросе ?api_token=***" in str(caught.value)
    assert_token_absent(caught.value, all_logs)


async def test_validation_failure_with_the_token_in_field_errors(
    okdesk: ScriptedOkdesk, make_client: ClientFactory, all_logs: pytest.LogCaptureFixture
) -> None:
    okdesk.script(
        "POST", "contacts/", Reply(status=422, body={"errors": {"api_token": [f"bad {TOKEN}"]}})
    )

    with pytest.raises(OkdeskValidationError) as caught:
        await make_client().create_contact(ContactCreate(first_name="A"))

    assert caught.value.field_errors == {"api_token": ["bad ***"]}
    assert_token_absent(caught.value, all_logs)


async def test_timeouts(
    okdesk: ScriptedOkdesk, make_client: ClientFactory, all_logs: pytest.LogCaptureFixture
) -> None:
    okdesk.script("GET", "issues/statuses", Reply(body=[], delay=1.0))

    with pytest.raises(OkdeskTimeoutError) as caught:
        await make_client(timeout=0.1, max_retries=1).list_statuses()

    assert [r.query["api_token"] for r in okdesk.requests] == [TOKEN, TOKEN]
    assert_token_absent(caught.value, all_logs, active_logger="httpcore")


async def test_server_errors_on_writes(
    okdesk: ScriptedOkdesk, make_client: ClientFactory, all_logs: pytest.LogCaptureFixture
) -> None:
    okdesk.script(
        "POST",
        "issues/5/comments",
        Reply(status=500, text=f"Traceback: POST /api/v1/issues/5/comments?api_token={TOKEN}"),
    )

    with pytest.raises(OkdeskServerError) as caught:
        await make_client().add_comment(5, "x", author_id=1)

    assert okdesk.requests[0].query["api_token"] == TOKEN
    assert_token_absent(caught.value, all_logs)


async def test_connection_errors(
    make_client: ClientFactory, all_logs: pytest.LogCaptureFixture
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{unused_port()}/api/v1", max_retries=1)

    with pytest.raises(OkdeskConnectionError) as caught:
        await client.list_statuses()

    assert_token_absent(caught.value, all_logs, active_logger="httpcore")

"""How the client maps Okdesk failures to exceptions, and when it retries."""

import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from okdesk_bot.okdesk import (
    ContactCreate,
    IssueCreate,
    OkdeskAuthError,
    OkdeskClient,
    OkdeskConnectionError,
    OkdeskError,
    OkdeskForbiddenError,
    OkdeskNotFoundError,
    OkdeskRateLimitedError,
    OkdeskServerError,
    OkdeskTimeoutError,
    OkdeskUnavailableError,
    OkdeskValidationError,
)
from tests.unit.okdesk.conftest import ClientFactory, Reply, ScriptedOkdesk, unused_port

STATUSES = [{"code": "opened", "name": "Открыта"}]


class TestStatusMapping:
    @pytest.mark.parametrize(
        ("status", "error_type"),
        [
            (401, OkdeskAuthError),
            (403, OkdeskForbiddenError),
            (404, OkdeskNotFoundError),
            (302, OkdeskNotFoundError),
            (418, OkdeskError),
        ],
    )
    async def test_client_errors_map_by_status_and_are_not_retried(
        self,
        okdesk: ScriptedOkdesk,
        make_client: ClientFactory,
        status: int,
        error_type: type[OkdeskError],
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(status=status, body={"errors": "Нет"}))

        with pytest.raises(error_type) as caught:
            await make_client().list_statuses()

        assert type(caught.value) is error_type
        assert caught.value.status_code == status
        assert len(okdesk.requests) == 1

    async def test_403_explains_missing_rights_for_admins(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET", "companies/list", Reply(status=403, body={"errors": "Недостаточно прав"})
        )

        with pytest.raises(OkdeskForbiddenError) as caught:
            await make_client().list_companies()

        assert str(caught.value) == (
            "The Okdesk user of the API token lacks the rights for GET /api/v1/companies/list"
            " (HTTP 403). Okdesk says: Недостаточно прав"
        )

    async def test_422_with_nested_errors_gives_dotted_field_errors(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET",
            "companies/list",
            Reply(
                status=422,
                body={"errors": {"page": {"size": ["должно быть меньше или равно 100"]}}},
            ),
        )

        with pytest.raises(OkdeskValidationError) as caught:
            await make_client().list_companies()

        assert caught.value.field_errors == {"page.size": ["должно быть меньше или равно 100"]}
        assert caught.value.status_code == 422
        assert "page.size: должно быть меньше или равно 100" in str(caught.value)
        assert len(okdesk.requests) == 1

    async def test_422_with_a_string_error_gives_a_general_error(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "POST",
            "issues/5/comments",
            Reply(status=422, body={"errors": "author_id: отсутствует"}),
        )

        with pytest.raises(OkdeskValidationError) as caught:
            await make_client().add_comment(5, "text", author_id=0)

        assert caught.value.general_errors == ["author_id: отсутствует"]
        assert caught.value.field_errors == {}

    async def test_errors_in_a_200_body_of_a_write_are_a_validation_error(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "POST",
            "contacts/",
            Reply(body={"errors": {"last_name": ["не может быть пустым"]}}),
        )

        with pytest.raises(OkdeskValidationError) as caught:
            await make_client().create_contact(ContactCreate(first_name="Иван"))

        assert caught.value.status_code == 200
        assert caught.value.field_errors == {"last_name": ["не может быть пустым"]}

    async def test_a_non_json_error_page_is_summarised_on_one_line(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(status=400, text="Bad\n\n  request"))

        with pytest.raises(OkdeskValidationError, match=r"Okdesk says: Bad request$"):
            await make_client(max_retries=0).list_statuses()


class TestRetries:
    async def test_get_is_retried_through_5xx_to_success(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        okdesk.script(
            "GET",
            "issues/statuses",
            Reply(status=503),
            Reply(status=502, text="Bad Gateway"),
            Reply(body=STATUSES),
        )

        with caplog.at_level(logging.WARNING, logger="okdesk_bot.okdesk"):
            statuses = await make_client().list_statuses()

        assert [s.code for s in statuses] == ["opened"]
        assert len(okdesk.requests) == 3
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 2
        assert messages[0].startswith("Okdesk GET /api/v1/issues/statuses: HTTP 503, retry 1 of 3")
        assert messages[1].startswith("Okdesk GET /api/v1/issues/statuses: HTTP 502, retry 2 of 3")

    async def test_get_gives_up_after_max_retries(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(status=500, body={"errors": "boom"}))

        with pytest.raises(OkdeskServerError) as caught:
            await make_client(max_retries=2).list_statuses()

        assert len(okdesk.requests) == 3
        assert caught.value.status_code == 500
        assert caught.value.outcome_unknown is False
        assert isinstance(caught.value, OkdeskUnavailableError)

    async def test_post_with_5xx_is_not_retried_and_flags_an_unknown_outcome(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/", Reply(status=503), Reply(body={"id": 1, "title": "x"}))

        with pytest.raises(OkdeskServerError) as caught:
            await make_client().create_issue(IssueCreate(title="x"))

        assert len(okdesk.requests) == 1
        assert caught.value.outcome_unknown is True
        assert "may or may not have been applied" in str(caught.value)

    async def test_429_waits_for_retry_after_then_succeeds(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET",
            "issues/statuses",
            Reply(status=429, headers={"Retry-After": "1"}),
            Reply(body=STATUSES),
        )
        client = make_client(backoff_max=5.0)

        started = time.monotonic()
        statuses = await client.list_statuses()

        assert time.monotonic() - started >= 0.95
        assert [s.code for s in statuses] == ["opened"]
        assert len(okdesk.requests) == 2

    async def test_429_asking_for_longer_than_the_cap_is_raised_with_retry_after(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(status=429, headers={"Retry-After": "120"}))

        with pytest.raises(OkdeskRateLimitedError) as caught:
            await make_client(backoff_max=5.0).list_statuses()

        assert caught.value.retry_after == 120
        assert caught.value.status_code == 429
        assert len(okdesk.requests) == 1

    async def test_429_without_retry_after_backs_off(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(status=429), Reply(body=STATUSES))

        assert len(await make_client().list_statuses()) == 1
        assert len(okdesk.requests) == 2

    async def test_429_on_a_post_is_not_retried(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/5/rates", Reply(status=429, headers={"Retry-After": "0"}))

        with pytest.raises(OkdeskRateLimitedError):
            await make_client().rate_issue(5, "good")

        assert len(okdesk.requests) == 1

    async def test_get_timeout_is_retried_then_raised(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("GET", "issues/statuses", Reply(body=STATUSES, delay=1.0))

        with pytest.raises(OkdeskTimeoutError) as caught:
            await make_client(timeout=0.1, max_retries=1).list_statuses()

        assert len(okdesk.requests) == 2
        assert caught.value.outcome_unknown is False
        assert "did not answer GET /api/v1/issues/statuses in time" in str(caught.value)

    async def test_get_timeout_then_success(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script(
            "GET", "issues/statuses", Reply(body=STATUSES, delay=1.0), Reply(body=STATUSES)
        )

        statuses = await make_client(timeout=0.1).list_statuses()

        assert [s.code for s in statuses] == ["opened"]

    async def test_post_timeout_is_not_retried_and_its_outcome_is_unknown(
        self, okdesk: ScriptedOkdesk, make_client: ClientFactory
    ) -> None:
        okdesk.script("POST", "issues/5/comments", Reply(body={"id": 1}, delay=1.0))

        with pytest.raises(OkdeskTimeoutError) as caught:
            await make_client(timeout=0.1).add_comment(5, "hello", author_id=1)

        assert len(okdesk.requests) == 1
        assert caught.value.outcome_unknown is True
        assert "check before sending it again" in str(caught.value)

    @pytest.mark.parametrize(
        ("label", "call"),
        [
            ("GET /api/v1/issues/statuses", lambda client: client.list_statuses()),
            ("POST /api/v1/issues/1/rates", lambda client: client.rate_issue(1, "good")),
        ],
    )
    async def test_connection_refused_is_retried_even_for_writes(
        self,
        make_client: ClientFactory,
        caplog: pytest.LogCaptureFixture,
        label: str,
        call: Callable[[OkdeskClient], Awaitable[object]],
    ) -> None:
        # Nothing was sent when the connection is refused, so repeating a write is safe.
        client = make_client(base_url=f"http://127.0.0.1:{unused_port()}/api/v1", max_retries=2)

        caplog.set_level(logging.WARNING, logger="okdesk_bot.okdesk")
        with pytest.raises(OkdeskConnectionError) as caught:
            await call(client)

        assert caught.value.outcome_unknown is False
        assert caught.value.status_code is None
        assert str(caught.value).startswith(f"Could not reach Okdesk for {label} (ConnectError")
        retry_logs = [record.getMessage() for record in caplog.records]
        assert len(retry_logs) == 2
        assert all(message.startswith(f"Okdesk {label}: ConnectError") for message in retry_logs)

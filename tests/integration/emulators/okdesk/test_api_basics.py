"""Authentication, body formats, error shapes and references of the emulated REST API."""

from __future__ import annotations

import re

import httpx
import pytest

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from tests.integration.emulators.okdesk.support import CONTACT_TOKEN, TOKEN

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+03:00$")


@pytest.mark.parametrize("params", [{}, {"api_token": "wrong"}])
async def test_missing_or_wrong_token_is_401_with_errors_string(
    emulator: OkdeskEmulator, params: dict[str, str]
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emulator.api_url}/issues/1", params=params)

    assert response.status_code == 401
    assert isinstance(response.json()["errors"], str)


async def test_token_in_a_header_is_not_accepted(emulator: OkdeskEmulator) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{emulator.api_url}/issues/1", headers={"Authorization": f"Token {TOKEN}"}
        )

    assert response.status_code == 401


async def test_contact_key_cannot_search_companies(emulator: OkdeskEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.api_url) as client:
        response = await client.get("/companies/", params={"api_token": CONTACT_TOKEN, "id": 1})

    assert response.status_code == 403
    assert "errors" in response.json()


@pytest.mark.parametrize(
    "body", [{"issue": {"title": "Wrapped"}}, {"title": "Wrapped"}], ids=["wrapped", "flat"]
)
async def test_issue_body_may_be_wrapped_or_flat(
    api: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await api.post("/issues/", json=body)

    assert response.status_code == 200
    assert response.json()["title"] == "Wrapped"


async def test_created_issue_has_the_get_by_id_shape(api: httpx.AsyncClient) -> None:
    created = (
        await api.post(
            "/issues/",
            json={
                "issue": {
                    "title": "Сломался ноутбук",
                    "description": "Не включается",
                    "contact_id": 1,
                }
            },
        )
    ).json()

    fetched = (await api.get(f"/issues/{created['id']}")).json()
    assert fetched == created
    assert fetched["company_id"] == 1  # taken from the contact
    assert fetched["contact"] == {"id": 1, "name": "Смирнова Анна Викторовна"}
    assert fetched["status"] == {"code": "opened", "name": "Открыта"}
    assert fetched["priority"]["code"] == "normal"
    assert fetched["type"]["code"] == "service"
    assert fetched["comments"] == {"count": 0, "last_at": None}
    assert fetched["author"] == {"id": 1, "name": "Иванов Иван Иванович"}
    assert fetched["source"] == "from_employee"
    assert ISO_MS.match(fetched["created_at"])
    assert "company" not in fetched


async def test_issue_without_title_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/issues/", json={"issue": {"description": "no title"}})

    assert response.status_code == 422
    assert response.json() == {"errors": {"title": ["не может быть пустым"]}}


async def test_issue_with_unknown_references_reports_every_field(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/issues/",
        json={"title": "x", "contact_id": 999, "priority": "urgent", "type": "nope"},
    )

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"contact_id", "priority", "type"}


async def test_unknown_issue_is_404_json(api: httpx.AsyncClient) -> None:
    response = await api.get("/issues/999")

    assert response.status_code == 404
    assert "errors" in response.json()


async def test_unknown_route_is_404_json(api: httpx.AsyncClient) -> None:
    response = await api.get("/no/such/thing")

    assert response.status_code == 404
    assert "errors" in response.json()


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/issues/", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400


async def test_statuses_reference_marks_final_statuses(api: httpx.AsyncClient) -> None:
    statuses = (await api.get("/issues/statuses")).json()

    by_code = {status["code"]: status for status in statuses}
    assert list(by_code) == ["opened", "in_progress", "delayed", "completed", "closed"]
    assert by_code["completed"] == {
        "code": "completed",
        "name": "Решена",
        "color": "#5cb85c",
        "final": True,
    }
    assert not by_code["opened"]["final"]


async def test_priorities_reference(api: httpx.AsyncClient) -> None:
    priorities = (await api.get("/issues/priorities/")).json()

    assert [p["code"] for p in priorities] == ["low", "normal", "high"]
    assert all({"code", "name", "color"} <= set(p) for p in priorities)


async def test_employees_list_uses_cursor_pagination(api: httpx.AsyncClient) -> None:
    first = (await api.get("/employees/list", params={"page[size]": 1})).json()
    rest = (
        await api.get("/employees/list", params={"page[size]": 1, "page[from_id]": first[0]["id"]})
    ).json()

    assert [e["id"] for e in first] == [2]
    assert [e["id"] for e in rest] == [1]
    assert rest[0]["name"] == "Иванов Иван Иванович"

"""Companies and contacts: exact searches, custom-parameter filters, cursor pagination."""

from __future__ import annotations

import httpx
import pytest
from stdnum.ru import inn

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from tests.integration.emulators.okdesk.support import Query

DEMO_INN = "7701234560"


async def test_demo_company_carries_a_valid_inn_parameter(api: httpx.AsyncClient) -> None:
    company = (await api.get("/companies/1")).json()

    parameter = next(p for p in company["parameters"] if p["code"] == "inn")
    assert parameter == {
        "code": "inn",
        "name": "ИНН",
        "field_type": "ftstring",
        "value": DEMO_INN,
    }
    assert inn.is_valid(parameter["value"])


@pytest.mark.parametrize(
    ("params", "expected_id"),
    [
        ({"name": "ООО «Ромашка»"}, 1),
        ({"name": "Ромашка"}, 1),  # the additional name
        ({"phone": "+7(812)765-43-21"}, 2),
        ({"id": "2"}, 2),
        ({"crm_1c_id": "c3d4"}, 1),  # substring of the 1C id
    ],
)
async def test_company_search_returns_one_object(
    api: httpx.AsyncClient, params: Query, expected_id: int
) -> None:
    response = await api.get("/companies/", params=params)

    assert response.status_code == 200
    assert response.json()["id"] == expected_id


@pytest.mark.parametrize("params", [{"name": "Ромаш"}, {"phone": "+7(495)1234567"}, {}])
async def test_company_search_without_a_match_is_an_empty_object(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await api.get("/companies/", params=params)

    assert response.status_code == 200
    assert response.json() == {}


async def test_company_search_string_returns_an_array_and_ignores_other_params(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/companies/", params={"search_string": "ромаш", "id": 2})

    assert [company["id"] for company in response.json()] == [1]


async def test_companies_list_filters_by_custom_parameter(api: httpx.AsyncClient) -> None:
    found = (await api.get("/companies/list", params={"custom_parameters[inn]": DEMO_INN})).json()
    missing = (
        await api.get("/companies/list", params={"custom_parameters[inn]": "7701234561"})
    ).json()

    assert [company["id"] for company in found] == [1]
    assert missing == []


async def test_companies_list_checkbox_and_category_filters(api: httpx.AsyncClient) -> None:
    vip = (
        await api.get("/companies/list", params={"custom_parameters[vip_support]": "true"})
    ).json()
    regular = (await api.get("/companies/list", params={"category_ids[]": 2})).json()

    assert [company["id"] for company in vip] == [1]
    assert [company["id"] for company in regular] == [2]


async def _create_companies(api: httpx.AsyncClient, count: int) -> list[int]:
    ids = []
    for number in range(count):
        response = await api.post("/companies/", json={"company": {"name": f"Компания {number}"}})
        ids.append(response.json()["id"])
    return ids


async def test_companies_list_pages_in_both_directions(api: httpx.AsyncClient) -> None:
    await _create_companies(api, 3)  # ids 3..5 after the two seeded ones

    default = (await api.get("/companies/list", params={"page[size]": 2})).json()
    reverse = (
        await api.get("/companies/list", params={"page[size]": 2, "page[from_id]": 4})
    ).json()
    forward = (
        await api.get(
            "/companies/list",
            params={"page[size]": 2, "page[from_id]": 2, "page[direction]": "forward"},
        )
    ).json()
    forward_start = (
        await api.get("/companies/list", params={"page[size]": 2, "page[direction]": "forward"})
    ).json()

    assert [c["id"] for c in default] == [5, 4]
    assert [c["id"] for c in reverse] == [3, 2]
    assert [c["id"] for c in forward] == [3, 4]
    assert [c["id"] for c in forward_start] == [1, 2]


async def test_cursor_pagination_walks_every_record_once(api: httpx.AsyncClient) -> None:
    created = await _create_companies(api, 5)
    seen: list[int] = []
    params: dict[str, int] = {"page[size]": 3}
    while True:
        page = (await api.get("/companies/list", params=params)).json()
        seen += [company["id"] for company in page]
        if len(page) < 3:
            break
        params["page[from_id]"] = page[-1]["id"]

    assert sorted(seen) == sorted([1, 2, *created])
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"page[size]": 101}, {"page": {"size": ["должно быть меньше или равно 100"]}}),
        (
            {"page[direction]": "sideways"},
            {"page": {"direction": ["должен быть одним из: reverse, forward"]}},
        ),
        ({"page[from_id]": "x"}, {"page": {"from_id": ["должно иметь тип integer"]}}),
    ],
)
async def test_bad_cursor_parameters_are_422(
    api: httpx.AsyncClient, params: Query, errors: dict[str, object]
) -> None:
    response = await api.get("/companies/list", params=params)

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


async def test_company_creation_validates_and_stores_parameters(api: httpx.AsyncClient) -> None:
    invalid = await api.post("/companies/", json={"company": {"phone": "123"}})
    created = await api.post(
        "/companies/",
        json={
            "name": "ООО «Василёк»",
            "category_code": "vipclient",
            "custom_parameters": {"inn": "5001007329"},
        },
    )

    assert invalid.status_code == 422
    assert invalid.json() == {"errors": {"name": ["не может быть пустым"]}}
    company = created.json()
    assert company["category"]["code"] == "vipclient"
    fetched = await api.get("/companies/list", params={"custom_parameters[inn]": "5001007329"})
    assert [c["id"] for c in fetched.json()] == [company["id"]]


async def test_contact_phone_search_is_an_exact_string_match(
    emulator: OkdeskEmulator, api: httpx.AsyncClient
) -> None:
    encoded = await api.get("/contacts/", params={"phone": "+79991234567"})  # sent as %2B
    other_form = await api.get("/contacts/", params={"phone": "89991234567"})
    stored_with_8 = await api.get("/contacts/", params={"phone": "89997654321"})
    async with httpx.AsyncClient() as raw_client:  # a raw "+" in the query means a space
        raw_plus = await raw_client.get(
            f"{emulator.api_url}/contacts/?api_token=employee-token&phone=+79991234567"
        )

    assert encoded.json()["id"] == 1
    assert other_form.json() == {}
    assert stored_with_8.json()["id"] == 2
    assert raw_plus.status_code == 200
    assert raw_plus.json() == {}


async def test_contact_search_by_id_email_and_search_string(api: httpx.AsyncClient) -> None:
    by_id = (await api.get("/contacts/", params={"id": 2})).json()
    by_email = (await api.get("/contacts/", params={"email": "anna@romashka.example"})).json()
    by_mobile = (await api.get("/contacts/", params={"phone": "+7 (999) 765-43-21"})).json()
    listed = (await api.get("/contacts/", params={"search_string": "сидор"})).json()

    assert by_id["name"] == "Сидоров Алексей Владимирович"
    assert by_email["id"] == 1
    assert by_mobile["id"] == 2
    assert [contact["id"] for contact in listed] == [2]


async def test_contact_creation_requires_names_and_builds_the_name(
    api: httpx.AsyncClient,
) -> None:
    missing = await api.post("/contacts/", json={"contact": {"first_name": "Пётр"}})
    created = await api.post(
        "/contacts/",
        json={
            "first_name": "ТЕСТ",
            "last_name": "ТЕТС ФЫВФ",
            "phone": "+79990001122",
            "company_id": 1,
        },
    )

    assert missing.status_code == 422
    assert missing.json() == {"errors": {"last_name": ["не может быть пустым"]}}
    contact = created.json()
    assert contact["name"] == "ТЕТС ФЫВФ ТЕСТ"
    assert contact["company_id"] == 1
    found = (await api.get("/contacts/", params={"phone": "+79990001122"})).json()
    assert found["id"] == contact["id"]


async def test_contact_update_changes_only_given_fields(api: httpx.AsyncClient) -> None:
    response = await api.patch(
        "/contacts/2",
        json={"contact": {"company_id": 1, "custom_parameters": {"telegram_id": "42"}}},
    )
    rejected = await api.patch("/contacts/2", json={"last_name": ""})

    contact = (await api.get("/contacts/2")).json()
    assert response.status_code == 200
    assert contact["company_id"] == 1
    assert contact["phone"] == "89997654321"
    assert contact["parameters"] == [
        {"code": "telegram_id", "name": "Telegram ID", "field_type": "ftstring", "value": "42"}
    ]
    assert rejected.status_code == 422


async def test_contacts_list_and_unknown_contact(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/contacts/list", params={"page[direction]": "forward"})).json()
    missing = await api.get("/contacts/77")

    assert [contact["id"] for contact in listed] == [1, 2]
    assert missing.status_code == 404

"""Issue lists and counts, status changes, ratings, comments and attachments."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from okdesk_bot.emulators.okdesk import OkdeskEmulator, load_seed
from okdesk_bot.emulators.okdesk.state import ACCOUNT_TZ
from tests.integration.emulators.okdesk.support import Query


async def _create(api: httpx.AsyncClient, title: str, **fields: object) -> dict[str, object]:
    response = await api.post("/issues/", json={"issue": {"title": title, **fields}})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_issues_list_item_shape(api: httpx.AsyncClient) -> None:
    items = (await api.get("/issues/list", params={"contact_ids[]": 1})).json()

    assert [item["id"] for item in items] == [1]
    item = items[0]
    assert item["company"] == {"id": 1, "name": "ООО «Ромашка»"}
    assert item["contact"] == {"id": 1, "name": "Смирнова Анна Викторовна"}
    assert item["status"] == {"code": "in_progress", "name": "В работе", "color": "#f0ad4e"}
    assert item["priority"]["color"] == "#d9534f"
    assert "description" not in item


async def test_issues_list_pages_by_number_and_sorts(api: httpx.AsyncClient) -> None:
    for number in range(5):
        await _create(api, f"Заявка {number}", contact_id=2)

    params = {"contact_ids[]": 2, "page[size]": 2}
    pages = [
        [
            item["id"]
            for item in (
                await api.get("/issues/list", params={**params, "page[number]": n})
            ).json()
        ]
        for n in (1, 2, 3, 4)
    ]
    newest_first = (
        await api.get(
            "/issues/list",
            params={**params, "sorting[field]": "created_at", "sorting[direction]": "reverse"},
        )
    ).json()

    assert pages == [[2, 3], [4, 5], [6, 7], []]
    assert [item["id"] for item in newest_first] == [7, 6]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"company_ids[]": 2}, [2]),
        ({"status_codes[]": ["completed", "closed"]}, [2]),
        ({"status_codes[]": "in_progress", "company_ids[]": [1, 2]}, [1]),
        ({"priority_codes[]": "high"}, [1]),
        ({"created_since": "01-02-2025"}, [2]),
        ({"created_since": "2025-01-20 10:00", "created_until": "2025-01-20 10:30"}, [1]),
        ({"updated_until": "2025-01-20"}, [1]),
        ({"completed_since": "04-02-2025 16:00"}, [2]),
    ],
)
async def test_issues_list_filters(
    api: httpx.AsyncClient, params: Query, expected: list[int]
) -> None:
    items = (await api.get("/issues/list", params=params)).json()

    assert [item["id"] for item in items] == expected


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"page[size]": 51}, {"page": {"size": ["должно быть меньше или равно 50"]}}),
        ({"created_since": "вчера"}, {"created_since": ["Неверный формат даты"]}),
        ({"contact_ids[]": "x"}, {"contact_ids": {"0": ["должно иметь тип integer"]}}),
    ],
)
async def test_issues_list_rejects_bad_parameters(
    api: httpx.AsyncClient, params: Query, errors: dict[str, object]
) -> None:
    response = await api.get("/issues/list", params=params)

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


async def test_issues_count_returns_ids(api: httpx.AsyncClient) -> None:
    created = await _create(api, "Без контакта")

    async def count(**params: str | int | list[str]) -> list[int]:
        return list((await api.get("/issues/count", params=params)).json())

    assert await count() == [1, 2, created["id"]]
    assert await count(**{"contact_ids[]": 1}) == [1]
    assert await count(**{"contact_ids[]": 0}) == [created["id"]]
    assert await count(**{"status[]": "completed"}) == [2]
    assert await count(**{"status_not[]": ["opened", "completed"]}) == [1]
    assert await count(opened="true") == [1, created["id"]]
    assert await count(**{"author_contact_ids[]": 1, "author_employee_ids[]": 2}) == [1, 2]
    assert await count(updated_since="2025-02-01") == [2, created["id"]]


async def test_issue_created_by_a_contact_key_belongs_to_the_contact(
    emulator: OkdeskEmulator,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.api_url) as client:
        issue = (
            await client.post(
                "/issues/", params={"api_token": "contact-token"}, json={"title": "От клиента"}
            )
        ).json()

    assert issue["contact"]["id"] == 1
    assert issue["source"] == "from_contact"
    assert issue["author"] == {"id": 1, "name": "Смирнова Анна Викторовна"}


async def test_change_status_with_public_comment(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/issues/1/statuses",
        json={"code": "completed", "comment": "Картридж заменён", "comment_public": True},
    )

    issue = response.json()
    assert response.status_code == 200
    assert issue["status"] == {"code": "completed", "name": "Решена"}
    assert issue["old_status"] == {"code": "in_progress", "name": "В работе"}
    assert issue["completed_at"] is not None
    comments = (await api.get("/issues/1/comments")).json()
    assert comments[-1]["content"] == "Картридж заменён"
    assert comments[-1]["public"] is True
    assert comments[-1]["author"] == {"id": 1, "name": "Иванов Иван Иванович", "type": "employee"}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"code": ["не может быть пустым"]}),
        ({"code": "archived"}, {"code": ["имеет непредусмотренное значение"]}),
        (
            {"code": "delayed"},
            {"delay_to": ["не может быть пустым"], "comment": ["не может быть пустым"]},
        ),
    ],
)
async def test_change_status_validation(
    api: httpx.AsyncClient, body: dict[str, object], errors: dict[str, object]
) -> None:
    response = await api.post("/issues/1/statuses", json=body)

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


async def test_same_status_transition_is_rejected(api: httpx.AsyncClient) -> None:
    response = await api.post("/issues/1/statuses", json={"code": "in_progress"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["code"]


async def test_transitions_restricted_by_the_seed() -> None:
    seed = load_seed()
    seed["transitions"] = {"in_progress": ["completed"]}
    emulator = OkdeskEmulator(api_token="t", seed=seed)
    base = await emulator.start()
    try:
        async with httpx.AsyncClient(base_url=base + "/api/v1", params={"api_token": "t"}) as api:
            refused = await api.post("/issues/1/statuses", json={"code": "closed"})
            allowed = await api.post("/issues/1/statuses", json={"code": "completed"})
    finally:
        await emulator.stop()

    assert refused.status_code == 422
    assert allowed.status_code == 200


async def test_delay_sets_delayed_to(api: httpx.AsyncClient) -> None:
    until = (datetime.now(ACCOUNT_TZ) + timedelta(days=2)).replace(second=0, microsecond=0)
    issue = (
        await api.post(
            "/issues/1/statuses",
            json={
                "code": "delayed",
                "delay_to": until.strftime("%d-%m-%Y %H:%M"),
                "comment": "Ждём запчасть",
            },
        )
    ).json()

    assert issue["status"]["code"] == "delayed"
    assert datetime.fromisoformat(issue["delayed_to"]) == until


async def test_rate_issue(api: httpx.AsyncClient) -> None:
    rated = await api.post("/issues/2/rates", json={"rate": "good"})
    wrapped = await api.post("/issues/2/rates", json={"issue": {"rate": "bad"}})
    invalid = await api.post("/issues/2/rates", json={"rate": "excellent"})

    assert rated.json()["rate"]["value"] == "good"
    assert wrapped.json()["rate"]["value"] == "bad"
    assert invalid.status_code == 422


async def test_comments_list_shape(api: httpx.AsyncClient) -> None:
    comments = (await api.get("/issues/1/comments")).json()

    assert [c["id"] for c in comments] == [1, 2, 3]
    assert comments[0]["author"] == {
        "id": 1,
        "name": "Смирнова Анна Викторовна",
        "type": "contact",
    }
    assert comments[2]["public"] is False
    assert comments[0]["content"].startswith("<p>")
    assert {"id", "content", "public", "published_at", "author", "attachments"} == set(comments[0])


async def test_contact_key_sees_only_public_comments(emulator: OkdeskEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.api_url) as client:
        comments = (
            await client.get("/issues/1/comments", params={"api_token": "contact-token"})
        ).json()

    assert [c["id"] for c in comments] == [1, 2]


@pytest.mark.parametrize(
    "body",
    [
        {"comment": {"content": "<p>Спасибо</p>", "author_id": 1, "author_type": "contact"}},
        {"content": "<p>Спасибо</p>", "author_id": 1, "author_type": "contact"},
    ],
    ids=["wrapped", "flat"],
)
async def test_add_comment_as_contact(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await api.post("/issues/1/comments", json=body)

    comment = response.json()
    assert response.status_code == 200
    assert comment["author"] == {"id": 1, "name": "Смирнова Анна Викторовна", "type": "contact"}
    assert comment["public"] is True
    issue = (await api.get("/issues/1")).json()
    assert issue["comments"]["count"] == 4
    assert issue["comments"]["last_at"] == comment["published_at"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"content": "Текст"}, {"author_id": ["отсутствует"]}),
        ({"author_id": 1}, {"content": ["не может быть пустым"]}),
        ({"content": "x", "author_id": 99}, {"author_id": ["не найден"]}),
        (
            {"content": "x", "author_id": 1, "author_type": "robot"},
            {"author_type": ["имеет непредусмотренное значение"]},
        ),
    ],
)
async def test_add_comment_validation(
    api: httpx.AsyncClient, body: dict[str, object], errors: dict[str, object]
) -> None:
    response = await api.post("/issues/1/comments", json={"comment": body})

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


async def test_employee_comment_is_private_unless_public_is_set(api: httpx.AsyncClient) -> None:
    private = (await api.post("/issues/1/comments", json={"content": "a", "author_id": 2})).json()
    public = (
        await api.post("/issues/1/comments", json={"content": "b", "author_id": 2, "public": True})
    ).json()

    assert private["public"] is False
    assert public["public"] is True


async def test_multipart_issue_with_attachment_and_download(
    api: httpx.AsyncClient, emulator: OkdeskEmulator
) -> None:
    response = await api.post(
        "/issues/",
        data={
            "issue[title]": "Скриншот ошибки",
            "issue[contact_id]": "1",
            "issue[attachments][0][description]": "экран",
            "issue[attachments][0][is_public]": "true",
        },
        files={"issue[attachments][0][attachment]": ("error.png", b"\x89PNG-bytes", "image/png")},
    )

    issue = response.json()
    assert response.status_code == 200
    [attachment] = issue["attachments"]
    assert attachment["attachment_file_name"] == "error.png"
    assert attachment["attachment_file_size"] == len(b"\x89PNG-bytes")
    assert attachment["is_public"] is True
    assert attachment["description"] == "экран"

    meta = (await api.get(f"/issues/{issue['id']}/attachments/{attachment['id']}")).json()
    assert meta["attachment_url"].startswith(emulator.base_url)
    async with httpx.AsyncClient() as downloader:
        download = await downloader.get(meta["attachment_url"])
    assert download.content == b"\x89PNG-bytes"
    assert download.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("list_key", "file_key"),
    [
        ("attachments", "attachment"),
        ("attachments_attributes", "file"),
        ("files_attributes", "attachment"),
    ],
)
async def test_multipart_comment_accepts_the_variant_field_names(
    api: httpx.AsyncClient, list_key: str, file_key: str
) -> None:
    response = await api.post(
        "/issues/1/comments",
        data={"comment[content]": "Фото", "comment[author_id]": "2", "comment[public]": "true"},
        files={f"comment[{list_key}][0][{file_key}]": ("photo.jpg", b"jpeg", "image/jpeg")},
    )

    comment = response.json()
    assert response.status_code == 200, response.text
    assert comment["public"] is True
    assert [a["attachment_file_name"] for a in comment["attachments"]] == ["photo.jpg"]


async def test_attachment_entry_without_a_file_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/issues/",
        json={"title": "x", "attachments": [{"description": "no file"}]},
    )

    assert response.status_code == 422
    assert response.json() == {
        "errors": {"attachments": {"0": {"attachment": ["не может быть пустым"]}}}
    }


async def test_attachment_link_expires(api: httpx.AsyncClient, emulator: OkdeskEmulator) -> None:
    issue = (
        await api.post(
            "/issues/",
            data={"issue[title]": "t"},
            files={"issue[attachments][0][attachment]": ("a.txt", b"abc", "text/plain")},
        )
    ).json()
    emulator.links.ttl = 0.0
    meta = await api.get(f"/issues/{issue['id']}/attachments/{issue['attachments'][0]['id']}")
    async with httpx.AsyncClient() as downloader:
        expired = await downloader.get(meta.json()["attachment_url"])
    missing = await api.get(f"/issues/{issue['id']}/attachments/999")

    assert expired.status_code == 403
    assert missing.status_code == 404

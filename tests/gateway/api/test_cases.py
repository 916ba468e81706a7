"""The case feed: stable order, resumable, changed cases reappear, JSON or NDJSON, no
identifiers, every read audited."""

from __future__ import annotations

import orjson
import pytest
from pydantic import TypeAdapter
from sqlalchemy import select

from gateway.api.feed import decode_cursor, encode_cursor
from gateway.api.models import CasePage
from gateway.schema.case import Case
from gateway.storage.tables import AuditEntryRow
from tests.gateway.api.conftest import intake, person

PUSH = "/v1/cities/{city}/records"


@pytest.fixture(scope="module")
def reader(gateway) -> dict[str, str]:
    return gateway.auth("cases:read")


def end_of_feed(gateway, reader) -> str:
    """A cursor at the current end of the feed (the database is shared by the module)."""
    after = None
    while True:
        page = gateway.client.get(
            "/v1/cases",
            params={"after": after, "limit": 1000} if after else {"limit": 1000},
            headers=reader,
        ).json()
        if not page["items"]:
            return page["next"] if after is None else after
        after = page["next"]


def push(gateway, city: str, records: list[dict]) -> None:
    headers = gateway.auth("records:write", city=city)
    response = gateway.client.post(PUSH.format(city=city), json=records, headers=headers)
    assert response.status_code == 200 and response.json()["rejected"] == 0, response.text


def read_all(gateway, reader, after: str, limit: int) -> tuple[list[dict], str]:
    items: list[dict] = []
    while True:
        response = gateway.client.get(
            "/v1/cases", params={"after": after, "limit": limit}, headers=reader
        )
        assert response.status_code == 200
        page = CasePage.model_validate(response.json())  # the documented shape
        if not page.items:
            return items, after
        assert len(page.items) <= limit
        items.extend(response.json()["items"])
        after = page.next


def test_cursors_round_trip_and_garbage_is_refused(gateway, reader) -> None:
    assert decode_cursor(encode_cursor(42)) == 42 and decode_cursor(None) == 0
    for bad in ["x", "djE6LTE", "bm9wZQ", "!!"]:
        response = gateway.client.get("/v1/cases", params={"after": bad}, headers=reader)
        assert response.status_code == 400, bad
        assert response.json()["type"] == "urn:lgnet:problem:bad-request"
    assert gateway.client.get("/v1/cases", params={"limit": 0}, headers=reader).status_code == 422


def test_pages_resume_and_changed_cases_reappear(gateway, reader) -> None:
    start = end_of_feed(gateway, reader)
    push(gateway, "bologna", [intake("bologna", n) for n in range(3000, 3007)])
    first, cursor = read_all(gateway, reader, start, limit=3)
    assert len(first) == 7
    assert len({case["case_id"] for case in first}) == 7
    again, _ = read_all(gateway, reader, start, limit=5)  # any page size, same feed
    assert [c["case_id"] for c in again] == [c["case_id"] for c in first]
    assert read_all(gateway, reader, cursor, limit=3)[0] == []  # nothing new

    changed = intake("bologna", 3002, status="closed_goal_met", closed_on="2025-06-30")
    push(gateway, "bologna", [changed])
    later, _ = read_all(gateway, reader, cursor, limit=3)
    assert len(later) == 1
    (case,) = later
    before = next(c for c in first if c["case_id"] == case["case_id"])
    assert case["closed_on"] == "2025-06-30" and before["closed_on"] is None


def test_cases_carry_no_identifier(gateway, reader) -> None:
    start = end_of_feed(gateway, reader)
    push(gateway, "napoli", [intake("napoli", 3100)])
    response = gateway.client.get("/v1/cases", params={"after": start}, headers=reader)
    (item,) = response.json()["items"]
    Case.model_validate(item)
    secrets = [person(3100)["family_name"], person(3100)["given_names"]]
    secrets += [person(3100)["identifiers"]["fiscal_code"], person(3100)["birth_date"], "rec-3100"]
    for secret in secrets:
        assert secret not in response.text
    assert item["birth_year"] == int(person(3100)["birth_date"][:4])
    assert item["services"] == [
        {"type": "housing_support", "start": "2025-03-02", "end": None, "status": None}
    ]


def test_ndjson_by_accept_with_the_cursor_in_link(gateway, reader) -> None:
    start = end_of_feed(gateway, reader)
    push(gateway, "genova", [intake("genova", n) for n in (3200, 3201)])
    response = gateway.client.get(
        "/v1/cases",
        params={"after": start},
        headers={**reader, "Accept": "application/x-ndjson"},
    )
    assert response.headers["content-type"] == "application/x-ndjson"
    cases = [Case.model_validate(orjson.loads(line)) for line in response.content.splitlines()]
    assert [c.city for c in cases] == ["genova", "genova"]
    link = response.headers["Link"]
    assert link.endswith('>; rel="next"') and "after=" in link


def test_a_city_bound_reader_sees_only_its_city(gateway, reader) -> None:
    start = end_of_feed(gateway, reader)
    push(gateway, "palermo", [intake("palermo", 3300)])
    push(gateway, "catania", [intake("catania", 3301)])
    palermo = gateway.auth("cases:read", city="palermo")
    items = gateway.client.get("/v1/cases", params={"after": start}, headers=palermo).json()
    assert [item["city"] for item in items["items"]] == ["palermo"]


def test_every_read_is_audited(gateway, reader) -> None:
    start = end_of_feed(gateway, reader)
    push(gateway, "trieste", [intake("trieste", n) for n in (3400, 3401)])
    gateway.client.get("/v1/cases", params={"after": start}, headers=reader)
    with gateway.engine.connect() as connection:
        entry = connection.execute(
            select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1)
        ).one()
    assert entry.action == "GET /v1/cases" and entry.count == 2 and entry.city is None


def test_page_shape_is_the_documented_model(gateway, reader) -> None:
    response = gateway.client.get("/v1/cases", params={"limit": 2}, headers=reader)
    TypeAdapter(CasePage).validate_json(response.content)

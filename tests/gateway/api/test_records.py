"""Pushes of intake records: per-record results, idempotent retries, limits, no identifiers."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from gateway.storage.auth import IdempotencyKeyRow
from gateway.storage.tables import AuditEntryRow
from tests.gateway.api.conftest import intake, person

URL = "/v1/cities/{city}/records"


@pytest.fixture(scope="module")
def roma(gateway) -> dict[str, str]:
    return gateway.auth("records:write", city="roma")


def test_a_json_array_gets_a_result_per_record(gateway, roma) -> None:
    bad_date = intake("roma", 1001)
    bad_date["subject"]["birth_date"] = "31/02/1990"
    other_city = intake("milano", 1002)
    body = [intake("roma", 1000), bad_date, other_city, {"source": {}}]
    response = gateway.client.post(URL.format(city="roma"), json=body, headers=roma)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["received"] == 4 and report["accepted"] == 1 and report["rejected"] == 3
    outcomes = {r["index"]: r for r in report["results"]}
    assert outcomes[0] == {"index": 0, "outcome": "accepted"}
    assert outcomes[1]["field"] == "subject.birth_date" and outcomes[1]["rule"]
    assert outcomes[2]["field"] == "source.city"
    assert outcomes[3]["outcome"] == "rejected"
    # Never a value back: not the date sent, not a name, not the fiscal code.
    text = response.text
    assert "31/02/1990" not in text
    for n in (1000, 1001, 1002):
        assert person(n)["family_name"] not in text
        assert person(n)["identifiers"]["fiscal_code"] not in text


def test_ndjson_and_a_repeat_is_a_duplicate(gateway, roma) -> None:
    lines = b"".join(orjson.dumps(intake("roma", n)) + b"\n" for n in (1010, 1011))
    headers = {**roma, "Content-Type": "application/x-ndjson"}
    first = gateway.client.post(URL.format(city="roma"), content=lines, headers=headers)
    assert first.json()["accepted"] == 2
    again = gateway.client.post(URL.format(city="roma"), content=lines, headers=headers)
    assert again.json()["duplicate"] == 2 and again.json()["accepted"] == 0


def test_the_same_idempotency_key_and_body_replays_the_first_response(gateway, roma) -> None:
    body = [intake("roma", 1020)]
    headers = {**roma, "Idempotency-Key": "push-1020"}
    first = gateway.client.post(URL.format(city="roma"), json=body, headers=headers)
    with gateway.engine.connect() as connection:
        entries = connection.execute(select(func.count()).select_from(AuditEntryRow)).scalar()
    again = gateway.client.post(URL.format(city="roma"), json=body, headers=headers)
    assert again.status_code == 200
    assert again.content == first.content  # "accepted", not "duplicate": nothing re-applied
    assert again.headers["Idempotency-Replayed"] == "true"
    with gateway.engine.connect() as connection:
        after = connection.execute(select(func.count()).select_from(AuditEntryRow)).scalar()
        stored = connection.execute(select(IdempotencyKeyRow.body)).scalars().all()
    assert after == entries
    assert all(b"push-1020" not in body for body in stored)


def test_the_same_idempotency_key_with_another_body_is_refused(gateway, roma) -> None:
    headers = {**roma, "Idempotency-Key": "push-1030"}
    gateway.client.post(URL.format(city="roma"), json=[intake("roma", 1030)], headers=headers)
    other = gateway.client.post(
        URL.format(city="roma"), json=[intake("roma", 1031)], headers=headers
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "urn:lgnet:problem:idempotency-key-reused"


def test_idempotency_keys_belong_to_their_client(gateway, roma) -> None:
    other_client = gateway.auth("records:write", city="roma")
    headers = {"Idempotency-Key": "shared-key"}
    first = gateway.client.post(
        URL.format(city="roma"), json=[intake("roma", 1040)], headers={**roma, **headers}
    )
    second = gateway.client.post(
        URL.format(city="roma"), json=[intake("roma", 1041)], headers={**other_client, **headers}
    )
    assert first.status_code == second.status_code == 200
    assert "Idempotency-Replayed" not in second.headers


def test_a_malformed_idempotency_key_is_refused(gateway, roma) -> None:
    headers = {**roma, "Idempotency-Key": "x" * 300}
    response = gateway.client.post(
        URL.format(city="roma"), json=[intake("roma", 1)], headers=headers
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("content", "content_type", "status", "detail"),
    [
        (b"[1, 2", "application/json", 400, "line 1"),
        (b'{"a": 1}', "application/json", 400, "JSON array"),
        (b"[]", "application/json", 400, "no record"),
        (b"[1]", "application/json", 400, "record 0 is not a JSON object"),
        (b'{"source": {}}\n{oops\n', "application/x-ndjson", 400, "line 2"),
        (b"a;b\n1;2\n", "text/csv", 415, "application/json"),
    ],
)
def test_malformed_bodies_are_named(gateway, roma, content, content_type, status, detail) -> None:
    headers = {**roma, "Content-Type": content_type}
    response = gateway.client.post(URL.format(city="roma"), content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_deep_nesting_is_refused_naming_the_record(gateway, roma) -> None:
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    response = gateway.client.post(
        URL.format(city="roma"), json=[intake("roma", 1), deep], headers=roma
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "field": "", "rule": "max_depth"}]
    hostile = b"[" * 100_000 + b"]" * 100_000  # deeper than any parser's recursion
    response = gateway.client.post(
        URL.format(city="roma"),
        content=hostile,
        headers={**roma, "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_unknown_city_is_404(gateway) -> None:
    headers = gateway.auth("records:write", city="roma")
    response = gateway.client.post(URL.format(city="atlantis"), json=[], headers=headers)
    # The token is bound to roma: refused before the city is looked up.
    assert response.status_code == 403


def test_limits_from_settings(gateway) -> None:
    client = gateway.app_with(max_body_bytes=2048, max_records_per_request=2)
    headers = gateway.auth("records:write", city="roma")
    with client:
        big = client.post(
            URL.format(city="roma"), json=[intake("roma", n) for n in range(6)], headers=headers
        )
        assert big.status_code == 413 and big.json()["type"] == "urn:lgnet:problem:too-large"

        def chunks():  # no Content-Length: the limit applies while reading
            for _ in range(10):
                yield b" " * 1000

        streamed = client.post(
            URL.format(city="roma"),
            content=chunks(),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        three = [intake("roma", n) for n in range(3)]
        for record in three:
            del record["services"], record["case"], record["subject"]
        many = client.post(URL.format(city="roma"), json=three, headers=headers)
        assert many.status_code == 413 and "more than 2 records" in many.json()["detail"]


def test_rate_limit_answers_429_with_retry_after(gateway) -> None:
    client = gateway.app_with(rate_limit_per_minute=2)
    headers = gateway.auth("records:write", city="roma")
    with client:
        statuses = [
            client.post(URL.format(city="roma"), json=[intake("roma", 1050)], headers=headers)
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert statuses[2].json()["type"] == "urn:lgnet:problem:rate-limited"


def test_every_push_is_audited_without_data(gateway, roma) -> None:
    gateway.client.post(URL.format(city="roma"), json=[intake("roma", 1060)], headers=roma)
    with gateway.engine.connect() as connection:
        entry = connection.execute(
            select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1)
        ).one()
    assert entry.action == "POST /v1/cities/{city}/records"
    assert entry.city == "roma" and entry.count == 1
    assert entry.detail == {"source": "push", "accepted": "1", "duplicate": "0", "rejected": "0"}
    assert person(1060)["identifiers"]["fiscal_code"] not in str(tuple(entry))

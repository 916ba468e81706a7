"""The REST adapter against the REST simulator on loopback: paging, watermarks, auth, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwk, jwt

from adapters.circuit import CircuitBreakers, CircuitOpenError
from adapters.errors import FatalSourceError, RetriableSourceError
from adapters.rest import RestAdapter, RestOptions
from adapters.simulators import Fault, SimRequest, SimResponse, SimulatorServer, json_response
from adapters.simulators.rest_server import RestServer

FAST_RETRY = {"attempts": 3, "initial_wait": 0.0, "jitter": 0.0, "max_retry_after": 0.5}
PAGING = {
    "page_number": {"type": "page_number", "size": 4},
    "offset": {"type": "offset", "limit": 4},
    "cursor": {"type": "cursor", "size": 4, "size_param": "limit"},
    "next_link": {"type": "next_link", "size": 4, "size_param": "limit"},
    "none": {"type": "none"},
}


def people(n: int, *, per_second: int = 3) -> list[dict[str, Any]]:
    return [
        {"id": f"P{i:03d}", "updated_at": f"2024-03-01T10:00:{i // per_second:02d}Z", "n": i}
        for i in range(n)
    ]


def adapter_for(server: RestServer, **options: Any) -> RestAdapter:
    options.setdefault("retry", FAST_RETRY)
    opts = RestOptions(url=server.url + "/records", **options)
    return RestAdapter(opts, source="test-rest", circuit=CircuitBreakers())


def run(server: RestServer, **options: Any) -> list[Any]:
    with adapter_for(server, **options) as adapter:
        return list(adapter.fetch(None))


def incremental(**options: Any) -> dict[str, Any]:
    return {"updated_field": "updated_at", "updated_since_param": "updated_since", **options}


def ids(records: Any) -> list[str | None]:
    return [r.record_id for r in records]


@pytest.fixture
def server() -> Iterator[RestServer]:
    with RestServer(people(14), paging="cursor", max_page_size=4) as server:
        yield server


# -- paging and cursors ------------------------------------------------------------------
@pytest.mark.parametrize("style", list(PAGING))
@pytest.mark.parametrize("mode", ["incremental", "listing"])
def test_every_paging_style_resumes_without_gaps_or_repeats(style: str, mode: str) -> None:
    with RestServer(
        people(11),
        paging=style,
        max_page_size=4,  # type: ignore[arg-type]
        link_in_body=style == "next_link" and mode == "listing",
    ) as server:
        extra = incremental() if mode == "incremental" else {}
        with adapter_for(server, paging=PAGING[style], **extra) as adapter:
            records = list(adapter.fetch(None))
            assert ids(records) == [f"P{i:03d}" for i in range(11)]
            for i, record in enumerate(records[:-1]):
                assert ids(adapter.fetch(record.cursor)) == ids(records[i + 1 :])
            last = list(adapter.fetch(records[-1].cursor))
            # A listing starts over after its "done" cursor; a watermark has nothing new.
            assert ids(last) == (ids(records) if mode == "listing" else [])


def test_equal_timestamps_are_not_lost_nor_repeated(server: RestServer) -> None:
    with adapter_for(server, paging=PAGING["cursor"], **incremental()) as adapter:
        records = list(adapter.fetch(None))
        mid = records[4]  # P004, second of the three records at 10:00:01
        state = json.loads(mid.cursor)
        assert state == {"v": 1, "w": "2024-03-01T10:00:01Z", "t": ["P003", "P004"]}
        # A record written later with the same timestamp, and an older record updated.
        server.upsert({"id": "P100", "updated_at": "2024-03-01T10:00:01Z", "n": 100})
        server.upsert({"id": "P000", "updated_at": "2024-03-01T10:00:09Z", "n": 0})
        resumed = ids(adapter.fetch(mid.cursor))
        assert resumed == ["P005", "P100", *ids(records[6:]), "P000"]
        assert ids(adapter.fetch(records[-1].cursor)) == ["P000"]


def test_tied_ids_are_capped_and_overflow_repeats_rather_than_loses() -> None:
    with (
        RestServer(people(9, per_second=9), paging="cursor", max_page_size=4) as server,
        adapter_for(server, paging=PAGING["cursor"], max_tied_ids=3, **incremental()) as a,
    ):
        records = list(a.fetch(None))
        state = json.loads(records[5].cursor)
        assert state["t"] == ["P000", "P001", "P002"] and state["x"] == 1
        # Resuming repeats the tied records past the cap, and loses none.
        assert ids(a.fetch(records[5].cursor)) == ids(records[3:])


def test_records_path_tombstones_and_problems() -> None:
    rows = [
        {"id": 1, "updated_at": 1709287200, "deleted": False},
        {"id": 2, "updated_at": 1709287201, "deleted": True},
        {"id": 3, "updated_at": None},
    ]
    with RestServer(rows, paging="page_number", records_path="data.results") as server:
        records = run(
            server,
            records_path="data.results",
            paging=PAGING["page_number"],
            tombstone_field="deleted",
            **incremental(),
        )
    assert [(r.record_id, r.deleted) for r in records[:2]] == [("1", False), ("2", True)]
    problem = records[2].problem
    assert problem is not None and problem.field == "updated_at"
    assert problem.position == "page 1 item 3"


def test_malformed_record_is_a_problem_and_the_page_goes_on(server: RestServer) -> None:
    server.inject(Fault("malformed", times=1))
    records = run(server, paging=PAGING["cursor"], **incremental())
    problems = [r for r in records if r.problem is not None]
    assert len(problems) == 1 and problems[0].position == "page 1 item 3"
    assert len(records) == 14


def test_missing_record_list_and_garbage_are_fatal(server: RestServer) -> None:
    with pytest.raises(FatalSourceError, match="no record list at 'data'"):
        run(server, records_path="data", paging=PAGING["cursor"])
    server.inject(Fault("garbage", times=None))
    with pytest.raises(FatalSourceError, match="not valid JSON"):
        run(server, paging=PAGING["cursor"])


class StuckServer(SimulatorServer):
    """Always answers the same next cursor."""

    def handle(self, request: SimRequest) -> SimResponse:
        return json_response({"items": [{"id": 1}], "next_cursor": "same"})


def test_pagination_that_does_not_advance_is_fatal() -> None:
    with StuckServer() as stuck:
        opts = RestOptions(url=stuck.url + "/x", paging={"type": "cursor"})  # type: ignore[arg-type]
        adapter = RestAdapter(opts, source="stuck", circuit=CircuitBreakers())
        with adapter, pytest.raises(FatalSourceError, match="does not advance after page 2"):
            list(adapter.fetch(None))


def test_bad_cursor_is_fatal(server: RestServer) -> None:
    with adapter_for(server) as adapter, pytest.raises(FatalSourceError, match="REST adapter"):
        list(adapter.fetch("{oops"))


# -- retries and the circuit -------------------------------------------------------------
def test_transient_failures_are_retried(server: RestServer) -> None:
    sleeps: list[float] = []
    server.inject(Fault("status", status=503, times=1))
    server.inject(Fault("rate_limit", retry_after="0", times=1))
    opts = RestOptions(
        url=server.url + "/records",
        paging=PAGING["cursor"],  # type: ignore[arg-type]
        retry={"attempts": 3, "initial_wait": 0.01, "jitter": 0.0},  # type: ignore[arg-type]
    )
    with RestAdapter(opts, source="retried", circuit=CircuitBreakers(), sleep=sleeps.append) as a:
        assert len(list(a.fetch(None))) == 14
    assert sleeps == [0.01, 0.02]


@pytest.mark.parametrize(
    ("fault", "error", "retry_after"),
    [
        (Fault("status", status=502, times=None), RetriableSourceError, None),
        (Fault("rate_limit", retry_after="30", times=None), RetriableSourceError, 30.0),
        (Fault("truncate", times=None), RetriableSourceError, None),
        (Fault("reset", times=None), RetriableSourceError, None),
        (Fault("status", status=404, times=None), FatalSourceError, None),
        (Fault("status", status=400, times=None), FatalSourceError, None),
    ],
)
def test_errors_are_classified(
    server: RestServer, fault: Fault, error: type[Exception], retry_after: float | None
) -> None:
    server.inject(fault)
    with pytest.raises(error) as info:
        run(server, paging=PAGING["cursor"])
    assert type(info.value) is error
    assert getattr(info.value, "retry_after", None) == retry_after


def test_timeout_is_retriable(server: RestServer) -> None:
    server.inject(Fault("slow", delay=0.4, times=None))
    with pytest.raises(RetriableSourceError, match="timed out"):
        run(server, timeout=0.1, retry={"attempts": 1})


def test_dead_source_opens_the_circuit(server: RestServer) -> None:
    server.inject(Fault("status", status=500, times=None))
    opts = RestOptions(
        url=server.url + "/records",
        retry={"attempts": 1},  # type: ignore[arg-type]
        circuit_failures=2,
        circuit_cooldown=30,
    )
    with RestAdapter(opts, source="dead", circuit=CircuitBreakers()) as adapter:
        for _ in range(2):
            with pytest.raises(RetriableSourceError):
                list(adapter.fetch(None))
        calls = len(server.requests)
        with pytest.raises(CircuitOpenError) as info:
            list(adapter.fetch(None))
    assert len(server.requests) == calls  # failed fast, no request
    assert info.value.retry_after is not None and 29 < info.value.retry_after <= 30


def test_connection_refused_is_retriable() -> None:
    with RestServer() as gone:
        url = gone.url
    opts = RestOptions(url=url + "/records", retry={"attempts": 1})  # type: ignore[arg-type]
    adapter = RestAdapter(opts, source="gone", circuit=CircuitBreakers())
    with adapter, pytest.raises(RetriableSourceError, match="ConnectError"):
        list(adapter.fetch(None))


# -- auth --------------------------------------------------------------------------------
def test_api_key_and_basic_auth() -> None:
    with RestServer(people(3), auth="api_key", api_key="k1") as server:
        assert len(run(server, auth={"type": "api_key", "key": "k1"})) == 3
        with pytest.raises(FatalSourceError, match=r"HTTP 401.*credentials rejected"):
            run(server, auth={"type": "api_key", "key": "wrong"})
    with RestServer(people(3), auth="basic", basic=("gw", "pw")) as server:
        basic = {"type": "basic", "username": "gw", "password": "pw"}
        assert len(run(server, auth=basic)) == 3


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize("bearer", ["opaque", "jwt"])
def test_oauth2_client_secret(method: str, bearer: str) -> None:
    with RestServer(
        people(9),
        paging="page_number",
        max_page_size=4,
        auth="oauth2",
        client_secrets={"lgnet": "s3"},
        bearer_style=bearer,  # type: ignore[arg-type]
    ) as server:
        auth = {
            "type": "client_secret",
            "token_url": server.url + "/oauth2/token",
            "client_id": "lgnet",
            "client_secret": "s3",
            "method": method,
        }
        with adapter_for(server, paging=PAGING["page_number"], auth=auth) as adapter:
            assert len(list(adapter.fetch(None))) == 9
            assert server.tokens_issued == 1  # one token for every page
            server.revoke_tokens()
            assert len(list(adapter.fetch(None))) == 9  # 401, new token, same request
            assert server.tokens_issued == 2
        auth["client_secret"] = "wrong"
        with pytest.raises(FatalSourceError, match="refused the client: invalid_client"):
            run(server, auth=auth)


def test_oauth2_token_endpoint_outage_is_retriable() -> None:
    with RestServer(people(2), auth="oauth2", client_secrets={"lgnet": "s3"}) as server:
        server.inject(Fault("rate_limit", retry_after="9", path="/oauth2", times=None))
        auth = {
            "type": "client_secret",
            "token_url": server.url + "/oauth2/token",
            "client_id": "lgnet",
            "client_secret": "s3",
        }
        with pytest.raises(RetriableSourceError) as info:
            run(server, auth=auth)
    assert info.value.retry_after == 9


@pytest.mark.parametrize("kind", ["RSA", "EC"])
def test_oauth2_private_key_jwt_with_purpose_id(kind: str) -> None:
    if kind == "RSA":
        key: Any = jwk.RSAKey.generate_key(2048, private=True, parameters={"kid": "k-1"})
        alg = "RS256"
    else:
        key = jwk.ECKey.generate_key("P-256", private=True, parameters={"kid": "k-1"})
        alg = "ES256"
    with RestServer(
        people(5), auth="oauth2", client_jwks={"lgnet": key.as_dict(private=False)}
    ) as server:
        auth = {
            "type": "private_key_jwt",
            "token_url": server.url + "/oauth2/token",
            "client_id": "lgnet",
            "private_key": key.as_pem(private=True).decode(),
            "kid": "k-1",
            "algorithm": alg,
            "purpose_id": "purpose-1",
        }
        with adapter_for(server, auth=auth) as adapter:
            assert len(list(adapter.fetch(None))) == 5
            assert "BEGIN" not in repr(adapter)
        (claims,) = server.assertion_claims
        assert claims["iss"] == claims["sub"] == "lgnet"
        assert claims["aud"] == server.url + "/oauth2/token"
        assert claims["purposeId"] == "purpose-1" and claims["exp"] - claims["iat"] == 300

        other = jwk.RSAKey.generate_key(2048, private=True)
        auth["private_key"] = other.as_pem(private=True).decode()
        auth["algorithm"] = "RS256"
        with pytest.raises(FatalSourceError, match="invalid_client"):
            run(server, auth=auth)


def test_token_is_a_jwt_when_asked() -> None:
    with RestServer(people(1), auth="oauth2", client_secrets={"c": "s"}, bearer_style="jwt") as s:
        auth = {
            "type": "client_secret",
            "token_url": s.url + "/oauth2/token",
            "client_id": "c",
            "client_secret": "s",
        }
        with adapter_for(s, auth=auth) as adapter:
            list(adapter.fetch(None))
        bearer = s.requests[-1].headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(bearer, s._jwt_key).claims["sub"] == "c"

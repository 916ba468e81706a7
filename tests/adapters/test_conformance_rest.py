"""The REST adapter passes the adapter conformance kit, with each auth and paging style."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwk

from adapters.circuit import CircuitBreakers
from adapters.rest import RestAdapter, RestOptions
from adapters.simulators.rest_server import RestServer
from adapters.testing import AdapterConformance, simulator_faults

RECORDS = [
    {"id": f"P{i:03d}", "updated_at": f"2024-03-01T10:{i // 4:02d}:00Z", "sesso": "F"}
    for i in range(37)
]
FAST_RETRY = {"attempts": 2, "initial_wait": 0.01, "jitter": 0.0, "max_retry_after": 1.0}
RSA_KEY = jwk.RSAKey.generate_key(2048, private=True, parameters={"kid": "lgnet-1"})


def rest_adapter(server: RestServer, **options: Any) -> RestAdapter:
    opts = RestOptions(
        url=server.url + "/records",
        timeout=0.25,
        retry=FAST_RETRY,  # type: ignore[arg-type]
        **options,
    )
    return RestAdapter(opts, source="conformance-rest", circuit=CircuitBreakers())


class TestRestIncrementalApiKey(AdapterConformance):
    resume_every = 2
    secrets = ("k-very-secret",)

    @pytest.fixture
    def server(self) -> Iterator[RestServer]:
        with RestServer(
            RECORDS, paging="cursor", auth="api_key", api_key="k-very-secret", max_page_size=10
        ) as server:
            yield server

    @pytest.fixture
    def adapter(self, server: RestServer) -> RestAdapter:
        return rest_adapter(
            server,
            updated_field="updated_at",
            updated_since_param="updated_since",
            paging={"type": "cursor", "size": 10, "size_param": "limit"},
            auth={"type": "api_key", "key": "k-very-secret"},
        )

    @pytest.fixture
    def make_faulty(self, server: RestServer, adapter: RestAdapter):  # type: ignore[no-untyped-def]
        return simulator_faults(server, adapter, slow=0.5)


class TestRestListingPrivateKeyJwt(AdapterConformance):
    resume_every = 3
    secrets = ("-----BEGIN PRIVATE KEY-----",)

    @pytest.fixture
    def server(self) -> Iterator[RestServer]:
        with RestServer(
            RECORDS,
            paging="page_number",
            auth="oauth2",
            max_page_size=8,
            client_jwks={"lgnet": RSA_KEY.as_dict(private=False)},
            bearer_style="jwt",
        ) as server:
            yield server

    @pytest.fixture
    def adapter(self, server: RestServer) -> RestAdapter:
        return rest_adapter(
            server,
            paging={"type": "page_number", "size": 8},
            auth={
                "type": "private_key_jwt",
                "token_url": server.url + "/oauth2/token",
                "client_id": "lgnet",
                "private_key": RSA_KEY.as_pem(private=True).decode(),
                "kid": "lgnet-1",
                "purpose_id": "purpose-42",
            },
        )

    @pytest.fixture
    def make_faulty(self, server: RestServer, adapter: RestAdapter):  # type: ignore[no-untyped-def]
        return simulator_faults(server, adapter, slow=0.5)


class TestRestClientSecretNextLink(AdapterConformance):
    secrets = ("client-s3cret",)

    @pytest.fixture
    def server(self) -> Iterator[RestServer]:
        with RestServer(
            RECORDS,
            paging="next_link",
            auth="oauth2",
            max_page_size=9,
            client_secrets={"lgnet": "client-s3cret"},
        ) as server:
            yield server

    @pytest.fixture
    def adapter(self, server: RestServer) -> RestAdapter:
        return rest_adapter(
            server,
            updated_field="updated_at",
            updated_since_param="updated_since",
            paging={"type": "next_link", "size": 9, "size_param": "limit"},
            auth={
                "type": "client_secret",
                "token_url": server.url + "/oauth2/token",
                "client_id": "lgnet",
                "client_secret": "client-s3cret",
            },
        )

    @pytest.fixture
    def make_faulty(self, server: RestServer, adapter: RestAdapter):  # type: ignore[no-untyped-def]
        return simulator_faults(server, adapter, slow=0.5)

"""Start one simulated system: its server (or its files), its credentials, its variables.

:func:`start_source` turns a :class:`SourceSpec` and its rendered records into a running
:class:`RunningSource`: a SOAP, REST, FHIR or ANPR server on loopback (CSV sources are folders
of drops, ANPR also gets its file of codes), plus the environment variables its source
definition reads (``SourceSpec.env``): ``URL`` (the base URL, the definition adds the path),
``USER``/``PASSWORD`` (UsernameToken, HTTP Basic), ``API_KEY``, ``CLIENT_ID``/
``CLIENT_SECRET``, ``CLIENT_ID``/``PRIVATE_KEY``/``KEY_ID`` (PDND-style ``private_key_jwt``),
``TOKEN`` (a static bearer token), ``DROP`` (the folder of CSV drops) and ``CODES`` (the file
of codes a registry check asks about). Credentials are derived from the fleet's secret, so the
same secret gives the same credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwk

from adapters.simulators.anpr_server import DEFAULT_PATH as ANPR_PATH
from adapters.simulators.anpr_server import AnprServer
from adapters.simulators.cities import rest
from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.fhir_server import FhirServer
from adapters.simulators.http import SimulatorServer
from adapters.simulators.rest_server import RestServer
from adapters.simulators.soap_server import SoapCaseFileServer

__all__ = ["RunningSource", "credential", "start_source"]

_REST_PAGING = ("page_number", "offset", "cursor", "next_link")


def credential(secret: str, spec: SourceSpec, what: str, length: int = 24) -> str:
    """A credential of ``spec`` derived from the fleet's ``secret`` (stable per secret)."""
    digest = hmac.new(secret.encode(), f"{spec.key}/{what}".encode(), hashlib.sha256)
    return digest.hexdigest()[:length]


@dataclass
class RunningSource:
    """One started system: where it is, what its definition needs, how many records it has."""

    spec: SourceSpec
    server: SimulatorServer | None
    location: str
    records: int
    env: dict[str, str] = field(default_factory=dict, repr=False)
    files: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class _PublicUrl(SimulatorServer):
    """A server whose URL names the host clients reach it by (a container's name) rather than
    the address it listens on (``0.0.0.0``): it is the URL of next links, FHIR Bundle links,
    OAuth2 audiences, the WSDL address and the variables printed for the gateway."""

    public_host: str | None = None

    @property
    def url(self) -> str:
        url = super().url
        if not self.public_host:
            return url
        return f"http://{self.public_host}:{url.rsplit(':', 1)[1]}"


class _Soap(_PublicUrl, SoapCaseFileServer):
    pass


class _Rest(_PublicUrl, RestServer):
    pass


class _Fhir(_PublicUrl, FhirServer):
    pass


class _Anpr(_PublicUrl, AnprServer):
    pass


def _rest(
    spec: SourceSpec, records: Sequence[Any], secret: str, env: dict[str, str], **server: Any
) -> _PublicUrl:
    layout = rest.LAYOUTS[str(spec.layout)]
    paging = str(spec.option("paging"))
    if paging not in _REST_PAGING:
        raise ValueError(f"{spec.key}: paging must be one of {', '.join(_REST_PAGING)}")
    auth = spec.auth
    options: dict[str, Any] = {}
    if auth == "api_key":
        key = credential(secret, spec, "api-key", 32)
        options.update(auth="api_key", api_key=key)
        env[spec.env("api_key")] = key
    elif auth == "basic":
        user, password = f"lgnet-{spec.city}", credential(secret, spec, "password")
        options.update(auth="basic", basic=(user, password))
        env[spec.env("user")], env[spec.env("password")] = user, password
    elif auth == "client_secret":
        client_id, client_secret = f"lgnet-{spec.city}", credential(secret, spec, "client")
        options.update(auth="oauth2", client_secrets={client_id: client_secret})
        env[spec.env("client_id")], env[spec.env("client_secret")] = client_id, client_secret
    elif auth == "private_key_jwt":
        client_id, kid = f"lgnet-{spec.city}", f"lgnet-{spec.city}-1"
        signing = jwk.ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)
        options.update(
            auth="oauth2",
            client_jwks={client_id: signing.as_dict(private=False)},
            bearer_style="jwt",
        )
        env[spec.env("client_id")], env[spec.env("key_id")] = client_id, kid
        env[spec.env("private_key")] = signing.as_pem(private=True).decode()
    return _Rest(
        records,
        paging=paging,  # type: ignore[arg-type]
        path=str(spec.option("path")),
        records_path=layout.records_path,
        id_field=layout.id_field,
        updated_field=layout.updated_field,
        since_param=layout.since_param,
        link_in_body=bool(spec.option("link_in_body", False)),
        **options,
        **server,
    )


def start_source(
    spec: SourceSpec,
    records: Sequence[Any],
    *,
    secret: str,
    folder: Path | None = None,
    files: Sequence[Path] = (),
    codes_file: Path | None = None,
    residents: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    public_host: str | None = None,
    page_cap: int = 50,
) -> RunningSource:
    """Start ``spec``'s system holding ``records`` (rendered by ``systems.render``).

    CSV sources need their drop ``folder`` (and the ``files`` already written in it); the
    registry check needs ``codes_file`` and the ``residents`` ANPR knows. ``public_host``
    names the host in the server's URLs when clients reach it by another name than ``host``.
    """
    env: dict[str, str] = {}
    server: _PublicUrl
    if spec.kind == "csv":
        if folder is None:
            raise ValueError("a CSV source needs the folder of its drops")
        env[spec.env("drop")] = str(folder)
        return RunningSource(spec, None, str(folder), len(records), env, list(files))
    if spec.kind == "soap":
        user = password = None
        if spec.auth == "username_token":
            user, password = f"ws-lgnet-{spec.city}", credential(secret, spec, "password")
            env[spec.env("user")], env[spec.env("password")] = user, password
        server = _Soap(
            records,
            username=user,
            password=password,
            path=str(spec.option("path", "/cartellasociale")),
            host=host,
            port=port,
        )
    elif spec.kind == "rest":
        server = _rest(spec, records, secret, env, max_page_size=page_cap, host=host, port=port)
    else:
        token = None
        if spec.auth == "token":
            token = credential(secret, spec, "token", 32)
            env[spec.env("token")] = token
        if spec.kind == "fhir_r4":
            resources = [r for resources in records for r in resources]
            server = _Fhir(resources, token=token, host=host, port=port)
        else:
            server = _Anpr(residents or {}, token=token, path=ANPR_PATH, host=host, port=port)
            if codes_file is None:
                raise ValueError("a registry check needs the file of codes it asks about")
            env[spec.env("codes")] = str(codes_file)
    server.public_host = public_host
    server.start()
    env[spec.env("url")] = server.url
    location = server.url
    return RunningSource(spec, server, location, len(records), env, list(files))

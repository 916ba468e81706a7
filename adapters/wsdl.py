"""Loading a WSDL 1.1 document with zeep, offline.

WSDLs live in ``specs/wsdl/`` (or anywhere, by absolute path). A WSDL read by the gateway may
pull in schemas and other WSDLs through ``wsdl:import``/``xsd:import``/``xsd:include``; they load
only from the WSDL's own directory, never from the network, and zeep's parser refuses DTDs,
entity declarations and external references (the XXE and "billion laughs" family).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import zeep
from zeep.transports import Transport

from adapters.errors import FatalSourceError
from adapters.xml import declares_dtd

__all__ = ["WSDL_DIR", "OfflineTransport", "load_wsdl", "resolve_wsdl"]

WSDL_DIR = Path(__file__).resolve().parents[1] / "specs" / "wsdl"


class OfflineTransport(Transport):
    """A zeep transport that loads WSDL and schema files only from ``root``, never remotely."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._root = root.resolve()
        # zeep mounts a file:// adapter on the session: a redirect could then read local files.
        self.session.adapters.pop("file://", None)

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        """POST without zeep's DEBUG logging, which writes whole envelopes (the WS-Security
        password, the records) to the log, and without following redirects."""
        return self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=self.operation_timeout,
            allow_redirects=False,
        )

    def load(self, url: str) -> bytes:
        path_text = url[len("file://") :] if url.startswith("file://") else url
        if "://" in path_text:
            raise FatalSourceError("WSDL refers to a remote document; only local files load")
        path = Path(path_text).resolve()
        if not path.is_relative_to(self._root):
            raise FatalSourceError("WSDL refers to a file outside its own directory")
        content = path.read_bytes()
        if declares_dtd(content):
            # zeep would refuse it only after libxml2 has opened the DTD's external parts.
            raise FatalSourceError(f"{path.name} declares a DTD; refused")
        return content


def resolve_wsdl(wsdl: str) -> Path:
    """The WSDL file named by the ``wsdl`` option (relative paths are under ``specs/wsdl``)."""
    path = Path(wsdl)
    return path if path.is_absolute() else WSDL_DIR / path


def load_wsdl(
    path: Path,
    *,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    wsse: Any = None,
    raw_response: bool = False,
) -> Any:
    """A ``zeep.Client`` for a local WSDL file with every remote fetch and DTD forbidden."""
    settings = zeep.Settings(
        strict=True,
        raw_response=raw_response,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    transport = OfflineTransport(
        path.parent, session=session, timeout=timeout, operation_timeout=timeout
    )
    return zeep.Client(  # type: ignore[no-untyped-call]
        str(path), transport=transport, settings=settings, wsse=wsse
    )

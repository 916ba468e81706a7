"""Case files of the SOAP welfare services (``specs/wsdl/welfare_case_service.wsdl``).

Six cities run the same case-file product; what differs is their local codes (and their
credentials). :func:`render` turns a ground-truth record into a ``Cartella`` in the record-data
shape :class:`~adapters.simulators.soap_server.SoapCaseFileServer` serves;
:func:`answer_xml` writes records as one ``ElencoCartelleRisposta`` envelope, the sample file
``lgnet mapping explain|coverage`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.formats import date_text, identifiers, instant_text
from adapters.simulators.truth import SourceRecordTruth
from adapters.wsdl import WSDL_DIR, load_wsdl

__all__ = ["WSDL", "answer_xml", "render"]

WSDL = WSDL_DIR / "welfare_case_service.wsdl"
_NS = "urn:it:lgnet:cartellasociale:1"
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def render(spec: SourceSpec, truth: SourceRecordTruth) -> dict[str, Any]:
    """The ``Cartella`` of ``truth`` in ``spec``'s local codes."""
    v = spec.vocabulary
    subject = truth.subject
    ids = identifiers(subject)
    permit = v.local("permit_category", subject.get("permit_type"))
    citizenship = v.local("country", subject.get("citizenship"))
    assisted: dict[str, Any] = {
        "idLocale": ids["local_id"],
        "codiceFiscale": ids["fiscal_code"],
        "codiceFiscaleProvvisorio": ids["provisional_fiscal_code"],
        "codiceSTP": ids["stp_code"],
        "codiceENI": ids["eni_code"],
        "cognome": subject["family_name"],
        "nome": subject["given_names"],
        "sesso": v.local("sex", subject.get("sex")),
        "dataNascita": date_text(subject.get("birth_date")),
        "statoNascita": v.local("country", subject.get("country_of_birth")),
        "cittadinanza": [citizenship] if citizenship else [],
        "dataArrivoItalia": date_text(subject.get("arrival_date")),
        "PermessoSoggiorno": {"tipo": permit} if permit else None,
        "lingua": list(subject.get("languages") or []),
    }
    record: dict[str, Any] = {
        "@versione": 1,
        "idCartella": truth.record_id,
        "aggiornatoIl": instant_text(truth.updated_at),
        "Assistito": assisted,
    }
    case = truth.case
    if case is not None:
        record["PresaInCarico"] = {
            "dataApertura": date_text(case["opened_on"]),
            "canale": v.local("intake_channel", case.get("intake_channel")),
            "stato": v.local("case_status", case.get("status")),
            "vulnerabilita": [v.local("vulnerability", c) for c in case.get("vulnerabilities", [])],
        }
    if truth.services:
        record["Interventi"] = {
            "Intervento": [
                {
                    "@id": f"{truth.record_id}-i{n}",
                    "tipo": v.local("service_type", s["type"]),
                    "dataInizio": date_text(s["start"]),
                    "dataFine": date_text(s["end"]),
                    "stato": v.local("service_status", s["status"]),
                }
                for n, s in enumerate(truth.services, start=1)
            ]
        }
    if truth.referrals:
        record["Invii"] = {
            "Invio": [
                {
                    "@id": f"{truth.record_id}-r{n}",
                    "servizio": v.local("referral_target", r["target"]),
                    "data": date_text(r["date"]),
                    "esito": v.local("referral_outcome", r["outcome"]),
                }
                for n, r in enumerate(truth.referrals, start=1)
            ]
        }
    return record


def _kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    # Record data -> zeep keyword arguments (as the simulator server does): "@x" -> "x".
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        name = key[1:] if key.startswith("@") else key
        if isinstance(value, Mapping):
            out[name] = _kwargs(value)
        elif isinstance(value, list):
            out[name] = [_kwargs(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[name] = value
    return out


def answer_xml(records: Iterable[Mapping[str, Any]]) -> bytes:
    """An ``ElencoCartelleRisposta`` SOAP envelope holding every record (one page)."""
    items = [_kwargs(r) for r in records]
    client: Any = load_wsdl(WSDL)
    element = client.get_element(f"{{{_NS}}}ElencoCartelleRisposta")
    holder = etree.Element("holder")
    answer = {
        "totaleCartelle": len(items),
        "paginaNumero": 1,
        "altrePagine": False,
        "cartelle": {"Cartella": items},
    }
    element.render(holder, element(**answer))
    envelope = etree.Element(f"{{{_SOAP_ENV}}}Envelope", nsmap={"soap": _SOAP_ENV})
    etree.SubElement(envelope, f"{{{_SOAP_ENV}}}Body").append(holder[0])
    return bytes(
        etree.tostring(envelope, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )

"""Records of the REST JSON services, one *layout* per API family.

- ``it_nested``: Italian snake_case, nested ``assistito`` / ``presa_in_carico`` (Bologna,
  Napoli, Perugia);
- ``en_flat``: an English camelCase API modelled on the national one (Firenze, Taranto);
- ``anci_liguria``: the regional platform of ANCI Liguria, identifiers keyed by type (Genova);
- ``acta_housing``: housing applications of Potenza's instrumental body (ACTA);
- ``health_rest``: outpatient accesses of a health authority, STP/ENI codes (Trieste).

:data:`LAYOUTS` gives, per layout, where the list is in a page (``records_path``), the
record's id and updated-at fields (top level: the simulator filters on them) and the name of
the updated-since query parameter. Dates are written with the source's ``date_format``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.formats import (
    date_text,
    identifiers,
    instant_text,
    italian_int,
    local_number,
)
from adapters.simulators.truth import SourceRecordTruth

__all__ = ["LAYOUTS", "Layout", "render"]

Render = Callable[[SourceSpec, SourceRecordTruth], dict[str, Any]]


def _it_nested(spec: SourceSpec, t: SourceRecordTruth) -> dict[str, Any]:
    v, fmt, s = spec.vocabulary, spec.option("date_format", "%Y-%m-%d"), t.subject
    ids = identifiers(s)
    permit = v.local("permit_category", s.get("permit_type"))
    case = t.case or {}
    return {
        "id": t.record_id,
        "aggiornato_il": instant_text(t.updated_at),
        "assistito": {
            "codice_fiscale": ids["fiscal_code"],
            "cf_provvisorio": ids["provisional_fiscal_code"],
            "id_assistito": ids["local_id"],
            "cognome": s["family_name"],
            "nome": s["given_names"],
            "sesso": v.local("sex", s.get("sex")),
            "data_nascita": date_text(s.get("birth_date"), fmt),
            "stato_nascita": v.local("country", s.get("country_of_birth")),
            "cittadinanza": v.local("country", s.get("citizenship")),
            "data_arrivo": date_text(s.get("arrival_date"), fmt),
            "permesso": {"tipo": permit} if permit else None,
            "lingue": list(s.get("languages") or []),
        },
        "presa_in_carico": {
            "data_apertura": date_text(case.get("opened_on"), fmt),
            "canale": v.local("intake_channel", case.get("intake_channel")),
            "stato": v.local("case_status", case.get("status")),
            "vulnerabilita": [v.local("vulnerability", c) for c in case.get("vulnerabilities", [])],
        },
        "interventi": [
            {
                "tipo": v.local("service_type", x["type"]),
                "data_inizio": date_text(x["start"], fmt),
                "data_fine": date_text(x["end"], fmt),
                "stato": v.local("service_status", x["status"]),
            }
            for x in t.services
        ],
        "invii": [
            {
                "servizio": v.local("referral_target", r["target"]),
                "data": date_text(r["date"], fmt),
                "esito": v.local("referral_outcome", r["outcome"]),
            }
            for r in t.referrals
        ],
    }


def _en_flat(spec: SourceSpec, t: SourceRecordTruth) -> dict[str, Any]:
    v, fmt, s = spec.vocabulary, spec.option("date_format", "%Y-%m-%d"), t.subject
    ids = identifiers(s)
    case = t.case or {}
    return {
        "caseId": t.record_id,
        "lastModified": instant_text(t.updated_at),
        "person": {
            "fiscalCode": ids["fiscal_code"],
            "provisionalFiscalCode": ids["provisional_fiscal_code"],
            "localId": ids["local_id"],
            "familyName": s["family_name"],
            "givenNames": s["given_names"],
            "sex": v.local("sex", s.get("sex")),
            "birthDate": date_text(s.get("birth_date"), fmt),
            "birthCountry": v.local("country", s.get("country_of_birth")),
            "citizenship": v.local("country", s.get("citizenship")),
            "arrivalDate": date_text(s.get("arrival_date"), fmt),
            "permitType": v.local("permit_category", s.get("permit_type")),
            "languages": ";".join(s.get("languages") or []) or None,
        },
        "intake": {
            "openedOn": date_text(case.get("opened_on"), fmt),
            "channel": v.local("intake_channel", case.get("intake_channel")),
            "status": v.local("case_status", case.get("status")),
            "vulnerabilities": [
                v.local("vulnerability", c) for c in case.get("vulnerabilities", [])
            ],
        },
        "services": [
            {
                "code": v.local("service_type", x["type"]),
                "from": date_text(x["start"], fmt),
                "to": date_text(x["end"], fmt),
                "state": v.local("service_status", x["status"]),
            }
            for x in t.services
        ],
        "referrals": [
            {
                "to": v.local("referral_target", r["target"]),
                "on": date_text(r["date"], fmt),
                "outcome": v.local("referral_outcome", r["outcome"]),
            }
            for r in t.referrals
        ],
    }


def _anci_liguria(spec: SourceSpec, t: SourceRecordTruth) -> dict[str, Any]:
    v, fmt, s = spec.vocabulary, spec.option("date_format", "%Y-%m-%d"), t.subject
    ids = identifiers(s)
    case = t.case or {}
    keyed = {
        "CF": ids["fiscal_code"],
        "CFP": ids["provisional_fiscal_code"],
        "ID": ids["local_id"],
    }
    return {
        "idPratica": t.record_id,
        "dataAggiornamento": instant_text(t.updated_at),
        "ente": "ANCI Liguria",
        "comune": spec.city,
        "beneficiario": {
            "identificativi": {k: x for k, x in keyed.items() if x is not None},
            "cognome": s["family_name"],
            "nome": s["given_names"],
            "sesso": v.local("sex", s.get("sex")),
            "dataNascita": date_text(s.get("birth_date"), fmt),
            "statoNascita": v.local("country", s.get("country_of_birth")),
            "cittadinanza": v.local("country", s.get("citizenship")),
            "dataIngresso": date_text(s.get("arrival_date"), fmt),
            "permesso": v.local("permit_category", s.get("permit_type")),
            "lingue": list(s.get("languages") or []),
        },
        "accoglienza": {
            "dataPresaInCarico": date_text(case.get("opened_on"), fmt),
            "canale": v.local("intake_channel", case.get("intake_channel")),
            "stato": v.local("case_status", case.get("status")),
            "fragilita": [v.local("vulnerability", c) for c in case.get("vulnerabilities", [])],
        },
        "misure": [
            {
                "misura": v.local("service_type", x["type"]),
                "dal": date_text(x["start"], fmt),
                "al": date_text(x["end"], fmt),
                "stato": v.local("service_status", x["status"]),
            }
            for x in t.services
        ],
        "segnalazioni": [
            {
                "servizio": v.local("referral_target", r["target"]),
                "data": date_text(r["date"], fmt),
                "esito": v.local("referral_outcome", r["outcome"]),
            }
            for r in t.referrals
        ],
    }


def _acta_housing(spec: SourceSpec, t: SourceRecordTruth) -> dict[str, Any]:
    v, fmt, s = spec.vocabulary, spec.option("date_format", "%d-%m-%Y"), t.subject
    ids = identifiers(s)
    case = t.case or {}
    number = local_number(ids["local_id"])
    return {
        "pratica": t.record_id,
        "modificata_il": instant_text(t.updated_at),
        "richiedente": {
            "cf": ids["fiscal_code"],
            "cf_provvisorio": ids["provisional_fiscal_code"],
            "codice_utente": number,
            "cognome": s["family_name"],
            "nome": s["given_names"],
            "sesso": v.local("sex", s.get("sex")),
            "nato_il": date_text(s.get("birth_date"), fmt),
            "nazione_nascita": v.local("country", s.get("country_of_birth")),
            "nazionalita": v.local("country", s.get("citizenship")),
            "ingresso_italia": date_text(s.get("arrival_date"), fmt),
        },
        "domanda": {
            "presentata_il": date_text(case.get("opened_on"), fmt),
            "stato": v.local("case_status", case.get("status")),
        },
        "misure": [
            {
                "misura": v.local("service_type", x["type"]),
                "dal": date_text(x["start"], fmt),
                "al": date_text(x["end"], fmt),
                "stato": v.local("service_status", x["status"]),
            }
            for x in t.services
        ],
        # A monthly contribution the application grants, as the office writes amounts.
        "contributo_mensile": italian_int(200 + (number or 0) % 9 * 50) + ",00",
    }


def _health_rest(spec: SourceSpec, t: SourceRecordTruth) -> dict[str, Any]:
    v, fmt, s = spec.vocabulary, spec.option("date_format", "%Y-%m-%d"), t.subject
    ids = identifiers(s)
    return {
        "id": t.record_id,
        "updated": instant_text(t.updated_at),
        "paziente": {
            "cf": ids["fiscal_code"],
            "cf_provvisorio": ids["provisional_fiscal_code"],
            "stp": ids["stp_code"],
            "eni": ids["eni_code"],
            "codice_sanitario": ids["local_id"],
            "cognome": s["family_name"],
            "nome": s["given_names"],
            "sesso": v.local("sex", s.get("sex")),
            "data_nascita": date_text(s.get("birth_date"), fmt),
            "stato_nascita": v.local("country", s.get("country_of_birth")),
            "cittadinanza": v.local("country", s.get("citizenship")),
        },
        "prestazioni": [
            {
                "codice": v.local("service_type", x["type"]),
                "inizio": date_text(x["start"], fmt),
                "fine": date_text(x["end"], fmt),
                "stato": v.local("service_status", x["status"]),
            }
            for x in t.services
        ],
        "invii": [
            {
                "struttura": v.local("referral_target", r["target"]),
                "data": date_text(r["date"], fmt),
                "esito": v.local("referral_outcome", r["outcome"]),
            }
            for r in t.referrals
        ],
    }


@dataclass(frozen=True)
class Layout:
    """One REST API family: how it renders a record and how its collection is shaped."""

    render: Render
    records_path: str
    id_field: str
    updated_field: str
    since_param: str


LAYOUTS: dict[str, Layout] = {
    "it_nested": Layout(_it_nested, "risultati", "id", "aggiornato_il", "aggiornato_dal"),
    "en_flat": Layout(_en_flat, "data", "caseId", "lastModified", "updated_since"),
    "anci_liguria": Layout(
        _anci_liguria, "pratiche", "idPratica", "dataAggiornamento", "modificatoDal"
    ),
    "acta_housing": Layout(_acta_housing, "domande", "pratica", "modificata_il", "dal"),
    "health_rest": Layout(_health_rest, "accessi", "id", "updated", "since"),
}


def render(spec: SourceSpec, truth: SourceRecordTruth) -> dict[str, Any]:
    """The JSON record of ``truth`` in ``spec``'s layout and local codes."""
    return LAYOUTS[str(spec.layout)].render(spec, truth)

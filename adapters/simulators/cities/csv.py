"""CSV export drops: office exports with the quirks of BRIEF §7, written as real files.

Semicolon-separated, ``\\r\\n`` line ends, Windows-1252 (characters it lacks become ``?``, as
the exporting software does) or UTF-8 with a BOM, preamble lines before the header,
``dd/mm/yyyy`` dates (``dd.mm.yyyy`` in German), local time without offset, person numbers
with ``.`` thousands separators and ``Sì``/``No`` (``Ja``/``Nein``) flags. One row per record,
wide: fixed groups of columns per service and referral. Layouts:

- ``welfare_it``: the case-file export of a municipal social service;
- ``housing_de``: the housing-help export of the Azienda Servizi Sociali di Bolzano (German);
- ``health_it``: accesses of a health authority's migrant clinic (STP/ENI in one column);
- ``registry_it``: the registry office's list of foreign residents (``RESIDENTE`` Sì/No).

A source renames columns with ``columns:`` in the catalogue. :func:`write_drops` writes one
file per year of last update (``<prefix>_<year>.csv``), the way nightly drops pile up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.formats import (
    date_text,
    identifiers,
    italian_int,
    local_number,
    local_time_text,
    yes_no,
)
from adapters.simulators.truth import SourceRecordTruth

__all__ = ["LAYOUTS", "DropWriter", "encode", "render", "write_drops"]

Row = dict[str, str]
Render = Callable[[SourceSpec, SourceRecordTruth], Row]

#: Service and referral column groups per layout: the most a record of the system can hold
#: (welfare: housing support, emergency accommodation, a civic project and three others).
WELFARE_SERVICES, WELFARE_REFERRALS = 6, 2
HEALTH_SERVICES, HEALTH_REFERRALS = 2, 2
HOUSING_SERVICES = 2


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _fits(t: SourceRecordTruth, services: int, referrals: int = 0) -> None:
    # An export with fixed column groups must never drop a service silently.
    if len(t.services) > services or len(t.referrals) > referrals:
        raise ValueError(f"record {t.record_id}: more services or referrals than column groups")


def _welfare_it(spec: SourceSpec, t: SourceRecordTruth) -> Row:
    _fits(t, WELFARE_SERVICES, WELFARE_REFERRALS)
    v, s, case = spec.vocabulary, t.subject, t.case or {}
    ids = identifiers(s)
    number = local_number(ids["local_id"])
    row: Row = {
        "ID_CARTELLA": t.record_id,
        "ULTIMA_MODIFICA": local_time_text(t.updated_at),
        "CODICE_FISCALE": _text(ids["fiscal_code"]),
        "CF_PROVVISORIO": _text(ids["provisional_fiscal_code"]),
        "NUM_ASSISTITO": italian_int(number) if number is not None else "",
        "COGNOME": s["family_name"],
        "NOME": s["given_names"],
        "SESSO": _text(v.local("sex", s.get("sex"))),
        "DATA_NASCITA": _text(date_text(s.get("birth_date"), "%d/%m/%Y")),
        "STATO_NASCITA": _text(v.local("country", s.get("country_of_birth"))),
        "CITTADINANZA": _text(v.local("country", s.get("citizenship"))),
        "DATA_ARRIVO_ITALIA": _text(date_text(s.get("arrival_date"), "%d/%m/%Y")),
        "TITOLO_SOGGIORNO": _text(v.local("permit_category", s.get("permit_type"))),
        "LINGUE": ",".join(s.get("languages") or []),
        "DATA_PRESA_IN_CARICO": _text(date_text(case.get("opened_on"), "%d/%m/%Y")),
        "CANALE_ACCESSO": _text(v.local("intake_channel", case.get("intake_channel"))),
        "STATO_CARTELLA": _text(v.local("case_status", case.get("status"))),
        "FRAGILITA": "|".join(
            _text(v.local("vulnerability", c)) for c in case.get("vulnerabilities", [])
        ),
    }
    for n in range(1, WELFARE_SERVICES + 1):
        x = t.services[n - 1] if n <= len(t.services) else None
        row[f"SERVIZIO_{n}"] = _text(x and v.local("service_type", x["type"]))
        row[f"INIZIO_{n}"] = _text(x and date_text(x["start"], "%d/%m/%Y"))
        row[f"FINE_{n}"] = _text(x and date_text(x["end"], "%d/%m/%Y"))
        row[f"STATO_{n}"] = _text(x and v.local("service_status", x["status"]))
    for n in range(1, WELFARE_REFERRALS + 1):
        r = t.referrals[n - 1] if n <= len(t.referrals) else None
        row[f"INVIO_{n}"] = _text(r and v.local("referral_target", r["target"]))
        row[f"DATA_INVIO_{n}"] = _text(r and date_text(r["date"], "%d/%m/%Y"))
        row[f"ESITO_INVIO_{n}"] = _text(r and v.local("referral_outcome", r["outcome"]))
    row["ANNULLATA"] = yes_no(False, _words(spec))
    return row


def _housing_de(spec: SourceSpec, t: SourceRecordTruth) -> Row:
    _fits(t, HOUSING_SERVICES)
    v, s, case = spec.vocabulary, t.subject, t.case or {}
    ids = identifiers(s)
    number = local_number(ids["local_id"])
    row: Row = {
        "Akt-Nr.": t.record_id,
        "Geändert am": local_time_text(t.updated_at, "%d.%m.%Y %H:%M"),
        "Steuernummer": _text(ids["fiscal_code"]),
        "Vorläufige Steuernummer": _text(ids["provisional_fiscal_code"]),
        "Klienten-Nr.": italian_int(number) if number is not None else "",
        "Nachname": s["family_name"],
        "Vorname": s["given_names"],
        "Geschlecht": _text(v.local("sex", s.get("sex"))),
        "Geburtsdatum": _text(date_text(s.get("birth_date"), "%d.%m.%Y")),
        "Geburtsland": _text(v.local("country", s.get("country_of_birth"))),
        "Staatsbürgerschaft": _text(v.local("country", s.get("citizenship"))),
        "Einreise": _text(date_text(s.get("arrival_date"), "%d.%m.%Y")),
        "Antrag vom": _text(date_text(case.get("opened_on"), "%d.%m.%Y")),
        "Status": _text(v.local("case_status", case.get("status"))),
    }
    for n in range(1, HOUSING_SERVICES + 1):
        x = t.services[n - 1] if n <= len(t.services) else None
        row[f"Leistung {n}"] = _text(x and v.local("service_type", x["type"]))
        row[f"Beginn {n}"] = _text(x and date_text(x["start"], "%d.%m.%Y"))
        row[f"Ende {n}"] = _text(x and date_text(x["end"], "%d.%m.%Y"))
        row[f"Stand {n}"] = _text(x and v.local("service_status", x["status"]))
    row["Storniert"] = yes_no(False, _words(spec, ("Ja", "Nein")))
    return row


def _health_it(spec: SourceSpec, t: SourceRecordTruth) -> Row:
    _fits(t, HEALTH_SERVICES, HEALTH_REFERRALS)
    v, s = spec.vocabulary, t.subject
    ids = identifiers(s)
    row: Row = {
        "ID_ACCESSO": t.record_id,
        "DATA_AGGIORNAMENTO": local_time_text(t.updated_at, "%d/%m/%Y %H:%M:%S"),
        "CODICE_FISCALE": _text(ids["fiscal_code"]),
        "CF_PROVVISORIO": _text(ids["provisional_fiscal_code"]),
        # The clinic keeps STP and ENI codes in one column; the prefix tells them apart.
        "CODICE_STP_ENI": _text(ids["stp_code"] or ids["eni_code"]),
        "COD_SANITARIO": _text(ids["local_id"]),
        "COGNOME": s["family_name"],
        "NOME": s["given_names"],
        "SESSO": _text(v.local("sex", s.get("sex"))),
        "DATA_NASCITA": _text(date_text(s.get("birth_date"), "%d/%m/%Y")),
        "STATO_NASCITA": _text(v.local("country", s.get("country_of_birth"))),
        "CITTADINANZA": _text(v.local("country", s.get("citizenship"))),
    }
    for n in range(1, HEALTH_SERVICES + 1):
        x = t.services[n - 1] if n <= len(t.services) else None
        row[f"PRESTAZIONE_{n}"] = _text(x and v.local("service_type", x["type"]))
        row[f"DAL_{n}"] = _text(x and date_text(x["start"], "%d/%m/%Y"))
        row[f"AL_{n}"] = _text(x and date_text(x["end"], "%d/%m/%Y"))
        row[f"STATO_PRESTAZIONE_{n}"] = _text(x and v.local("service_status", x["status"]))
    for n in range(1, HEALTH_REFERRALS + 1):
        r = t.referrals[n - 1] if n <= len(t.referrals) else None
        row[f"INVIO_{n}"] = _text(r and v.local("referral_target", r["target"]))
        row[f"DATA_INVIO_{n}"] = _text(r and date_text(r["date"], "%d/%m/%Y"))
        row[f"ESITO_INVIO_{n}"] = _text(r and v.local("referral_outcome", r["outcome"]))
    return row


def _registry_it(spec: SourceSpec, t: SourceRecordTruth) -> Row:
    _fits(t, 0)
    v, s = spec.vocabulary, t.subject
    ids = identifiers(s)
    return {
        "PROGRESSIVO": t.record_id,
        "DATA_AGGIORNAMENTO": local_time_text(t.updated_at, "%d/%m/%Y"),
        "CODICE_FISCALE": _text(ids["fiscal_code"]),
        "CF_PROVVISORIO": _text(ids["provisional_fiscal_code"]),
        "COGNOME": s["family_name"],
        "NOME": s["given_names"],
        "SESSO": _text(v.local("sex", s.get("sex"))),
        "DATA_NASCITA": _text(date_text(s.get("birth_date"), "%d/%m/%Y")),
        "STATO_NASCITA": _text(v.local("country", s.get("country_of_birth"))),
        "CITTADINANZA": _text(v.local("country", s.get("citizenship"))),
        "DATA_INGRESSO": _text(date_text(s.get("arrival_date"), "%d/%m/%Y")),
        "PERMESSO_SOGGIORNO": _text(v.local("permit_category", s.get("permit_type"))),
        "RESIDENTE": yes_no(s.get("resident_in_city"), _words(spec)),
    }


def _words(spec: SourceSpec, default: tuple[str, str] = ("Sì", "No")) -> tuple[str, str]:
    words = spec.option("yes_no")
    return (str(words[0]), str(words[1])) if words else default


LAYOUTS: dict[str, Render] = {
    "welfare_it": _welfare_it,
    "housing_de": _housing_de,
    "health_it": _health_it,
    "registry_it": _registry_it,
}


def render(spec: SourceSpec, truth: SourceRecordTruth) -> Row:
    """The row of ``truth``, columns named as ``spec`` names them."""
    row = LAYOUTS[str(spec.layout)](spec, truth)
    renames: dict[str, str] = dict(spec.option("columns") or {})
    if not renames:
        return row
    return {renames.get(name, name): value for name, value in row.items()}


def encode(spec: SourceSpec, rows: Sequence[Row], *, header: Sequence[str]) -> bytes:
    """A whole export file: preamble, header and rows, encoded as the source exports."""
    buffer = io.StringIO()
    for line in spec.option("preamble") or []:
        buffer.write(f"{line}\r\n")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    text = buffer.getvalue()
    encoding = str(spec.option("encoding", "utf-8-sig"))
    # Windows-1252 lacks Turkish, Romanian and combining letters: exports write "?".
    return text.encode(encoding, errors="replace")


class DropWriter:
    """Writes one source's drops, a file per year of last update, row by row as they come
    (constant memory for any population). Use as a context manager, or call :meth:`close`."""

    def __init__(self, spec: SourceSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = folder
        self.rows = 0
        self._prefix = str(spec.option("file_prefix", spec.name))
        self._files: dict[int, tuple[io.TextIOWrapper, Any, list[str]]] = {}

    def add(self, truth: SourceRecordTruth) -> None:
        row = render(self.spec, truth)
        year = truth.updated_at.year
        if year not in self._files:
            self._files[year] = self._open(year, list(row))
        _, writer, header = self._files[year]
        writer.writerow([row.get(name, "") for name in header])
        self.rows += 1

    def _open(self, year: int, header: list[str]) -> tuple[io.TextIOWrapper, Any, list[str]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = io.TextIOWrapper(
            (self.folder / f"{self._prefix}_{year}.csv").open("wb"),
            encoding=str(self.spec.option("encoding", "utf-8-sig")),
            errors="replace",  # Windows-1252 exports write "?" for what it lacks
            newline="",
        )
        for line in self.spec.option("preamble") or []:
            handle.write(f"{line}\r\n")
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        return handle, writer, header

    def close(self) -> list[Path]:
        """Close the files; return them in file-name order."""
        for handle, _, _ in self._files.values():
            handle.close()
        return [self.folder / f"{self._prefix}_{year}.csv" for year in sorted(self._files)]

    def __enter__(self) -> DropWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_drops(spec: SourceSpec, records: Iterable[SourceRecordTruth], folder: Path) -> list[Path]:
    """Write ``records`` into ``folder`` (see :class:`DropWriter`); return the files."""
    writer = DropWriter(spec, folder)
    try:
        for truth in records:
            writer.add(truth)
    finally:
        files = writer.close()
    return files

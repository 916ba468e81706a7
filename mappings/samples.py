"""Read a sample input file into records, the way the source's adapter would shape them.

For ``explain``, ``coverage`` and golden tests: a CSV export, a JSON array (or NDJSON) of
records, an XML answer of a SOAP service, or a FHIR R4 Bundle. Where the adapters have a
reader (CSV, XML to data, FHIR Bundles) it is used, with the definition's adapter options as
hints (delimiter, encoding, ``records_path``, id and updated-at paths), so samples are read
exactly as records will arrive. Records get ``record_id`` from those hints, else their
1-based position.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mappings.definition import SourceDefinition


@dataclass(frozen=True)
class Sample:
    """One record of a sample file; ``problem`` is set when the reader could not read it."""

    data: Mapping[str, Any]
    record_id: str | None
    position: str
    updated_at: str | None = None
    deleted: bool = False
    problem: str | None = None


class SampleError(ValueError):
    """The sample file cannot be read at all; the message says why (never its content)."""


def read_samples(path: str | Path, definition: SourceDefinition | None = None) -> list[Sample]:
    """The records of the sample file at ``path``."""
    file = Path(path)
    body = file.read_bytes()
    options = dict(definition.adapter_options) if definition is not None else {}
    kind = definition.adapter_kind if definition is not None else ""
    suffix = file.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv(body, options if kind == "csv" else {}, file.name)
    if suffix == ".xml":
        return _xml(body, options)
    if suffix in (".ndjson", ".jsonl"):
        return _records(_ndjson(body), options)
    if suffix == ".json":
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise SampleError(
                f"{file.name}: not JSON (line {getattr(exc, 'lineno', '?')})"
            ) from None
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            return _fhir(body)
        return _records(_json_records(document, options), options)
    raise SampleError(f"{file.name}: unknown sample type; use .csv, .json, .ndjson or .xml")


def _walk(data: Any, dotted: str | None) -> Any:
    if not dotted:
        return None
    for key in dotted.split("."):
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _records(items: list[Any], options: Mapping[str, Any]) -> list[Sample]:
    id_path = options.get("id_field", options.get("id_path"))
    updated_path = options.get("updated_field", options.get("updated_path"))
    deleted_path = options.get("deleted_path")
    samples = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            samples.append(Sample({}, None, f"record {position}", problem="not an object"))
            continue
        samples.append(
            Sample(
                data=item,
                record_id=_text(_walk(item, id_path)) or str(position),
                position=f"record {position}",
                updated_at=_text(_walk(item, updated_path)),
                deleted=_walk(item, deleted_path) in (True, "true", "1"),
            )
        )
    return samples


def _json_records(document: Any, options: Mapping[str, Any]) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping):
        found = _walk(document, options.get("records_path"))
        if isinstance(found, list):
            return found
        for key in ("records", "items", "data"):
            if isinstance(document.get(key), list):
                return list(document[key])
        return [document]
    raise SampleError("JSON sample: expected an array of records or an object")


def _ndjson(body: bytes) -> list[Any]:
    items = []
    for number, line in enumerate(body.decode("utf-8-sig").splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except ValueError:
                raise SampleError(f"NDJSON sample: line {number} is not JSON") from None
    return items


def _csv(body: bytes, options: Mapping[str, Any], name: str) -> list[Sample]:
    try:
        from adapters.csv import CsvAdapter, CsvOptions
    except ImportError:  # pragma: no cover - the adapters package is part of the project
        return _stdlib_csv(body, options)
    settings = {k: v for k, v in options.items() if k in CsvOptions.model_fields}
    settings["path"] = name
    settings.setdefault("delimiter", _sniff(body))
    try:
        adapter = CsvAdapter(CsvOptions.model_validate(settings), source=name)
    except ValueError:
        return _stdlib_csv(body, options)
    samples = []
    for position, raw in enumerate(adapter.read_stream(body, name=name), start=1):
        where = raw.position or f"record {position}"
        problem = raw.problem.reason if raw.problem is not None and not raw.data else None
        samples.append(
            Sample(
                raw.data,
                raw.record_id or str(position),
                where,
                deleted=raw.deleted,
                problem=problem,
            )
        )
    return samples


def _sniff(body: bytes) -> str:
    """The delimiter of a CSV sample whose source does not say (``;`` when unsure)."""
    head = body[:4096].decode("utf-8", errors="replace")
    try:
        return csv.Sniffer().sniff(head, delimiters=";,\t|").delimiter
    except csv.Error:
        return ";"


def _stdlib_csv(body: bytes, options: Mapping[str, Any]) -> list[Sample]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("cp1252", errors="replace")
    delimiter = options.get("delimiter") or _sniff(body)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    id_column = options.get("id_column")
    return [
        Sample(row, (row.get(id_column) if id_column else None) or str(n), f"line {n + 1}")
        for n, row in enumerate(reader, start=1)
    ]


def _xml(body: bytes, options: Mapping[str, Any]) -> list[Sample]:
    from adapters.errors import SourceError
    from adapters.xml import element_to_data, local_name, parse_xml

    try:
        root = parse_xml(body)
    except SourceError as exc:
        raise SampleError(f"XML sample: {exc}") from None
    records_path = str(options.get("records_path") or "")
    wanted = records_path.rpartition(".")[2] if records_path else None
    if wanted:
        elements = [
            e for e in root.iter() if isinstance(e.tag, str) and local_name(e.tag) == wanted
        ]
    else:
        elements = _repeated_children(root)
    return _records([element_to_data(e) for e in elements], options)


def _repeated_children(root: Any) -> list[Any]:
    """The record elements of an answer without ``records_path``: the first element whose
    children share one name (going down through Envelope, Body, Response...)."""
    element = root
    while True:
        children = [c for c in element if isinstance(c.tag, str)]
        if not children:
            return [element]
        if len(children) > 1 and len({c.tag for c in children}) == 1:
            return children
        if len(children) == 1:
            element = children[0]
            continue
        return [element]


def _fhir(body: bytes) -> list[Sample]:
    from adapters.fhir_r4_bundle import parse_bundle

    parsed = parse_bundle(body, source="sample")
    return [
        Sample(
            raw.data,
            raw.record_id,
            raw.position or f"patient {n}",
            deleted=raw.deleted,
            problem=raw.problem.reason if raw.problem is not None else None,
        )
        for n, raw in enumerate(parsed.records, start=1)
    ]

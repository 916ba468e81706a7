"""FHIR Bundle parse rate of the adapter pipeline, beside bare fhir.resources and json.loads.

The same synthetic 3-entry transaction Bundles (Patient, EpisodeOfCare, Encounter; plain R4
JSON with ``urn:uuid:`` references) go through:

- the pipeline: :func:`adapters.fhir_r4.parse_bundle` (orjson, one ``fhir.resources.R4B``
  model validation per resource, reference resolution, flattening into one record);
- bare ``fhir.resources``: ``Bundle.model_validate_json`` (R4B), the baseline (ratio 1.0);
- ``json.loads`` alone, the floor of any JSON reader.

    python benchmarks/bench_fhir.py [--bundles 2000] [--rounds 3] [--json]

Brief §12: fhir.resources parses a 3-entry Bundle at about 3,200/s per core, json.loads at
about 147k/s. Goal: the pipeline at >= 0.8 of bare fhir.resources in the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fhir.resources.R4B.bundle import Bundle

from adapters.fhir_r4 import parse_bundle

GOAL_RATIO = 0.8
BRIEF_FHIR_RESOURCES = 3_200
BRIEF_JSON_LOADS = 147_000


def synthetic(count: int) -> list[bytes]:
    """``count`` distinct 3-entry Bundles of invented people (no real identifier)."""
    bundles = []
    for i in range(count):
        patient_url, episode_url = f"urn:uuid:00000000-0000-4000-8000-{i:012d}", f"urn:uuid:e-{i}"
        # A syntactically plausible, invented fiscal code (16 characters), never a real one.
        fiscal = f"SNT{'ABCDEFGHIL'[i % 10]}NR{80 + i % 20:02d}A{1 + i % 28:02d}Z{300 + i % 99}X"
        entries: list[dict[str, Any]] = [
            {
                "fullUrl": patient_url,
                "request": {"method": "POST", "url": "Patient"},
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "http://hl7.it/sid/codiceFiscale", "value": fiscal}],
                    "name": [{"family": "Sintetico", "given": ["Nome", f"N{i}"]}],
                    "gender": "female" if i % 2 else "male",
                    "birthDate": f"19{80 + i % 20}-0{1 + i % 9}-1{i % 10}",
                },
            },
            {
                "fullUrl": episode_url,
                "request": {"method": "POST", "url": "EpisodeOfCare"},
                "resource": {
                    "resourceType": "EpisodeOfCare",
                    "status": "active",
                    "patient": {"reference": patient_url},
                    "type": [{"coding": [{"system": "urn:asl:presa", "code": "PIC"}]}],
                    "period": {"start": "2024-02-01"},
                },
            },
            {
                "fullUrl": f"urn:uuid:n-{i}",
                "request": {"method": "POST", "url": "Encounter"},
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "subject": {"reference": patient_url},
                    "episodeOfCare": [{"reference": episode_url}],
                    "period": {"start": "2024-02-03T10:00:00+01:00"},
                },
            },
        ]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        bundles.append(json.dumps(bundle).encode())
    return bundles


def pipeline(body: bytes) -> None:
    parsed = parse_bundle(body, source="bench")
    if len(parsed.records) != 1 or parsed.records[0].problem is not None:
        raise AssertionError("the pipeline did not read the bundle")


def bare(body: bytes) -> None:
    Bundle.model_validate_json(body)


def rates(functions: list[Callable[[bytes], Any]], bodies: list[bytes], rounds: int) -> list[float]:
    """Bundles per second of each function, best of ``rounds``, interleaved."""
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for position, function in enumerate(functions):
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            for body in bodies:
                function(body)
            best[position] = min(best[position], time.perf_counter() - start)
            gc.enable()
    return [len(bodies) / seconds for seconds in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="Runs per function (best kept).")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text.")
    args = parser.parse_args()

    bodies = synthetic(args.bundles)
    pipeline_rate, bare_rate, loads_rate = rates([pipeline, bare, json.loads], bodies, args.rounds)
    results = [
        {
            "name": "fhir.pipeline_parse_flatten",
            "value": round(pipeline_rate),
            "unit": "bundles/s",
            "limit": round(GOAL_RATIO * bare_rate),
            "ratio": round(pipeline_rate / bare_rate, 3),
        },
        {
            "name": "fhir.resources_bundle_parse",
            "value": round(bare_rate),
            "unit": "bundles/s",
            "limit": BRIEF_FHIR_RESOURCES,
            "ratio": 1.0,
        },
        {
            "name": "fhir.json_loads",
            "value": round(loads_rate),
            "unit": "bundles/s",
            "limit": BRIEF_JSON_LOADS,
            "ratio": round(loads_rate / bare_rate, 3),
        },
    ]
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(f"{args.bundles:,} 3-entry FHIR R4 transaction Bundles, one core")
    for result in results:
        print(
            f"  {result['name']:<30} {result['value']:>9,} bundles/s   "
            f"ratio to bare fhir.resources {result['ratio']:.2f}"
        )
    verdict = "ok" if pipeline_rate >= GOAL_RATIO * bare_rate else "BELOW GOAL"
    print(f"  goal: pipeline >= {GOAL_RATIO} x bare fhir.resources: {verdict}")


if __name__ == "__main__":
    main()

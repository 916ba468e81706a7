"""Pseudonymisation throughput against bare HMAC-SHA256 on the same identities (issue 3).

"Pseudonymise one identity" = the inner token of a normalised fiscal code (kept by the
gateway) + the national outer pseudonym of the person's token (what the platform sees): two
keyed HMAC-SHA256 and the encoding. The baseline is one bare ``hmac.new(key, msg,
sha256).digest()`` per identity, in the same run, on the same identities (BRIEF §12: about
690k/s per core on the development machine).

    python benchmarks/bench_pseudonyms.py [--identities 300000] [--json]

Goals: >= 300,000 identities/s on one core; ratio to bare HMAC >= 0.4.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import random
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.privacy.identifiers import (
    decode_fiscal_code,
    fiscal_code_check_character,
)
from gateway.privacy.keys import Keyring
from gateway.privacy.pseudonyms import Pseudonymiser

GOAL_RATE = 300_000
GOAL_RATIO = 0.4
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PLACES = ["H501", "F205", "L219", "Z343", "Z330", "Z249", "Z335", "Z138"]


def synthetic_codes(count: int, seed: int = 11) -> list[str]:
    """Valid, normalised fiscal codes (random letters, dates and places; check character)."""
    rng = random.Random(seed)
    codes = []
    for _ in range(count):
        body = (
            "".join(rng.choice(LETTERS) for _ in range(6))
            + f"{rng.randrange(100):02d}"
            + rng.choice("ABCDEHLMPRST")
            + f"{rng.randrange(1, 29) + rng.choice((0, 40)):02d}"
            + rng.choice(PLACES)
        )
        codes.append(body + fiscal_code_check_character(body))
    return codes


def rate(function: Callable[[int], object], count: int) -> float:
    """Calls per second over ``range(count)``, best of five runs (garbage collector off)."""
    best = float("inf")
    for _ in range(5):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        function(count)
        best = min(best, time.perf_counter() - start)
        gc.enable()
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=300_000)
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text.")
    args = parser.parse_args()

    keyring = Keyring({1: secrets.token_bytes(32)}, current=1, inner=1)
    pseudonymiser = Pseudonymiser(keyring)
    codes = synthetic_codes(args.identities)
    messages = [f"cf:{code}".encode() for code in codes]
    person_tokens = [secrets.token_bytes(32) for _ in codes]
    key = keyring.inner_key()
    inner_token, pseudonym = pseudonymiser.inner_token, pseudonymiser.pseudonym

    def bare_hmac(n: int) -> None:
        new, sha256 = hmac.new, hashlib.sha256
        for message in messages[:n]:
            new(key, message, sha256).digest()

    def bare_hmac_digest(n: int) -> None:
        digest = hmac.digest
        for message in messages[:n]:
            digest(key, message, "sha256")

    def pseudonymise(n: int) -> None:
        for code, person in zip(codes[:n], person_tokens[:n], strict=True):
            inner_token("cf", code)
            pseudonym("national", person, 1)

    def validate(n: int) -> None:
        for code in codes[:n]:
            decode_fiscal_code(code)

    assert inner_token("cf", codes[0]) == hmac.digest(key, messages[0], "sha256")
    decode_fiscal_code(codes[0])  # load the Belfiore table outside the timing
    n = args.identities
    baseline = rate(bare_hmac, n)
    ours = rate(pseudonymise, n)
    digest_rate = rate(bare_hmac_digest, n)
    validate_rate = rate(validate, min(n, 100_000))
    results = [
        {
            "name": "pseudonyms.pseudonymise_identity",
            "value": round(ours),
            "unit": "identities/s",
            "limit": GOAL_RATE,
            "ratio": round(ours / baseline, 3),
        },
        {
            "name": "pseudonyms.bare_hmac_new",
            "value": round(baseline),
            "unit": "hmac/s",
            "limit": None,
            "ratio": 1.0,
        },
        {
            "name": "pseudonyms.bare_hmac_digest",
            "value": round(digest_rate),
            "unit": "hmac/s",
            "limit": None,
            "ratio": round(digest_rate / baseline, 3),
        },
        {
            "name": "identifiers.validate_fiscal_code",
            "value": round(validate_rate),
            "unit": "codes/s",
            "limit": None,
            "ratio": round(validate_rate / baseline, 3),
        },
    ]
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(f"{n:,} identities (normalised fiscal codes), one core")
    for result in results:
        print(
            f"  {result['name']:<36} {result['value']:>10,} {result['unit']:<13} "
            f"ratio to bare hmac.new {result['ratio']:.2f}"
        )
    ok = ours >= GOAL_RATE and ours / baseline >= GOAL_RATIO
    print(
        f"  goals: >= {GOAL_RATE:,} identities/s and ratio >= {GOAL_RATIO}: "
        f"{'ok' if ok else 'BELOW GOAL'}"
    )


if __name__ == "__main__":
    main()

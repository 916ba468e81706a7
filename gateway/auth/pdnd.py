"""PDND "voucher" profile: the access tokens of Italy's national data-exchange platform.

An e-service accepts a voucher when it is a JWT access token (``typ`` ``at+jwt``, RFC 9068)
signed RS256 by PDND, for the e-service's audience, and its ``purposeId`` (the registered
purpose of the data access) is one the e-service allows. Signature, ``iss``, ``aud``, ``exp``
and ``nbf`` are checked by :mod:`gateway.auth.rfc6750` like any other token; this module adds
the profile's own rules.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gateway.auth.errors import InvalidToken

VOUCHER_ALGORITHM = "RS256"
VOUCHER_TYPES = frozenset({"at+jwt", "application/at+jwt"})


def check_voucher(
    header: Mapping[str, Any], claims: Mapping[str, Any], allowed_purpose_ids: Collection[str]
) -> str:
    """Check the voucher's profile rules; return its ``purposeId``.

    Raises :class:`InvalidToken` (the client must obtain a voucher for an allowed purpose).
    """
    if header.get("alg") != VOUCHER_ALGORITHM:
        raise InvalidToken("vouchers must be signed with RS256")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in VOUCHER_TYPES:
        raise InvalidToken("vouchers must have typ at+jwt")
    purpose_id = claims.get("purposeId")
    if not isinstance(purpose_id, str) or not purpose_id:
        raise InvalidToken("the voucher carries no purposeId")
    if purpose_id not in allowed_purpose_ids:
        raise InvalidToken("the voucher's purposeId is not allowed by this e-service")
    return purpose_id

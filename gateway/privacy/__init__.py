"""Privacy: identifiers, keys, two-tier pseudonyms, the identity store and key rotation.

Identifiers enter here and leave as tokens: :func:`identifiers_of` validates and normalises
them, a :class:`Pseudonymiser` turns them into inner tokens (kept) and persons into outer
pseudonyms per domain (shared), :mod:`gateway.privacy.store` keeps persons, tokens and
pseudonyms, and :mod:`gateway.privacy.rotation` moves a domain to a new key version.
"""

from gateway.privacy.identifiers import (
    FiscalCode,
    InvalidIdentifierError,
    Kind,
    NormalisedIdentifier,
    RejectedIdentifier,
    Strength,
    check_identifiers,
    decode_fiscal_code,
    identifiers_of,
    normalise_fiscal_code,
    normalise_provisional_fiscal_code,
    normalise_stp_eni,
)
from gateway.privacy.keys import NATIONAL, Keyring, KeyringError, check_domain, city_domain
from gateway.privacy.pseudonyms import (
    Pseudonymiser,
    is_pseudonym,
    new_person_token,
    version_of,
)

__all__ = [
    "NATIONAL",
    "FiscalCode",
    "InvalidIdentifierError",
    "Keyring",
    "KeyringError",
    "Kind",
    "NormalisedIdentifier",
    "Pseudonymiser",
    "RejectedIdentifier",
    "Strength",
    "check_domain",
    "check_identifiers",
    "city_domain",
    "decode_fiscal_code",
    "identifiers_of",
    "is_pseudonym",
    "new_person_token",
    "normalise_fiscal_code",
    "normalise_provisional_fiscal_code",
    "normalise_stp_eni",
    "version_of",
]

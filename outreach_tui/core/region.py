"""Recipient region and the legal basis recorded for a send, inferred from the address's TLD.

The table is data so that an operator can extend it from config without touching code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class LegalBasis(StrEnum):
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"


@dataclass(frozen=True, slots=True)
class RegionRule:
    region: str
    legal_basis: LegalBasis


EU_TLDS: tuple[str, ...] = (
    "de", "fr", "it", "es", "nl", "pl", "se", "at", "be", "ch", "pt", "ie", "dk",
    "fi", "no", "cz", "gr", "hu", "ro", "bg", "hr", "sk", "si", "lt", "lv", "ee",
)  # fmt: skip

#: Suffix (without leading dot) → rule. Longest matching suffix wins, so "co.uk" beats "uk".
DEFAULT_REGION_TABLE: Mapping[str, RegionRule] = {
    **{tld: RegionRule("EU", LegalBasis.CONSENT) for tld in EU_TLDS},
    "uk": RegionRule("UK", LegalBasis.CONSENT),
    "co.uk": RegionRule("UK", LegalBasis.CONSENT),
    "ca": RegionRule("CA", LegalBasis.CONSENT),
    "com.au": RegionRule("AU/NZ", LegalBasis.CONSENT),
    "co.nz": RegionRule("AU/NZ", LegalBasis.CONSENT),
}

DEFAULT_RULE = RegionRule("OTHER", LegalBasis.LEGITIMATE_INTEREST)


def domain_of(email: str) -> str:
    """The lower-cased domain part of an address ("" when there is no "@")."""
    _, at, domain = email.rpartition("@")
    return domain.strip().rstrip(".").lower() if at else ""


def infer_region(email: str, table: Mapping[str, RegionRule] = DEFAULT_REGION_TABLE) -> RegionRule:
    """Region and legal basis for a recipient address, by the longest matching domain suffix."""
    labels = domain_of(email).split(".")
    for start in range(1, len(labels)):
        rule = table.get(".".join(labels[start:]))
        if rule is not None:
            return rule
    return DEFAULT_RULE


def parent_domains(domain: str) -> list[str]:
    """`a.b.example.com` → [a.b.example.com, b.example.com, example.com, com]: the entries a
    domain suppression of any of them covers."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]

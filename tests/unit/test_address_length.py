"""A local part longer than 64 characters (RFC 5321 4.5.3.1.1) is not an address: refused by
the syntax check every address passes (core/addresses.py), by the lead import's fast path
and by verification's syntax check alike."""

from __future__ import annotations

import asyncio

import dns.asyncresolver
import pytest

from outreach_tui.config import VerifySettings
from outreach_tui.core.addresses import normalize_address
from outreach_tui.core.errors import InputError
from outreach_tui.core.verification import VerificationStatus
from outreach_tui.engine.leads.domain_insight import MemoryInsightStore
from outreach_tui.engine.leads.lead_fields import fast_normalize_address
from outreach_tui.engine.leads.verifier import Verifier, collect

TOO_LONG = ["x" * 65 + "@example.com", "A" * 65 + "@Example.com", "ü" * 65 + "@example.com",
            "a." * 32 + "bc@example.com"]  # fmt: skip
LONGEST = ["x" * 64 + "@example.com", "ü" * 64 + "@example.com"]


@pytest.mark.parametrize("address", TOO_LONG)
@pytest.mark.parametrize("check", [normalize_address, fast_normalize_address])
def test_a_local_part_of_65_characters_is_refused(check, address):
    with pytest.raises(InputError, match="too long before the @-sign"):
        check(address)


@pytest.mark.parametrize("address", LONGEST)
@pytest.mark.parametrize("check", [normalize_address, fast_normalize_address])
def test_a_local_part_of_64_characters_is_kept(check, address):
    assert check(address) == address.lower()


def test_verification_calls_a_65_character_local_part_invalid_syntax():
    resolver = dns.asyncresolver.Resolver(configure=False)  # never asked: syntax comes first
    verifier = Verifier(VerifySettings(), resolver, MemoryInsightStore(), smtp=False)
    results = asyncio.run(collect(verifier, TOO_LONG))
    assert [r.status for r in results] == [VerificationStatus.INVALID_SYNTAX] * len(TOO_LONG)
    assert all("too long before the @-sign" in r.detail for r in results)

"""Region and legal basis by recipient TLD (DESIGN.md's table)."""

from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.region import EU_TLDS, LegalBasis, infer_region

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


def test_german_recipient_is_eu_consent():
    rule = infer_region("anna@firma.de")
    assert (rule.region, rule.legal_basis) == ("EU", LegalBasis.CONSENT)


def test_dot_com_recipient_is_legitimate_interest():
    rule = infer_region("bob@example.com")
    assert (rule.region, rule.legal_basis) == ("OTHER", LegalBasis.LEGITIMATE_INTEREST)


def test_uk_and_co_uk_are_uk_consent():
    assert infer_region("x@gov.uk").region == "UK"
    assert infer_region("x@shop.co.uk").region == "UK"


def test_com_au_and_co_nz_are_au_nz_but_plain_au_is_not():
    assert infer_region("x@shop.com.au").region == "AU/NZ"
    assert infer_region("x@shop.co.nz").region == "AU/NZ"
    assert infer_region("x@shop.au").region == "OTHER"


def test_canada_is_consent():
    assert infer_region("x@shop.ca").legal_basis is LegalBasis.CONSENT


def test_case_and_trailing_dot_do_not_change_the_region():
    assert infer_region("X@Firma.DE.").region == "EU"


@given(local=label, labels=st.lists(label, min_size=1, max_size=3), tld=st.sampled_from(EU_TLDS))
def test_every_eu_tld_under_any_subdomain_is_eu_consent(local, labels, tld):
    rule = infer_region(f"{local}@{'.'.join(labels)}.{tld}")
    assert rule.region == "EU" and rule.legal_basis is LegalBasis.CONSENT


@given(
    local=label,
    labels=st.lists(label, min_size=1, max_size=3),
    tld=st.sampled_from(["com", "org", "net", "io", "us", "jp", "br", "in"]),
)
def test_non_listed_tlds_are_legitimate_interest(local, labels, tld):
    assert infer_region(f"{local}@{'.'.join(labels)}.{tld}").legal_basis is (
        LegalBasis.LEGITIMATE_INTEREST
    )

"""Header-injection refusal and CSV formula neutralisation."""

import pytest

from outreach_tui.core.csvsafe import neutralise_cell
from outreach_tui.core.errors import HeaderInjection
from outreach_tui.core.headers import check_header_value


@pytest.mark.parametrize("bad", ["Hi\r\nBcc: x@y.z", "Hi\nBcc: x", "Hi\rthere", "nul\x00"])
def test_cr_lf_nul_in_a_header_value_is_refused_with_the_field_named(bad):
    with pytest.raises(HeaderInjection, match="Subject"):
        check_header_value("Subject", bad)


def test_clean_header_value_passes_unchanged():
    assert check_header_value("Subject", "Quick question: ünïcode") == "Quick question: ünïcode"


@pytest.mark.parametrize("cell", ["=cmd()", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "\0x"])
def test_formula_prefixes_are_neutralised(cell):
    assert neutralise_cell(cell) == "'" + cell


def test_plain_cells_are_unchanged():
    assert neutralise_cell("anna@firma.de") == "anna@firma.de"
    assert neutralise_cell(None) == ""
    assert neutralise_cell(42) == "42"

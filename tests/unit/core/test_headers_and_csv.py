"""Header-injection refusal and CSV formula neutralisation."""

import pytest

from outreach_tui.core.csvsafe import neutralise_cell, restore_cell
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


FULL_WIDTH_AND_SMALL = ["\uff1dcmd()", "\uff0b1+1", "\uff0d2", "\uff20SUM(A1)", "\ufe66x",
                        "\ufe62x", "\ufe63x", "\ufe6bx"]  # fmt: skip
LEADING_BLANKS = [" =1+1", "   +1", "\u00a0=x", "\u3000@x", "\u200b=x", "\ufeff-1", " \uff1dx",
                  "\n=x", "\x0b=x"]  # fmt: skip


@pytest.mark.parametrize("cell", FULL_WIDTH_AND_SMALL + LEADING_BLANKS)
def test_full_width_small_and_blank_led_formulas_are_neutralised(cell):
    assert neutralise_cell(cell) == "'" + cell
    assert restore_cell(neutralise_cell(cell)) == cell


@pytest.mark.parametrize("cell", ["anna@firma.de", " anna", "a=b", "\u2212 1", "", "  "])
def test_cells_whose_first_visible_character_is_no_trigger_are_unchanged(cell):
    assert neutralise_cell(cell) == cell
    assert restore_cell(cell) == cell


def test_plain_cells_are_unchanged():
    assert neutralise_cell("'=x") == "'=x"  # already neutral: an apostrophe comes first
    assert neutralise_cell("anna@firma.de") == "anna@firma.de"
    assert neutralise_cell(None) == ""
    assert neutralise_cell(42) == "42"

"""`core.screen_text`: what a terminal would act on is replaced, one mark per character, and
nothing else changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outreach_tui.core.screen_text import (
    MARK,
    control_problem,
    describe_character,
    is_printable,
    json_printable,
    printable,
)

#: Each of these acts on a terminal (or reorders what it shows) when written raw.
HOSTILE = {
    "OSC 52 clipboard write": "\x1b]52;c;aGVsbG8=\x07",
    "OSC 8 link": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "clear screen": "\x1b[2J",
    "window title": "\x1b]0;owned\x07",
    "bell": "\x07",
    "C1 CSI": "\x9b31m",
    "C1 OSC": "\x9d0;t\x9c",
    "carriage return": "safe\rfake",
    "backspace": "ab\x08\x08",
    "DEL": "\x7f",
    "NUL": "\x00",
    "right-to-left override": "invoice\u202egnp.exe",
    "isolate": "\u2066x\u2069",
    "line separator": "a\u2028b",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_terminal_control_is_replaced_by_a_visible_mark(text):
    shown = printable(text)

    assert "\x1b" not in shown and "\x07" not in shown
    assert not any((ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert MARK in shown
    assert is_printable(shown)


def test_the_replacement_is_one_mark_per_character_so_lengths_and_styles_still_fit():
    text = "A\x1b[2JB\x9bC\u202eD"

    assert printable(text) == f"A{MARK}[2JB{MARK}C{MARK}D"
    assert len(printable(text)) == len(text)


def test_ordinary_text_is_left_alone_and_cleaning_twice_changes_nothing():
    text = "Zoë Müller, 株式会社 [Guest posts Q1] $5 \\ tab\there — ✓"

    assert printable(text) == text
    assert printable(printable(HOSTILE["OSC 8 link"])) == printable(HOSTILE["OSC 8 link"])
    assert printable(None) == ""


def test_line_feeds_stay_only_where_a_text_may_have_lines():
    assert printable("one\ntwo") == f"one{MARK}two"
    assert printable("one\r\ntwo\rthree\n", multiline=True) == f"one\ntwo{MARK}three\n"


def test_a_control_character_is_named_never_shown():
    assert describe_character("\x1b") == "ESC, U+001B"
    assert describe_character("\x85") == "U+0085"
    assert control_problem("A\x1b[2J") == "contains a control character (ESC, U+001B)"
    assert control_problem("A\nB") == "contains a line break"
    assert control_problem("A\x00B") == "contains a NUL character"
    assert control_problem("tab\tand RTL \u202e stay for import") is None


def test_json_keeps_its_data_and_loses_what_a_terminal_would_act_on():
    value = {"detail": "550 \x9b31m no \u202e \x7f \x1b[2J", "mx": "Zoë"}
    dumped = json_printable(json.dumps(value, ensure_ascii=False, indent=2))

    assert json.loads(dumped) == value
    assert is_printable(dumped, multiline=True)
    assert "Zoë" in dumped


def test_the_cli_prints_through_its_cleaning_echo_only():
    """Every CLI line quotes data sooner or later: `cli/output.py` `echo` cleans it. Only
    lines that style our own words print with `click.echo` (dns-check's marks, cleaned data
    beside them; validate's progress line, which uses CR itself)."""
    cli = Path(__file__).resolve().parents[2] / "outreach_tui" / "cli"
    allowed = {"output.py", "dns_check.py", "validate.py"}
    direct = [
        f"{path.name}:{number}"
        for path in sorted(cli.glob("*.py"))
        if path.name not in allowed
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "click.echo(" in line or "print(" in line
    ]
    assert direct == []

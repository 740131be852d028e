"""What the CLI prints: every line through `echo`, which replaces terminal controls.

A lead's name, a campaign's name, a suppression reason, a server's answer or an error quoting
a file name can carry ESC sequences (OSC 52 writes the clipboard, `ESC[2J` clears the
screen); printed raw they act on the operator's terminal. `echo` cleans every line
(core/screen_text.py); `row` joins tab-separated cells, each cleaned to one line (a line feed
in a cell would fake a row) and neutralised for spreadsheets (output is often redirected to a
.tsv). JSON is printed by `json.dumps` as ASCII (every control escaped) or through
`json_printable`. Lines that style text themselves (dns-check's marks) clean the data first
and call `click.echo`. Files written with `-o` are data: CSV cells are formula-neutralised
(core/csvsafe.py), not rewritten.
"""

from __future__ import annotations

import click

from outreach_tui.core.csvsafe import neutralise_cell
from outreach_tui.core.screen_text import printable


def echo(text: object = "", *, err: bool = False, multiline: bool = True) -> None:
    """`click.echo` of `text` with terminal controls replaced; line feeds stay unless the
    text is one row of a listing (`multiline=False`), where one would fake another row."""
    click.echo(printable(str(text), multiline=multiline), err=err)


def row(*cells: object) -> str:
    """Tab-separated cells, each one line, cleaned and formula-neutralised."""
    return "\t".join(printable(neutralise_cell(cell)) for cell in cells)

"""The bytes a terminal would receive from the console, and what in them is not Textual's own.

`CaptureDriver` is Textual's headless driver that keeps what the app writes instead of
dropping it: the app draws exactly as it would on a terminal (run_test(headless=False)).
`foreign_controls` removes the sequences Textual itself emits (SGR colours, cursor moves,
synchronised-update and cursor-visibility modes) and returns every control left: an ESC, a
BEL or a C1 character there came from data.
"""

from __future__ import annotations

import re
from typing import Any

from textual.drivers.headless_driver import HeadlessDriver

from outreach_tui.tui.app import OutreachApp


class CaptureDriver(HeadlessDriver):
    """Headless input, real output: every string the app writes is kept in `written`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[str] = []

    @property
    def is_headless(self) -> bool:
        return False  # the app renders and writes as to a terminal

    def write(self, data: str) -> None:
        self.written.append(data)

    def flush(self) -> None:
        pass


#: What Textual writes on its own while drawing: colours and attributes (SGR), absolute
#: cursor moves, private modes (2026 synchronised output, 25 cursor visibility) and the
#: mouse pointer's shape (OSC 22, a word such as "default" or "pointer").
TEXTUALS_OWN = re.compile(
    r"\x1b\[[0-9;:]*m|\x1b\[\d+;\d+H|\x1b\[\?(?:2026|25)[hl]|\x1b\]22;[a-z-]+\x07"
)
#: Any control a terminal acts on: C0 but tab and line feed, DEL, C1.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def captured(app: OutreachApp) -> str:
    """Everything the app has written to its terminal so far."""
    driver = app._driver
    assert isinstance(driver, CaptureDriver), "run the app with driver_class=CaptureDriver"
    return "".join(driver.written)


def foreign_controls(output: str) -> list[str]:
    """The control sequences in `output` that Textual did not write (each with a little of
    what surrounds it, to see where it came from)."""
    rest = TEXTUALS_OWN.sub("", output)
    return [repr(rest[max(0, m.start() - 12) : m.end() + 12]) for m in CONTROL.finditer(rest)]


def with_capture(app: OutreachApp) -> OutreachApp:
    """`app`, set to draw through a `CaptureDriver` (start it with run_test(headless=False))."""
    app.driver_class = CaptureDriver
    return app

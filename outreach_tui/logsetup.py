"""Logging: details go to a file (and stderr for the worker); secrets are masked everywhere."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from outreach_tui import locations
from outreach_tui.core.screen_text import printable
from outreach_tui.secrets import resolved_values


class RedactSecrets(logging.Filter):
    """Masks every resolved secret value in a record, whatever code logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = resolved_values()
        if not secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in secrets:
            if secret and secret in masked:
                masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


class PrintableFormatter(logging.Formatter):
    """For a terminal (the worker's stderr): a record quotes data (an address, a server's
    answer), so terminal controls are replaced (core/screen_text.py). The file keeps it."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), multiline=True)


def configure_logging(
    level: str = "INFO", file: Path | None = None, *, stderr: bool = False
) -> Path:
    """Log to `file` (default: the platform log dir); also to stderr when asked (the worker)."""
    path = file or locations.log_dir() / "outreach-tui.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "_outreach", False):
            root.removeHandler(handler)
            handler.close()
    layout = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(layout))
    handlers: list[logging.Handler] = [to_file]
    if stderr:
        to_terminal = logging.StreamHandler(sys.stderr)
        to_terminal.setFormatter(PrintableFormatter(layout))
        handlers.append(to_terminal)
    for handler in handlers:
        handler.addFilter(RedactSecrets())
        handler._outreach = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    return path

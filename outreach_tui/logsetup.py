"""Logging: details go to a file (and stderr for the worker); secrets are masked everywhere."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from outreach_tui import locations
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
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactSecrets())
        handler._outreach = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    return path

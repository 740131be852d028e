"""Shared CLI state: settings loaded once, the engine built lazily, errors made readable."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from outreach_tui.cli.output import echo
from outreach_tui.config import Settings, load_settings
from outreach_tui.core.errors import OutreachError
from outreach_tui.logsetup import configure_logging

if TYPE_CHECKING:
    from outreach_tui.engine import Engine

log = logging.getLogger("outreach_tui.cli")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_BLOCKED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70


@dataclass
class CliContext:
    config_path: Path | None
    db_url: str | None
    _settings: Settings | None = None
    _engine: Engine | None = None
    log_path: Path | None = None
    headless: bool = False
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path, database_url=self.db_url)
            self.log_path = configure_logging(
                self._settings.logging.level, self._settings.logging.file, stderr=self.headless
            )
        return self._settings

    def engine(self, *, headless: bool = False) -> Engine:
        if self._engine is None:
            # Imported here: commands that need no engine (validate) stay light.
            from outreach_tui.engine import build_engine

            self.headless = headless
            self._engine = build_engine(self.settings, headless=headless)
            self.closers.append(self._engine.close_sync)
        return self._engine

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()


pass_ctx = click.make_pass_decorator(CliContext)


def friendly_errors(fn: F) -> F:
    """Operators see one sentence; the log keeps the traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OutreachError as exc:
            log.info("command failed: %s", exc, exc_info=True)
            echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception:
            log.exception("unexpected error")
            ctx = click.get_current_context(silent=True)
            where = ""
            if ctx is not None and isinstance(ctx.obj, CliContext) and ctx.obj.log_path:
                where = f"; details in {ctx.obj.log_path}"
            echo(f"error: an unexpected error occurred{where}", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]

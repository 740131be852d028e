"""The `outreach-tui` command. One module per command group; all build the engine through
`cli.context.CliContext`, which calls `engine.build_engine`."""

from __future__ import annotations

from outreach_tui.cli.main import cli, main

__all__ = ["cli", "main"]

"""The house rules of DESIGN.md, held by a test: `core` does no I/O, only `tui` (and the CLI
that starts it) knows Textual, and the console never builds SQL or opens sockets."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "outreach_tui"

IO_MODULES = {
    "socket",
    "ssl",
    "asyncio",
    "sqlite3",
    "sqlalchemy",
    "sqlmodel",
    "aiosmtplib",
    "smtplib",
    "imaplib",
    "dns",
    "httpx",
    "requests",
    "subprocess",
    "urllib.request",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(part: str) -> list[Path]:
    return sorted((PACKAGE / part).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_is_pure(path):
    bad = {n for n in imports_of(path) if n in IO_MODULES or top(n) in IO_MODULES}
    bad |= {
        n
        for n in imports_of(path)
        if n.startswith("outreach_tui.") and not n.startswith("outreach_tui.core")
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("part", ["core", "db", "engine", "mail", "demo"])
def test_only_the_console_knows_textual(part):
    for path in modules(part):
        assert not {n for n in imports_of(path) if top(n) == "textual"}, path


@pytest.mark.parametrize("path", modules("tui"), ids=lambda p: p.name)
def test_the_console_builds_no_sql_and_opens_no_sockets(path):
    bad = {
        n
        for n in imports_of(path)
        if top(n) in {"sqlalchemy", "sqlmodel", "socket", "aiosmtplib", "sqlite3"}
        or n.startswith("outreach_tui.db")
        or n.startswith("outreach_tui.mail")
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"

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


def test_the_import_contracts_hold():
    """The layers and wings of docs/ARCHITECTURE.md, as import-linter contracts in
    pyproject.toml ([tool.importlinter]): core pure, db and mail on core only, the engine
    knowing no face, the console and CLI calling the engine, the wings importing downward."""
    import subprocess
    import sys

    root = PACKAGE.parent
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command;"
            " sys.exit(lint_imports_command())",
            "--no-cache",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


_SQL_CALL = __import__("re").compile(r"(^|[^a-z_.])(select|insert|update|delete|text)\(")


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(PACKAGE.rglob("*.py")) if "db" not in p.relative_to(PACKAGE).parts[:1]],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_sql_is_built_only_in_db(path):
    """db/repos is the only place that builds SQL: the engine calls repositories, the faces
    call the engine."""
    found = [
        f"{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _SQL_CALL.search(line)
    ]
    assert not found, found

"""The reply corpus (this folder, described by manifest.toml), for the tests and the bench.

Each message was written by hand after the reply layout of a named mail client; its manifest
entry gives the exact new text (what the person wrote now), whether it is automatic or human,
and, where the intent rules cover its language, the kind `analyse` must find.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ReplyCase:
    file: str
    client: str
    language: str
    verdict: str
    """``automatic`` (an auto-reply or out-of-office) or ``human``."""
    new_text: str
    kind: str | None
    note: str

    @property
    def raw(self) -> bytes:
        return (CORPUS / self.file).read_bytes()


def cases() -> list[ReplyCase]:
    """Every message of the manifest, in its order."""
    manifest = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))
    return [
        ReplyCase(
            file=entry["file"],
            client=entry["client"],
            language=entry["language"],
            verdict=entry["verdict"],
            new_text=entry["new_text"],
            kind=entry.get("kind"),
            note=entry.get("note", ""),
        )
        for entry in manifest["message"]
    ]


def same_text(found: str, expected: str) -> bool:
    """Exactly the expected new text, line by line: each line's own spacing and blank lines
    between paragraphs do not count (HTML turned to text has none of either)."""
    return canonical(found) == canonical(expected)


def canonical(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())

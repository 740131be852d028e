"""Write tests/data/bounces/documented/: reports in the formats their writers document.

    python -m tests.data.bounces.write_documented

Regenerates every .eml file and manifest.toml from documented_mtas.py, documented_providers.py
and documented_services.py (deterministic: fixed dates and identifiers).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.data.bounces import (
    documented_mtas,
    documented_others,
    documented_providers,
    documented_services,
)

HERE = Path(__file__).resolve().parent
TARGET = HERE / "documented"


def cases() -> list[documented_mtas.Case]:
    return [
        *documented_mtas.ALL,
        *documented_providers.GMAIL,
        *documented_providers.MICROSOFT,
        *documented_providers.RECEIVERS,
        *documented_services.ALL,
        *documented_others.OTHERS,
    ]


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    all_cases = cases()
    names = [c[0] for c in all_cases]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    shutil.rmtree(TARGET, ignore_errors=True)
    TARGET.mkdir()
    lines = [
        "# Written by `python -m tests.data.bounces.write_documented` from the writers' documented",
        "# formats (see documented_*.py for the source of each layout). Do not edit by hand.",
        "# class: hard, soft, policy, complaint, auto-reply or delivered; recipient: the address",
        '# the report is about ("" when it names none); expired / delayed: the report\'s state.',
        "",
    ]
    for name, raw, klass, recipient, expired, delayed, note in all_cases:
        (TARGET / f"{name}.eml").write_bytes(raw)
        lines += [
            "[[message]]",
            f'file = "{name}.eml"',
            f'class = "{klass}"',
            f"recipient = {_toml(recipient)}",
            f"expired = {str(expired).lower()}",
            f"delayed = {str(delayed).lower()}",
            f'message_id = "{documented_mtas.mid(name)}"',
            f"note = {_toml(note)}",
            "",
        ]
    (TARGET / "manifest.toml").write_text("\n".join(lines))
    print(f"{len(all_cases)} messages written to {TARGET}")


if __name__ == "__main__":
    main()

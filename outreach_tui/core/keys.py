"""How a key of a TOML file is named in a message: `steps[2].delay_days`, the way the file
writes it. A key that is not a bare TOML key (a space, a dot, a line break, an escape
sequence) is quoted with its controls escaped, so one message line stays one line and a
hostile key cannot draw on the operator's terminal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def key_path(location: Iterable[int | str], *, first_index: int = 0) -> str:
    """`("steps", 1, "delay_days")` → `steps[1].delay_days` (`first_index=1`: `steps[2]...`,
    the way an operator counts the tables of a file)."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part + first_index}]"
            continue
        name = part if _BARE.fullmatch(part) else json.dumps(part)
        text += f".{name}" if text else name
    return text

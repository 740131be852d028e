"""The engine: one object that both the console and the headless worker hold.

`Engine` (engine.py) is its public face; `build_engine` (wiring.py) builds it. The wings
below it are described in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outreach_tui.engine.engine import Engine
    from outreach_tui.engine.wiring import build_engine

__all__ = ["Engine", "build_engine"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): importing one engine module (engine.leads.verifier, for `validate`)
    # does not load the whole engine with its database and mail stacks.
    if name == "Engine":
        from outreach_tui.engine.engine import Engine

        return Engine
    if name == "build_engine":
        from outreach_tui.engine.wiring import build_engine

        return build_engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

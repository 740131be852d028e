"""The engine: one object that both the console and the headless worker hold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outreach_tui.engine.engine import Engine, build_engine

__all__ = ["Engine", "build_engine"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): importing one engine module (engine.verifier, for `validate`) does not
    # load the whole engine with its database and mail stacks.
    if name in __all__:
        from outreach_tui.engine import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

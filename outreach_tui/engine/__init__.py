"""The engine: one object that both the console and the headless worker hold."""

from outreach_tui.engine.engine import Engine, build_engine

__all__ = ["Engine", "build_engine"]

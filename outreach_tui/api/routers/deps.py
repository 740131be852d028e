"""Dependencies every router shares: the app's state and the engine."""

from __future__ import annotations

from fastapi import Request

from outreach_tui.api.state import ApiState
from outreach_tui.engine import Engine

# Async although they do no I/O: FastAPI runs a plain function dependency in its thread
# pool, a hop per dependency per request (bench/api.py).


async def api_state(request: Request) -> ApiState:
    state = request.app.state.api
    assert isinstance(state, ApiState)
    return state


async def engine(request: Request) -> Engine:
    state = request.app.state.api
    assert isinstance(state, ApiState)
    return state.engine

"""The console's actions over HTTP (scope write), audited under the token's name."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from outreach_tui.api.models.base import Out, Strict


class Reason(Strict):
    """Why (kept in the audit log)."""

    reason: str = Field("", max_length=300)


class Changed(Out):
    """Whether the action changed anything (False: it was so already, or changed under us)."""

    changed: bool


class AttemptIds(Strict):
    """Attempts waiting for approval."""

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=10_000)
    reason: str = Field("", max_length=300, description="Why (rejections).")


class Decided(Out):
    """How many of the attempts were still waiting and are now decided."""

    count: int

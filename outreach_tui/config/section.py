"""What every settings section shares: unknown keys are errors, every number has a range
(`Range`, outreach_tui/core/bounds.py: checked at load, the key named in the message) and
each field's docstring is its description (the settings' documentation and
config.example.toml's comments say the same)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from outreach_tui.core.bounds import Range
from outreach_tui.secrets import check_reference

#: A secret reference (`env:NAME`, `keyring:...`, ...; outreach_tui/secrets.py), never the
#: secret itself.
SecretRef = Annotated[str, AfterValidator(check_reference)]


#: The ranges most settings share (seconds, counts per day, ports, shares).
Port = Annotated[int, Range(1, 65535)]
Timeout = Annotated[float, Range(0, 600, above=True)]
"""Seconds to wait for one answer from a server: more than 0, at most ten minutes."""
DailyCount = Annotated[int, Range(0, 100_000)]
"""Messages per day (a limit, a cap, a step of a ramp)."""
Share = Annotated[float, Range(0, 1)]
"""A rate or share: 0.05 is 5 %."""

__all__ = ["DailyCount", "Port", "Range", "SecretRef", "Section", "Share", "Timeout"]


class Section(BaseModel):
    # Infinities and NaN are refused even where a field forgot its range.
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

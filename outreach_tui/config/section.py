"""What every settings section shares: unknown keys are errors, and each field's
docstring is its description (the settings' documentation and config.example.toml's
comments say the same)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from outreach_tui.secrets import check_reference

#: A secret reference (`env:NAME`, `keyring:...`, ...; outreach_tui/secrets.py), never the
#: secret itself.
SecretRef = Annotated[str, AfterValidator(check_reference)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

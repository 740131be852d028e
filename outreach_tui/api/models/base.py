"""What every model shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body: unknown fields are an error (a misspelt field must not be ignored)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class Problem(Out):
    """An error: what went wrong, in a sentence (422: a list naming each field)."""

    detail: str


class FieldProblem(Out):
    """One field a request got wrong."""

    loc: list[str | int]
    """Where: body, query or path, then the field's name (and index)."""
    msg: str
    """What is wrong with it."""
    type: str
    """The kind of error (pydantic's name for it)."""


class ValidationProblem(Out):
    """422: the request's fields that are wrong."""

    detail: list[FieldProblem]


#: Responses every authenticated endpoint may give.
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "No token, or a token that is not known."},
    403: {"model": Problem, "description": "The token lacks this endpoint's scope."},
    413: {"model": Problem, "description": "The request body is larger than the limit."},
    422: {"model": ValidationProblem, "description": "A field is missing or wrong."},
    429: {"model": Problem, "description": "The token's rate limit: see Retry-After."},
}

"""Message templates: `{{variables}}` with defaults, and `{spin|tax}` resolved per seed.

Syntax:

    {{first_name}}           the lead's value; missing (None, absent, blank) is an error
    {{first_name|there}}     ... or "there" when missing; `{{x|}}` defaults to nothing
    {Hi|Hello|Hey}           one option, chosen deterministically from the seed
    {Hi {there|friend}|Yo}   groups nest
    \\{  \\}                   a literal brace; inside a group `\\|` is a literal bar

Variable names are case-insensitive and whitespace inside the braces is ignored. Spintax is
resolved on the template, never on substituted values: a company called "{A|B}" stays
literally "{A|B}". The choice for each group is sha256(seed, group position), so the same seed
gives the same text in every process and Python version: a preview is exactly what is sent.

`{{` opens a placeholder only when a matching `}}` follows with no brace in between; otherwise
it is a group whose first option starts with a group (`{{Hi|Hey} there|Hello}`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from outreach_tui.core.errors import InputError

# Deep nesting is never meaningful in an email and would otherwise hit the recursion limit.
MAX_NESTING = 32

_NAME_RE = re.compile(r"\w[\w.\-]*")


class MissingVariable(InputError):
    """A placeholder without a default has no value for this lead."""

    def __init__(self, name: str) -> None:
        super().__init__(f"missing variable {{{{{name}}}}} (no value and no default)")
        self.name = name


class TemplateSyntaxError(InputError):
    """The template cannot be parsed; `offset` is the 0-based character where it went wrong."""

    def __init__(self, problem: str, offset: int) -> None:
        super().__init__(f"template syntax error at character {offset}: {problem}")
        self.problem = problem
        self.offset = offset


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Var:
    name: str
    default: str | None


@dataclass(frozen=True, slots=True)
class _Spin:
    index: int  # position among all groups (pre-order): part of the choice's hash input
    options: tuple[tuple[_Node, ...], ...]


_Node = _Text | _Var | _Spin


def render(template: str, variables: Mapping[str, object | None], seed: str) -> str:
    """Fill `template` for one lead; the same `seed` always yields the same text.

    Raises TemplateSyntaxError for a malformed template and MissingVariable for the first
    placeholder (in template order, among the spintax options chosen) with neither a value
    nor a default. Values are inserted verbatim: header checks happen where headers are built.
    """
    nodes = _parse(template)
    values = _normalise_variables(variables)
    out: list[str] = []
    _render_into(nodes, values, seed, out)
    return "".join(out)


def check_template(template: str) -> None:
    """Raise TemplateSyntaxError if `template` would not render (used when loading a campaign)."""
    _parse(template)


def template_variables(template: str) -> frozenset[str]:
    """Every variable name (normalised to lower case) used anywhere, in any spintax option."""
    names: set[str] = set()
    stack: list[tuple[_Node, ...]] = [_parse(template)]
    while stack:
        for node in stack.pop():
            if isinstance(node, _Var):
                names.add(node.name)
            elif isinstance(node, _Spin):
                stack.extend(node.options)
    return frozenset(names)


def _spin_choice(seed: str, index: int, options: int) -> int:
    """Which of `options` the group at position `index` takes for `seed` (stable everywhere)."""
    material = f"{seed}\x1f{index}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(material).digest()
    # 64 bits make the modulo bias invisible for any realistic number of options.
    return int.from_bytes(digest[:8], "big") % options


def _normalise_name(name: str) -> str:
    return name.strip().casefold()


def _is_missing(value: object | None) -> bool:
    return value is None or not str(value).strip()


def _normalise_variables(variables: Mapping[str, object | None]) -> dict[str, object | None]:
    values: dict[str, object | None] = {}
    for key, value in variables.items():
        name = _normalise_name(key)
        # Two spellings of one column ("Company", "company"): a usable value wins.
        if name not in values or _is_missing(values[name]):
            values[name] = value
    return values


def _render_into(
    nodes: tuple[_Node, ...], values: Mapping[str, object | None], seed: str, out: list[str]
) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            value = values.get(node.name)
            if not _is_missing(value):
                out.append(str(value))
            elif node.default is not None:
                out.append(node.default)
            else:
                raise MissingVariable(node.name)
        else:
            choice = _spin_choice(seed, node.index, len(node.options))
            _render_into(node.options[choice], values, seed, out)


@lru_cache(maxsize=256)
def _parse(template: str) -> tuple[_Node, ...]:
    # Cached: one campaign step is rendered for thousands of leads.
    return _Parser(template).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.groups = 0

    def parse(self) -> tuple[_Node, ...]:
        nodes = self._sequence(depth=0)
        if self.pos < len(self.text):
            # _sequence at depth 0 only stops early on a stray closing brace.
            raise TemplateSyntaxError(
                "'}' without a matching '{' (write \\} for a brace)", self.pos
            )
        return nodes

    def _sequence(self, depth: int) -> tuple[_Node, ...]:
        """Parse until the end, or (inside a group) an unescaped `|` or `}`."""
        text = self.text
        nodes: list[_Node] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                nodes.append(_Text("".join(buf)))
                buf.clear()

        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                if nxt in "{}" or (nxt == "|" and depth > 0):
                    buf.append(nxt)
                    self.pos += 2
                    continue
                buf.append(char)
                self.pos += 1
            elif char == "{":
                flush()
                nodes.append(self._placeholder_or_group(depth))
            elif char == "}":
                if depth == 0:
                    break
                flush()
                return tuple(nodes)
            elif char == "|" and depth > 0:
                flush()
                return tuple(nodes)
            else:
                buf.append(char)
                self.pos += 1
        flush()
        return tuple(nodes)

    def _placeholder_or_group(self, depth: int) -> _Node:
        start = self.pos
        placeholder = self._placeholder()
        if placeholder is not None:
            return placeholder
        try:
            return self._group(depth + 1)
        except TemplateSyntaxError as exc:
            # `{{name} ...` is far more likely a broken placeholder than two groups.
            if self.text.startswith("{{", start) and exc.offset in (start, start + 1):
                raise TemplateSyntaxError("'{{' is not closed by '}}'", start) from None
            raise

    def _placeholder(self) -> _Var | None:
        """A `{{name|default}}` at `pos`, or None when the braces open a spintax group."""
        text, start = self.text, self.pos
        if not text.startswith("{{", start):
            return None
        i = start + 2
        raw: list[str] = []
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
                raw.append(text[i : i + 2])
                i += 2
            elif char == "{":
                return None
            elif char == "}":
                if not text.startswith("}}", i):
                    return None
                break
            else:
                raw.append(char)
                i += 1
        else:
            raise TemplateSyntaxError("'{{' is never closed with '}}'", start)
        body = "".join(raw)
        name, bar, default = body.partition("|")
        name = _normalise_name(name)
        if not _NAME_RE.fullmatch(name):
            shown = body.partition("|")[0].strip()
            problem = f"invalid variable name {shown!r}" if shown else "empty variable name"
            raise TemplateSyntaxError(problem, start)
        self.pos = i + 2
        unescaped = default.strip().replace("\\{", "{").replace("\\}", "}")
        return _Var(name=name, default=unescaped if bar else None)

    def _group(self, depth: int) -> _Spin:
        start = self.pos
        if depth > MAX_NESTING:
            raise TemplateSyntaxError(f"spintax nested deeper than {MAX_NESTING} levels", start)
        index = self.groups
        self.groups += 1
        self.pos += 1  # the opening brace
        options: list[tuple[_Node, ...]] = []
        while True:
            options.append(self._sequence(depth))
            if self.pos >= len(self.text):
                raise TemplateSyntaxError(
                    "'{' is never closed (write \\{ for a literal brace)", start
                )
            closing = self.text[self.pos] == "}"
            self.pos += 1
            if closing:
                break
        if len(options) < 2:
            # `{first_name}` is almost always a mistyped `{{first_name}}`, and would otherwise
            # put the bare word into an email.
            raise TemplateSyntaxError(
                "spintax group with a single option (did you mean {{...}}?)", start
            )
        return _Spin(index=index, options=tuple(options))

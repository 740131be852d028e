"""Fuzzing the two TOML files an operator writes: a campaign file (`load_campaign_file`) and
config.toml (`load_settings`). Whatever they hold, the file either loads with every number
within its range (finite, core/bounds.py) or is refused with `InputError` / `ConfigError`
naming the file and, on each line, a key that was written (or one that is required); never
any other exception."""

from __future__ import annotations

import itertools
import json
import math
import re
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from outreach_tui.config import Settings, load_settings
from outreach_tui.core.bounds import MAX_STEP_DELAY_DAYS, Range
from outreach_tui.core.errors import ConfigError, InputError
from outreach_tui.engine.sending.campaigns import CampaignSpec, load_campaign_file

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_numbers = itertools.count()
ERROR_LINE = re.compile(r"^  (?P<key>\S.*?): \S")


# --- writing TOML (the standard library only reads it) -----------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # JSON's escapes are TOML's, but for DEL, which TOML wants escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_value(key)} = {toml_value(value)}\n" for key, value in data.items())


# --- values --------------------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 365, 366, 365.0001, 1e308, -1e308, 5e-324, 10**9, 2**31, 2**63,
                     float("inf"), float("-inf"), float("nan"), 0.05, 65535, 65536]),
)  # fmt: skip
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
scalars = st.one_of(numbers, texts, st.booleans())
junk = st.one_of(
    scalars, st.lists(scalars, max_size=4), st.dictionaries(texts, scalars, max_size=3)
)


def write(tmp: Path, text: str, stem: str) -> Path:
    path = tmp / f"{stem}{next(_numbers)}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def keys_named(message: str, path: Path, first_line: str) -> list[str]:
    """The keys the error's lines name, after checking its shape."""
    lines = message.splitlines()
    assert lines[0].startswith(first_line), message
    if "not valid TOML" in lines[0]:
        return []
    keys = []
    for line in lines[1:]:
        match = ERROR_LINE.match(line)
        assert match is not None, message
        keys.append(match["key"])
    assert keys, message
    return keys


def top_keys(text: str) -> set[str]:
    """The top-level keys of a TOML text (none when it is not TOML)."""
    try:
        return set(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return set()


def top_key(key: str) -> str:
    """The first part of a key as a message names it (quoted when not a bare key)."""
    if key.startswith('"'):
        return str(json.JSONDecoder().raw_decode(key)[0])
    return re.split(r"[.\[]", key, maxsplit=1)[0]


# --- numbers within their ranges ------------------------------------------------------------------


def assert_within(annotation: Any, metadata: list[Any], value: Any, where: str) -> None:
    if value is None:
        return
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        assert_within(inner, [*metadata, *extra], value, where)
    elif annotation in (int, float) and not isinstance(value, bool):
        assert math.isfinite(value), where
        for m in metadata:
            if isinstance(m, Range):
                assert m.contains(value), (where, value, m)
            for name in ("ge", "gt", "le", "lt"):
                bound = getattr(m, name, None)
                if isinstance(m, annotated_types.BaseMetadata) and bound is not None:
                    assert {"ge": value >= bound, "gt": value > bound, "le": value <= bound,
                            "lt": value < bound}[name], (where, value, m)  # fmt: skip
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in type(value).model_fields.items():
            assert_within(field.annotation, list(field.metadata), getattr(value, name),
                          f"{where}.{name}")  # fmt: skip
    elif get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            if arg is not type(None):
                assert_within(arg, metadata, value, where)
                break
    elif get_origin(annotation) is list:
        (item,) = get_args(annotation)
        for index, element in enumerate(value):
            assert_within(item, [], element, f"{where}[{index}]")
    elif get_origin(annotation) is dict:
        for key, element in value.items():
            assert_within(get_args(annotation)[1], [], element, f"{where}[{key}]")


# --- campaign files ------------------------------------------------------------------------------

templates = st.one_of(
    texts,
    st.sampled_from(["Hello {{company}}", "{Quick|Short} question", "Hi {{first_name|there}}",
                     "{{", "{a|b", "}}", "Re: {{x}}", "x" * 600]),
)  # fmt: skip
step = st.dictionaries(
    st.sampled_from(["subject", "body", "delay_days", "colour"]),
    st.one_of(templates, numbers, junk),
    max_size=4,
)
#: Numbers that often fall within the ranges, so files load as often as they are refused.
plausible = st.one_of(numbers, st.integers(0, 400), st.floats(0, 400), st.floats(0, 1))
good_step = st.fixed_dictionaries(
    {"subject": st.just("Hi {{company}}"), "body": st.just("Hello"), "delay_days": plausible}
)
window = st.dictionaries(
    st.sampled_from(["days", "start", "end", "hours"]),
    st.one_of(
        st.lists(st.sampled_from(["mon", "tue", "sun", "caturday", "MON", ""]), max_size=9),
        st.sampled_from(["09:00", "17:00", "24:00", "25:00", "9", "", "00:00"]),
        junk,
    ),
    max_size=4,
)
campaign_values = {
    "name": st.one_of(texts, numbers, st.just("x" * 201)),
    "approval": st.one_of(st.sampled_from(["auto", "manual", "sometimes"]), junk),
    "mailboxes": st.one_of(
        st.lists(st.sampled_from(["a@b.com", "nope", "x" * 65 + "@x.com"]), max_size=3), junk
    ),
    "timezone": st.one_of(st.sampled_from(["recipient", "UTC", "Europe/Berlin", "Mars/X"]), junk),
    "default_timezone": st.one_of(st.sampled_from(["UTC", "recipient", "Asia/Tokyo"]), junk),
    "postal_address": st.one_of(texts, junk),
    "stop_on_company_reply": st.one_of(st.booleans(), junk),
    "window": st.one_of(window, junk),
    "steps": st.one_of(
        st.lists(st.one_of(good_step, step), min_size=0, max_size=6),
        st.lists(good_step, min_size=49, max_size=52),
        junk,
    ),
    "colour": junk,
}


@st.composite
def campaigns(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):  # a campaign that loads but for its numbers
        return {"name": "Fuzz", "steps": draw(st.lists(good_step, min_size=1, max_size=5))}
    chosen = draw(st.lists(st.sampled_from(sorted(campaign_values)), unique=True))
    return {key: draw(campaign_values[key]) for key in chosen}


def check_campaign(path: Path, written: set[str]) -> None:
    try:
        spec = load_campaign_file(path)
    except InputError as exc:
        event("campaign refused")
        for key in keys_named(str(exc), path, f"{path}: "):
            assert key == "(top level)" or top_key(key) in written | {"name", "steps"}, str(exc)
        return
    event("campaign loaded")
    assert 1 <= len(spec.steps) <= 50
    for number, s in enumerate(spec.steps, start=1):
        assert math.isfinite(s.delay_days), number
        assert 0 <= s.delay_days <= MAX_STEP_DELAY_DAYS, number
    assert_within(CampaignSpec, [], spec, "campaign")


@FUZZ
@given(data=campaigns())
def test_a_campaign_file_loads_within_bounds_or_is_refused_naming_the_key(tmp_path, data):
    check_campaign(write(tmp_path, toml_document(data), "campaign"), set(data))


@FUZZ
@given(text=st.one_of(texts, st.text(alphabet="[]=\"{}.,\n '#steps=delay_days1e9inf", max_size=60)))
def test_any_text_as_a_campaign_file_is_loaded_or_refused_never_a_traceback(tmp_path, text):
    check_campaign(write(tmp_path, text, "raw"), top_keys(text))


# --- config.toml ---------------------------------------------------------------------------------

SECTION_MODELS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}
SECTIONS = {name: sorted(model.model_fields) for name, model in SECTION_MODELS.items()}
TOP_LEVEL = ["smtp_port", "smtp_send_timeout", "imap_port", "imap_fetch_limit", "smtp_verify_tls",
             "colour"]  # fmt: skip
MAILBOX = {"email": "a@b.com", "smtp_host": "smtp.example.com", "smtp_password": "env:FUZZ_PW"}
MAILBOX_NUMBERS = ["smtp_port", "imap_port", "daily_limit"]
value = st.one_of(plausible, plausible, st.lists(plausible, min_size=1, max_size=4), junk)


def _numeric(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return _numeric(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_numeric(arg) for arg in get_args(annotation))
    return annotation in (int, float)


#: (section, key) of every number of a section: where a file that loads may be out of range.
NUMERIC = sorted(
    (section, key)
    for section, model in SECTION_MODELS.items()
    for key, field in model.model_fields.items()
    if _numeric(field.annotation)
)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.booleans()):  # a file that loads but for its numbers
        for section, key in draw(st.lists(st.sampled_from(NUMERIC), unique=True, max_size=5)):
            data.setdefault(section, {})[key] = draw(plausible)
        return data
    for key in draw(st.lists(st.sampled_from(TOP_LEVEL), unique=True, max_size=3)):
        data[key] = draw(value)
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), unique=True, max_size=4)):
        keys = draw(st.lists(st.sampled_from([*SECTIONS[section], "colour"]), unique=True,
                             max_size=4))  # fmt: skip
        data[section] = {key: draw(value) for key in keys}
    if draw(st.booleans()):
        box = dict(MAILBOX)
        for key in draw(st.lists(st.sampled_from(MAILBOX_NUMBERS), unique=True)):
            box[key] = draw(value)
        data["mailboxes"] = [box]
    return data


def check_config(path: Path, written: set[str]) -> None:
    try:
        loaded = load_settings(path)
    except ConfigError as exc:
        event("config refused")
        message = str(exc)
        first = (
            f"{path}: not valid TOML" if "not valid TOML" in message else "invalid configuration"
        )
        for key in keys_named(message, path, first):
            assert top_key(key) in written, message
        return
    event("config loaded")
    assert_within(Settings, [], loaded, "settings")


@FUZZ
@given(data=configs())
def test_a_config_file_loads_within_bounds_or_is_refused_naming_the_key(tmp_path, data):
    check_config(write(tmp_path, toml_document(data), "config"), set(data))


@FUZZ
@given(text=st.one_of(texts, st.text(alphabet='[]="{}.,\n \'#policy=daily_user_cap1e9inf',
                                     max_size=60)))  # fmt: skip
def test_any_text_as_a_config_file_is_loaded_or_refused_never_a_traceback(tmp_path, text):
    check_config(write(tmp_path, text, "rawconfig"), top_keys(text))

"""Every number in config.toml and in a campaign file has a sane range, checked when the file
is loaded, with the key named: a delay or an interval beyond any date would otherwise fail
only later (after the server accepted a message, for a step's delay)."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel

from outreach_tui.config import Settings, load_settings
from outreach_tui.core.bounds import MAX_STEP_DELAY_DAYS, Range, days_later
from outreach_tui.core.errors import ConfigError, InputError
from outreach_tui.engine.sending.campaigns import CampaignSpec, load_campaign_file


def _bounded(metadata: list[Any]) -> bool:
    if any(isinstance(m, Range) for m in metadata):
        return True
    low = any(isinstance(m, annotated_types.Ge | annotated_types.Gt) for m in metadata)
    high = any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in metadata)
    return low and high


def _unbounded_numbers(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Where a number under `annotation` (unions, lists, dicts, models looked into) has no
    lower and upper bound."""
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _unbounded_numbers(inner, [*metadata, *extra], where)
    if annotation in (int, float):
        return [] if _bounded(metadata) else [where]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _unbounded_fields(annotation, where)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _unbounded_numbers(arg, metadata, where)]
    if origin in (list, tuple, set, frozenset):
        return [
            m for arg in get_args(annotation) for m in _unbounded_numbers(arg, [], f"{where}[]")
        ]
    if origin is dict:
        return _unbounded_numbers(get_args(annotation)[1], [], f"{where}[key]")
    return []


def _unbounded_fields(model: type[BaseModel], where: str = "") -> list[str]:
    found = []
    for name, field in model.model_fields.items():
        key = f"{where}.{name}" if where else name
        found += _unbounded_numbers(field.annotation, list(field.metadata), key)
    return found


def test_every_numeric_setting_and_campaign_field_has_a_lower_and_an_upper_bound():
    assert _unbounded_fields(Settings) == []
    assert _unbounded_fields(CampaignSpec) == []


def test_the_bound_check_finds_a_number_without_one():
    class Loose(BaseModel):
        fine: Annotated[int, Range(0, 1)] = 0
        loose: list[float] = []

    assert _unbounded_fields(Loose) == ["loose[]"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scheduler]\ndispatch_seconds = inf",
         "scheduler.dispatch_seconds: must be more than 0 and at most 86400"),
        ("[scheduler]\npoll_minutes = nan", "scheduler.poll_minutes: must be more than 0"),
        ("[retry]\ngive_up_hours = 1000000000", "retry.give_up_hours: must be between 1 and 8760"),
        ("[monitor]\ncooldown_hours = [24, 1e308]",
         "monitor.cooldown_hours[1]: must be between 0 and 8760"),
        ("[monitor]\nwindow_days = 99999999999999999999",
         "monitor.window_days: must be between 1 and 365"),
        ("[replies]\nooo_default_days = -inf",
         "replies.ooo_default_days: must be between 0 and 365"),
        ("[policy]\ndaily_user_cap = -1", "policy.daily_user_cap: must be between 0 and 1000000"),
        ("[database]\nbusy_timeout_ms = 4294967296",
         "database.busy_timeout_ms: must be between 0 and 600000"),
        ("[verify]\ntimeout_seconds = 1e308",
         "verify.timeout_seconds: must be more than 0 and at most 600"),
        ("[warmup]\npercent_daily_increase = 1e300",
         "warmup.percent_daily_increase: must be between 0 and 10"),
        ("smtp_port = 70000", "smtp_port: must be between 1 and 65535"),
        ('[[mailboxes]]\nemail = "a@b.com"\nsmtp_host = "h"\nsmtp_password = "env:X"\n'
         "daily_limit = 1e9", "mailboxes[0].daily_limit: must be between 0 and 100000"),
    ],
    ids=["inf interval", "nan interval", "huge hours", "huge list item", "beyond int64",
         "negative infinity", "negative cap", "beyond C int", "huge timeout", "huge growth",
         "port", "mailbox limit"],
)  # fmt: skip
def test_a_setting_out_of_range_is_refused_at_load_naming_the_key(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_a_setting_out_of_range_in_the_environment_is_refused_naming_the_key(monkeypatch):
    monkeypatch.setenv("REPLIES__OOO_DEFAULT_DAYS", "inf")
    monkeypatch.setenv("SMTP_SEND_TIMEOUT", "1e308")
    with pytest.raises(ConfigError) as err:
        load_settings(None)
    text = str(err.value)
    assert "replies.ooo_default_days: must be between 0 and 365" in text
    assert "smtp_send_timeout: must be more than 0 and at most 600" in text


def test_the_edges_of_a_range_are_accepted(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[retry]\ngive_up_hours = 8760\n[scheduler]\ndispatch_seconds = 0.05\n")
    settings = load_settings(path)
    assert (settings.retry.give_up_hours, settings.scheduler.dispatch_seconds) == (8760, 0.05)


CAMPAIGN = 'name = "Bounds"\n[[steps]]\nsubject = "Hi"\nbody = "Hello"\n'


@pytest.mark.parametrize("delay", ["1000000000", "inf", "nan", "1e308", "-1", "-inf", "366"])
def test_a_step_delay_out_of_range_is_refused_at_load_naming_the_step(tmp_path, delay):
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN + f'[[steps]]\ndelay_days = {delay}\nbody = "Again"\n')
    with pytest.raises(InputError) as err:
        load_campaign_file(path)
    assert f"steps[2].delay_days: must be between 0 and {MAX_STEP_DELAY_DAYS}" in str(err.value)


def test_a_step_delay_of_a_year_is_accepted(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN + '[[steps]]\ndelay_days = 365\nbody = "Again"\n')
    assert load_campaign_file(path).steps[1].delay_days == 365


def test_a_campaign_with_too_many_steps_or_too_long_a_body_is_refused(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN + '[[steps]]\nbody = "More"\n' * 50)
    with pytest.raises(InputError, match="steps: List should have at most 50 items"):
        load_campaign_file(path)
    path.write_text(CAMPAIGN.replace('"Hello"', '"' + "x" * 100_001 + '"'))
    with pytest.raises(InputError, match=r"steps\[1\]\.body: String should have at most 100000"):
        load_campaign_file(path)


@pytest.mark.parametrize("days", [1e9, 1e308, float("inf"), float("nan")])
def test_a_stored_delay_beyond_any_date_is_clamped_to_a_year(days):
    at = datetime(2026, 3, 2, tzinfo=UTC)
    assert days_later(at, days) == at + timedelta(days=MAX_STEP_DELAY_DAYS)


def test_a_negative_stored_delay_counts_as_none():
    at = datetime(2026, 3, 2, tzinfo=UTC)
    assert days_later(at, -3) == at
    assert days_later(at, 1.5) == at + timedelta(days=1.5)


EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_config_documents_the_ranges_and_stays_within_them():
    text = EXAMPLE.read_text()
    assert "Every number has a range, checked at load" in text
    assert "(1 to 8760)" in text  # give_up_hours
    assert load_settings(EXAMPLE).retry.give_up_hours == 120


def test_a_hostile_key_is_named_quoted_on_one_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[policy]\n"cap\\n\\u001b[2J" = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).splitlines()[1] == '  policy."cap\\n\\u001b[2J": unknown key'
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(CAMPAIGN + '[[steps]]\nbody = "x"\n"a b" = 1\n', encoding="utf-8")
    with pytest.raises(InputError, match=r'steps\[2\]\."a b": unknown key'):
        load_campaign_file(campaign)

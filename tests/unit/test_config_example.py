"""config.example.toml stays loadable and documents every key the settings accept."""

from pathlib import Path

from outreach_tui.config import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_config_loads():
    assert load_settings(EXAMPLE).policy.daily_user_cap == 100


def test_example_config_mentions_every_key():
    text = EXAMPLE.read_text()
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        sub = getattr(annotation, "model_fields", None)
        if sub:
            assert f"[{name}]" in text, name
            for key in sub:
                assert key in text, f"{name}.{key}"
        elif name not in ("mailboxes",):
            assert name in text or name.upper() in text, name

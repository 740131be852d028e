"""Settings from config.toml and the environment; secret references."""

import pytest

from outreach_tui.config import load_settings
from outreach_tui.core.errors import ConfigError
from outreach_tui.secrets import resolve_secret, secret_getter


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in (
        "SMTP_HOST",
        "SMTP_USER",
        "SMTP_PASS",
        "SMTP_PORT",
        "SMTP_FROM_EMAIL",
        "IMAP_HOST",
        "IMAP_PASS",
        "DATABASE_URL",
        "OUTREACH_CONFIG",
        "SMTP_VERIFY_TLS",
        "POLICY__DAILY_USER_CAP",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_match_the_design():
    s = load_settings()
    assert (s.smtp_port, s.smtp_verify_tls, s.smtp_send_timeout) == (587, True, 30)
    assert (s.imap_port, s.imap_fetch_limit) == (993, 50)
    assert (s.policy.daily_user_cap, s.policy.daily_domain_cap) == (100, 20)
    assert s.policy.idempotency_window_hours == 24
    assert s.database_url.startswith("sqlite:///")


def test_only_smtp_variables_make_one_working_mailbox(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("SMTP_USER", "alex@example.com")
    monkeypatch.setenv("SMTP_PASS", "s3cret-value")
    (box,) = load_settings().all_mailboxes()
    assert box.email == "alex@example.com" and box.smtp_port == 587
    assert box.security() == "starttls"
    assert box.smtp_password == "env:SMTP_PASS"  # a reference, never the value


def test_environment_overrides_the_file(monkeypatch, tmp_path):
    path = write(tmp_path, "[policy]\ndaily_user_cap = 50\n")
    assert load_settings(path).policy.daily_user_cap == 50
    monkeypatch.setenv("POLICY__DAILY_USER_CAP", "7")
    assert load_settings(path).policy.daily_user_cap == 7


def test_config_found_through_outreach_config(monkeypatch, tmp_path):
    path = write(tmp_path, "[policy]\ndaily_domain_cap = 3\n")
    monkeypatch.setenv("OUTREACH_CONFIG", str(path))
    assert load_settings().policy.daily_domain_cap == 3


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = write(tmp_path, "[policy]\ndaily_user_capp = 50\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(path) in str(err.value) and "policy.daily_user_capp: unknown key" in str(err.value)


def test_wrong_type_is_named(tmp_path):
    path = write(tmp_path, "[policy]\ndaily_domain_cap = 'many'\n")
    with pytest.raises(ConfigError, match=r"policy\.daily_domain_cap"):
        load_settings(path)


def test_literal_password_in_config_is_refused(tmp_path):
    path = write(
        tmp_path, '[[mailboxes]]\nemail = "a@b.com"\nsmtp_host = "h"\nsmtp_password = "hunter2"\n'
    )
    with pytest.raises(ConfigError, match=r"mailboxes\[0\]\.smtp_password.*secret reference"):
        load_settings(path)


def test_broken_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "[policy\n")
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML.*line 1"):
        load_settings(path)


def test_unknown_timezone_is_refused(tmp_path):
    path = write(tmp_path, '[operator]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"operator\.timezone"):
        load_settings(path)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_env_reference_resolves_and_names_missing_variable(monkeypatch):
    monkeypatch.setenv("MY_SMTP_SECRET", "value-1")
    assert resolve_secret("env:MY_SMTP_SECRET", key="k") == "value-1"
    monkeypatch.delenv("MY_SMTP_SECRET")
    with pytest.raises(ConfigError, match=r"mailboxes\[0\]\.smtp_password.*MY_SMTP_SECRET"):
        resolve_secret("env:MY_SMTP_SECRET", key="mailboxes[0].smtp_password")


def test_file_reference_strips_the_newline_and_names_a_missing_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("value-2\n")
    assert resolve_secret(f"file:{secret}", key="k") == "value-2"
    with pytest.raises(ConfigError, match="cannot read secret file"):
        resolve_secret(f"file:{tmp_path / 'missing'}", key="k")


def test_a_secret_file_that_is_not_utf8_or_a_path_with_nul_is_named_by_key(tmp_path):
    secret = tmp_path / "pw"
    secret.write_bytes(b"first line\ncan\xe4ry-value\n")
    with pytest.raises(ConfigError) as err:
        resolve_secret(f"file:{secret}", key="mailboxes[a@b.com].smtp_password")
    assert str(err.value) == (
        f"mailboxes[a@b.com].smtp_password (config): secret file {secret} is not UTF-8 text "
        "(line 2); save it as UTF-8"
    )
    assert "value" not in str(err.value)
    with pytest.raises(ConfigError, match="cannot read secret file"):
        resolve_secret(f"file:{tmp_path}/a\0b", key="k")


def test_a_secret_getter_raises_only_config_errors(monkeypatch):
    import keyring

    def broken_backend(service, user):
        raise RuntimeError("D-Bus said no")

    monkeypatch.setattr(keyring, "get_password", broken_backend)
    getter = secret_getter("keyring:outreach/alex", key="SMTP password of a@b.com")
    with pytest.raises(ConfigError, match=r"SMTP password of a@b\.com .*keyring unavailable"):
        getter()


def test_keyring_reference_without_an_entry_is_a_clear_error(monkeypatch):
    # No keyring backend runs on this headless machine; the fail backend is what an
    # operator on a server gets, so the message must still be clear.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(ConfigError, match="keyring"):
        resolve_secret("keyring:outreach/alex", key="k")

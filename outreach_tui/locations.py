"""Where files live by default (platformdirs), so an operator never has to say."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "outreach-tui"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_config_file() -> Path:
    return config_dir() / "config.toml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME))


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'outreach.db'}"

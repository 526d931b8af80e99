"""Where Parley keeps things: the data, history and config folders of the platform (XDG on
Linux), each overridable by an environment variable (tests, portable use, another disk).
Imports nothing of Parley's, so every layer may ask."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from app import APP_NAME


def data_dir() -> Path:
    """Where models and other large files live; PARLEY_DATA_DIR overrides (tests, portable use)."""
    override = os.environ.get("PARLEY_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def history_dir() -> Path:
    """Where conversations and their attachments are kept: the data directory, or
    PARLEY_HISTORY_DIR (tests, or keeping them on another disk)."""
    override = os.environ.get("PARLEY_HISTORY_DIR")
    return Path(override) if override else data_dir()


def config_dir() -> Path:
    override = os.environ.get("PARLEY_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))

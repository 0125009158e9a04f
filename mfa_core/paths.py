"""Default locations of the configuration file and the store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import platformdirs

APP_NAME: Final = "mfa-core"
CONFIG_ENV: Final = "MFA_CORE_CONFIG"
STORE_ENV: Final = "MFA_CORE_STORE"
STORE_FILE_NAME: Final = "store.sqlite3"
CONFIG_FILE_NAME: Final = "config.yaml"


def config_dir() -> Path:
    """Return the platform's configuration directory for mfa-core."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """Return ``MFA_CORE_CONFIG``, else ``config.yaml`` in the config directory if it exists."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    candidate = config_dir() / CONFIG_FILE_NAME
    return candidate if candidate.exists() else None


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``MFA_CORE_STORE``, else the store file in the config directory."""
    env = os.environ if environ is None else environ
    if env.get(STORE_ENV):
        return Path(env[STORE_ENV])
    return config_dir() / STORE_FILE_NAME

"""Opening the host for one command, and checking the ids the command line names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mfa_core.host import ModuleInfo
from mfa_core.paths import default_store_path
from mfa_core.store.base import Store
from mfa_core.sync import SyncMfaHost

from .errors import CommandError
from .exit_codes import ExitStatus


@contextmanager
def open_host(config: str | None, *, store: Store | None = None) -> Iterator[SyncMfaHost]:
    """Build the host from ``config`` (``None``: the default configuration) and close it after.

    ``store`` replaces the configured store, for commands that read no user data.
    Raises ``ConfigError`` and ``StoreError`` as ``SyncMfaHost.from_config`` does.
    """
    host = SyncMfaHost.from_config(config, store=store)
    try:
        yield host
    finally:
        host.close()


def store_path(host: SyncMfaHost) -> Path:
    """Return the path of the SQLite store the host's configuration names."""
    return host.host.settings.store_path or default_store_path()


def require_module(host: SyncMfaHost, module_id: str) -> ModuleInfo:
    """Return the configured module ``module_id``; raise ``CommandError`` listing the ids."""
    modules = host.modules()
    for module in modules:
        if module.id == module_id:
            return module

    configured = ", ".join(module.id for module in modules) or "none"
    raise CommandError(
        f"unknown module id {module_id!r}; configured modules: {configured}. "
        "Use one of these ids, or add the module to the configuration.",
        ExitStatus.USAGE,
    )


def require_user_id(user_id: str) -> str:
    """Return ``user_id``; raise ``CommandError`` when it is empty."""
    if not user_id:
        raise CommandError("the user id must not be empty", ExitStatus.USAGE)
    return user_id

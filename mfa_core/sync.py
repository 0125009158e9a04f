"""A blocking facade over ``MfaHost`` for WSGI applications and command-line tools."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from .build import ConfigSource
from .clock import Clock
from .errors import ConfigProblem
from .host import MfaHost, ModuleInfo
from .plugins import PluginInfo
from .results import FlowResult, LoginResult
from .store.base import Store

_T = TypeVar("_T")


class _Loops(threading.local):
    loop: asyncio.AbstractEventLoop | None = None


_LOOPS = _Loops()


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine on this thread's private event loop.

    Raises ``RuntimeError`` when called from a running event loop: async code
    uses ``MfaHost`` directly.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError("SyncMfaHost cannot run inside an event loop; use MfaHost there")
    if _LOOPS.loop is None or _LOOPS.loop.is_closed():
        _LOOPS.loop = asyncio.new_event_loop()
    return _LOOPS.loop.run_until_complete(coroutine)


class SyncMfaHost:
    """The ``MfaHost`` calls as plain blocking methods, safe to use from several threads."""

    def __init__(self, host: MfaHost) -> None:
        self.host = host

    @classmethod
    def from_config(
        cls,
        config: ConfigSource = None,
        *,
        plugins: Iterable[object] = (),
        store: Store | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> SyncMfaHost:
        """Build the host as ``MfaHost.create`` does."""
        host = run(
            MfaHost.create(config, plugins=plugins, store=store, clock=clock, environ=environ)
        )
        return cls(host)

    @staticmethod
    def check_config(
        config: ConfigSource = None,
        *,
        plugins: Iterable[object] = (),
        environ: Mapping[str, str] | None = None,
    ) -> list[ConfigProblem]:
        """Return every problem of a configuration."""
        return run(MfaHost.check_config(config, plugins=plugins, environ=environ))

    def modules(self) -> list[ModuleInfo]:
        """Return the configured modules."""
        return self.host.modules()

    def plugins(self, *, all_installed: bool = False) -> list[PluginInfo]:
        """Return plugins as ``MfaHost.plugins`` does."""
        return self.host.plugins(all_installed=all_installed)

    def installed_plugins(self) -> list[PluginInfo]:
        """Return every installed plugin without importing unused ones."""
        return self.host.installed_plugins()

    def user_modules(self, user_id: str) -> list[ModuleInfo]:
        """Return the modules the user is enrolled in."""
        return run(self.host.user_modules(user_id))

    def is_user_setup(self, module_id: str, user_id: str) -> bool:
        """Return whether the user is enrolled in the module."""
        return run(self.host.is_user_setup(module_id, user_id))

    def start_setup(
        self, module_id: str, user_id: str, *, display_name: str | None = None
    ) -> FlowResult:
        """Start a setup flow."""
        return run(self.host.start_setup(module_id, user_id, display_name=display_name))

    def continue_setup(
        self, flow_id: str, user_id: str, user_input: Mapping[str, Any]
    ) -> FlowResult:
        """Submit a setup step's form."""
        return run(self.host.continue_setup(flow_id, user_id, user_input))

    def abort_setup(self, flow_id: str, user_id: str) -> bool:
        """End the user's unfinished setup flow now."""
        return run(self.host.abort_setup(flow_id, user_id))

    def setup_user(self, module_id: str, user_id: str, setup_data: Mapping[str, Any]) -> None:
        """Enrol the user directly."""
        run(self.host.setup_user(module_id, user_id, setup_data))

    def depose_user(self, module_id: str, user_id: str) -> None:
        """Remove the user's enrolment."""
        run(self.host.depose_user(module_id, user_id))

    def unlock(self, module_id: str, user_id: str) -> None:
        """Clear the user's back-off and lockout."""
        run(self.host.unlock(module_id, user_id))

    def begin_login(self, user_id: str) -> LoginResult:
        """Begin the login MFA step."""
        return run(self.host.begin_login(user_id))

    def continue_login(
        self, session_id: str, user_id: str, user_input: Mapping[str, Any]
    ) -> LoginResult:
        """Submit the module choice or the code."""
        return run(self.host.continue_login(session_id, user_id, user_input))

    def abort_login(self, session_id: str, user_id: str) -> bool:
        """End the user's validation session now."""
        return run(self.host.abort_login(session_id, user_id))

    def purge_expired(self) -> int:
        """Delete expired sessions and flows."""
        return run(self.host.purge_expired())

    def close(self) -> None:
        """Close the store if the host opened it."""
        run(self.host.close())

    def __enter__(self) -> SyncMfaHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

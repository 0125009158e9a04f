"""The host API: one object a host application builds from its configuration."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .build import (
    ConfigSource,
    build_modules,
    check_modules,
    load_settings,
    make_registry,
    raise_for,
)
from .clock import Clock, system_clock
from .config import Settings
from .configured import ConfiguredModule
from .errors import ConfigError, ConfigProblem, UnknownModuleError
from .limiter import Limiter
from .login import LoginMfaStep
from .paths import default_store_path
from .plugins import PluginInfo, PluginRegistry
from .results import FlowResult, LoginResult
from .setup import SetupFlows
from .store.base import Store
from .store.memory import MemoryStore
from .store.sqlite import SQLiteStore

_LOGGER = logging.getLogger(__name__)

PURGE_INTERVAL = 60.0


@dataclass(frozen=True)
class ModuleInfo:
    """A configured module as hosts list it."""

    id: str
    type: str
    name: str


class MfaHost:
    """Multi-factor authentication for one host application.

    Build it with ``await MfaHost.create(config)``. ``config`` is a YAML or TOML
    path or a mapping. ``None`` means ``MFA_CORE_CONFIG``, then ``config.yaml`` in
    the platform config directory, then the embedded default (one ``totp`` module).
    Every method is a coroutine; ``SyncMfaHost`` offers the same calls without one.
    """

    def __init__(
        self,
        settings: Settings,
        modules: dict[str, ConfiguredModule],
        store: Store,
        registry: PluginRegistry,
        clock: Clock,
        *,
        owns_store: bool,
    ) -> None:
        self.settings = settings
        self.store = store
        self._modules = modules
        self._registry = registry
        self._clock = clock
        self._owns_store = owns_store
        self._next_purge = 0.0
        self.limiter = Limiter(store, settings.limiter, clock)
        self._setup = SetupFlows(modules, store, self.limiter, clock, settings.flow_lifetime)
        self._login = LoginMfaStep(modules, store, self.limiter, clock, settings.session_lifetime)

    @classmethod
    async def create(
        cls,
        config: ConfigSource = None,
        *,
        plugins: Iterable[object] = (),
        store: Store | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> MfaHost:
        """Load the configuration and plugins, open the store and build every module.

        ``plugins`` are plugin objects registered in process, next to the ones
        found through entry points. Raises ``ConfigError`` listing every problem,
        and ``StoreError`` when the store cannot be opened.
        """
        env = os.environ if environ is None else environ
        clock = clock or system_clock
        settings, problems = load_settings(config, env)
        registry = make_registry(settings, plugins, env)
        ready, module_problems = check_modules(settings, registry)
        raise_for(problems + module_problems)

        owns_store = store is None
        if store is None:
            path = settings.store_path or default_store_path(env)
            store = SQLiteStore(path, create=settings.store_create)
        modules, build_problems = await build_modules(settings, registry, ready, store, clock)
        if build_problems:
            if owns_store:
                await store.close()
            raise ConfigError(build_problems)
        return cls(settings, modules, store, registry, clock, owns_store=owns_store)

    @staticmethod
    async def check_config(
        config: ConfigSource = None,
        *,
        plugins: Iterable[object] = (),
        environ: Mapping[str, str] | None = None,
    ) -> list[ConfigProblem]:
        """Return every problem of a configuration, building modules on a throwaway store."""
        env = os.environ if environ is None else environ
        try:
            settings, problems = load_settings(config, env)
        except ConfigError as error:
            return list(error.problems)
        registry = make_registry(settings, plugins, env)
        ready, module_problems = check_modules(settings, registry)
        store = MemoryStore()
        _, build_problems = await build_modules(settings, registry, ready, store, system_clock)
        await store.close()
        return problems + module_problems + build_problems

    def modules(self) -> list[ModuleInfo]:
        """Return the configured modules in configuration order."""
        return [ModuleInfo(m.id, m.type.name, m.name) for m in self._modules.values()]

    def plugins(self, *, all_installed: bool = False) -> list[PluginInfo]:
        """Return plugins with distribution, version, module types and any load error.

        By default only the plugins loaded for the configuration are listed;
        ``all_installed=True`` imports every installed plugin first.
        """
        if all_installed:
            self._registry.load_all()
        return self._registry.plugins()

    def installed_plugins(self) -> list[PluginInfo]:
        """Return every installed plugin without importing the ones the configuration does not use.

        Plugins not imported have ``loaded=False`` and list the module types their entry
        points announce; ``plugins(all_installed=True)`` imports them to report errors.
        """
        return self._registry.installed()

    async def user_modules(self, user_id: str) -> list[ModuleInfo]:
        """Return the modules the user is enrolled in."""
        enrolled = await self._login.enrolled_modules(_check_user_id(user_id))
        return [ModuleInfo(m.id, m.type.name, m.name) for m in enrolled]

    async def is_user_setup(self, module_id: str, user_id: str) -> bool:
        """Return whether the user is enrolled in the module."""
        return await self._module(module_id).is_user_setup(_check_user_id(user_id))

    async def start_setup(
        self, module_id: str, user_id: str, *, display_name: str | None = None
    ) -> FlowResult:
        """Start the setup flow that enrols the user in the module.

        ``display_name`` is the account label authenticator apps show; modules
        fall back to the user id.
        """
        await self._purge_if_due()
        context = {"display_name": display_name} if display_name else {}
        return await self._setup.start(module_id, _check_user_id(user_id), context)

    async def continue_setup(
        self, flow_id: str, user_id: str, user_input: Mapping[str, Any]
    ) -> FlowResult:
        """Submit the form of the flow's current step."""
        return await self._setup.continue_(flow_id, _check_user_id(user_id), dict(user_input))

    async def abort_setup(self, flow_id: str, user_id: str) -> bool:
        """End the user's unfinished setup flow now; return whether there was one."""
        return await self._setup.abort(flow_id, _check_user_id(user_id))

    async def setup_user(self, module_id: str, user_id: str, setup_data: Mapping[str, Any]) -> None:
        """Enrol the user directly, without a flow (imports and migrations)."""
        module = self._module(module_id)
        user_id = _check_user_id(user_id)
        await module.setup_user(user_id, dict(setup_data))
        await self.limiter.reset(user_id, module_id)
        _LOGGER.info("user %r enrolled in module %r without a setup flow", user_id, module_id)

    async def depose_user(self, module_id: str, user_id: str) -> None:
        """Remove the user's enrolment in the module and its limiter state."""
        module = self._module(module_id)
        user_id = _check_user_id(user_id)
        await module.depose_user(user_id)
        await self.limiter.reset(user_id, module_id)

    async def unlock(self, module_id: str, user_id: str) -> None:
        """Clear the user's back-off and lockout in the module."""
        self._module(module_id)
        await self.limiter.reset(_check_user_id(user_id), module_id)

    async def begin_login(self, user_id: str) -> LoginResult:
        """Begin the login MFA step for a user who passed the host's primary authentication."""
        await self._purge_if_due()
        return await self._login.begin(_check_user_id(user_id))

    async def continue_login(
        self, session_id: str, user_id: str, user_input: Mapping[str, Any]
    ) -> LoginResult:
        """Submit the module choice or the code; ``user_id`` must own the session."""
        return await self._login.continue_(session_id, _check_user_id(user_id), dict(user_input))

    async def abort_login(self, session_id: str, user_id: str) -> bool:
        """End the user's validation session now, for a cancelled login."""
        return await self._login.abort(session_id, _check_user_id(user_id))

    async def purge_expired(self) -> int:
        """Delete expired validation sessions and setup flows; return how many."""
        return await self.store.purge_expired(self._clock())

    async def close(self) -> None:
        """Close the store if the host opened it."""
        if self._owns_store:
            await self.store.close()

    async def __aenter__(self) -> MfaHost:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _module(self, module_id: str) -> ConfiguredModule:
        module = self._modules.get(module_id)
        if module is None:
            raise UnknownModuleError(module_id, list(self._modules))
        return module

    async def _purge_if_due(self) -> None:
        now = self._clock()
        if now >= self._next_purge:
            self._next_purge = now + PURGE_INTERVAL
            await self.store.purge_expired(now)


def _check_user_id(user_id: object) -> str:
    if not isinstance(user_id, str):
        raise ValueError(f"user_id must be a string, got {type(user_id).__name__}")
    if not user_id:
        raise ValueError("user_id must not be empty; pass the id of the authenticated user")
    return user_id

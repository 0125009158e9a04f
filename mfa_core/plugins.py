"""Plugin discovery and loading: entry points, in-process plugins, allow and block lists."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Final

import pluggy
import voluptuous as vol

from .configured import check_module_class
from .errors import PluginError
from .hookspecs import MODULE_HOOKS, PROJECT_NAME, ModuleSpec, PluginSpec
from .module import ModuleType

_LOGGER = logging.getLogger(__name__)

# Entry point name: the module type; value: the plugin module that registers it.
MODULE_TYPES_GROUP: Final = "mfa_core.module_types"
# Plugins loaded on every start (wrappers for audit, metrics); the entry point names them
# in listings only. A plugin's name is always the module of its entry point's value.
PLUGINS_GROUP: Final = "mfa_core.plugins"

ALLOW_ENV: Final = "MFA_CORE_PLUGINS"
BLOCK_ENV: Final = "MFA_CORE_BLOCK_PLUGINS"

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class PluginInfo:
    """One plugin: where it comes from, what it registered, and why it failed if it did."""

    name: str
    distribution: str | None
    version: str | None
    module_types: list[str] = field(default_factory=list)
    error: str | None = None
    blocked: bool = False
    loaded: bool = True
    """``False`` when the plugin was not imported, or failed, so none of its hooks run."""

    def failure(self, reason: str) -> PluginError:
        """Return a ``PluginError`` for this plugin."""
        return PluginError(self.name, self.distribution, self.version, reason)


def normalize_name(name: str) -> str:
    """Return a plugin or distribution name in the form allow and block lists compare."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_name_list(value: str | None) -> list[str] | None:
    """Split a comma-separated environment variable; ``None`` when it is unset or empty."""
    if value is None or not value.strip():
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


class PluginRegistry:
    """Finds plugins, loads the ones needed and collects the module types they register.

    A plugin whose types are not configured is not imported, unless ``load_all``
    is called for a full check. A plugin that fails to import or register is
    recorded with its error, and the others still load.
    """

    def __init__(
        self,
        *,
        allow: Collection[str] | None = None,
        block: Collection[str] = (),
        in_process: Iterable[object] = (),
    ) -> None:
        self._allow = None if allow is None else {normalize_name(name) for name in allow}
        self._block = {normalize_name(name) for name in block}
        self._manager = pluggy.PluginManager(PROJECT_NAME)
        self._manager.add_hookspecs(PluginSpec)
        self._manager.add_hookspecs(ModuleSpec)
        self._plugins: dict[str, PluginInfo] = {}
        self._types: dict[str, ModuleType] = {}
        self._type_origin: dict[str, PluginInfo] = {}
        self._type_entry_points: dict[str, list[EntryPoint]] = {}
        self._wrappers: list[tuple[str, object]] = []
        self._loaded_cross_cutting = False

        # One scan of the installed distributions serves every later lookup.
        installed = entry_points()
        self._entry_points = {
            group: list(installed.select(group=group))
            for group in (MODULE_TYPES_GROUP, PLUGINS_GROUP)
        }
        for entry_point in self._entry_points[MODULE_TYPES_GROUP]:
            self._type_entry_points.setdefault(entry_point.name, []).append(entry_point)
        for index, plugin in enumerate(in_process):
            name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}#{index}"
            self._register(plugin, PluginInfo(name=name, distribution=None, version=None))

    def installed_types(self) -> list[str]:
        """Return every module type that is registered or announced by an entry point."""
        return sorted(set(self._types) | set(self._type_entry_points))

    def module_type(self, name: str) -> ModuleType | None:
        """Return the registered module type ``name``, or ``None``."""
        return self._types.get(name)

    def origin(self, type_name: str) -> PluginInfo | None:
        """Return the plugin that registered a type, or that failed while announcing it."""
        if type_name in self._type_origin:
            return self._type_origin[type_name]
        for entry_point in self._type_entry_points.get(type_name, []):
            info = self._plugins.get(entry_point.module)
            if info is not None:
                return info
        return None

    def wrappers(self) -> list[tuple[str, object]]:
        """Return the plugins that wrap module hooks, with their names."""
        return list(self._wrappers)

    def plugins(self) -> list[PluginInfo]:
        """Return every plugin seen so far, loaded, failed or blocked, sorted by name."""
        return sorted(self._plugins.values(), key=lambda info: info.name)

    def installed(self) -> list[PluginInfo]:
        """Return every plugin, without importing the ones not loaded yet, sorted by name.

        A plugin that was not imported is listed from its entry points' metadata:
        its module types are the names it announces, and ``loaded`` is ``False``.
        """
        listed = {info.name: info for info in self._plugins.values()}
        for group in (MODULE_TYPES_GROUP, PLUGINS_GROUP):
            for entry_point in self._entry_points[group]:
                name = entry_point.module
                if name in listed and listed[name].loaded:
                    continue
                info = listed.setdefault(
                    name,
                    PluginInfo(
                        name=name,
                        distribution=entry_point.dist.name if entry_point.dist else None,
                        version=entry_point.dist.version if entry_point.dist else None,
                        loaded=False,
                    ),
                )
                info.blocked = not self._is_allowed(info)
                if group == MODULE_TYPES_GROUP and entry_point.name not in info.module_types:
                    info.module_types.append(entry_point.name)
        return sorted(listed.values(), key=lambda info: info.name)

    def load_cross_cutting(self) -> None:
        """Load the plugins of the ``mfa_core.plugins`` group, once."""
        if self._loaded_cross_cutting:
            return
        self._loaded_cross_cutting = True
        for entry_point in self._entry_points[PLUGINS_GROUP]:
            self._load_entry_point(entry_point)

    def load_types(self, type_names: Iterable[str]) -> None:
        """Import the plugins that announce the given module types."""
        for type_name in type_names:
            if type_name in self._types:
                continue
            for entry_point in self._type_entry_points.get(type_name, []):
                self._load_entry_point(entry_point)
                if type_name not in self._types and entry_point.module in self._plugins:
                    info = self._plugins[entry_point.module]
                    if info.error is None and not info.blocked:
                        info.error = (
                            f"its entry point announces module type {type_name!r}, but it "
                            f"registered {', '.join(info.module_types) or 'none'}"
                        )

    def load_all(self) -> None:
        """Load every installed plugin, for listings and configuration checks."""
        self.load_cross_cutting()
        self.load_types(list(self._type_entry_points))

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        name = entry_point.module
        if name in self._plugins:
            return
        distribution = entry_point.dist.name if entry_point.dist else None
        version = entry_point.dist.version if entry_point.dist else None
        info = PluginInfo(name=name, distribution=distribution, version=version)
        self._plugins[name] = info

        if not self._is_allowed(info):
            info.blocked = True
            info.loaded = False
            _LOGGER.info(
                "plugin %s (%s) skipped: not allowed by the plugin lists", name, distribution
            )
            return

        try:
            plugin = entry_point.load()
        except Exception as error:  # noqa: BLE001 - one broken plugin must not stop the others
            self._fail(info, f"import failed: {type(error).__name__}: {error}")
            return
        self._register(plugin, info)

    def _is_allowed(self, info: PluginInfo) -> bool:
        names = {normalize_name(info.name)}
        if info.distribution:
            names.add(normalize_name(info.distribution))
        if names & self._block:
            return False
        return self._allow is None or bool(names & self._allow)

    def _register(self, plugin: object, info: PluginInfo) -> None:
        self._plugins[info.name] = info
        try:
            self._manager.register(plugin, name=info.name)
        except (pluggy.PluginValidationError, ValueError) as error:
            self._fail(info, f"invalid hook implementation: {error}")
            return

        problem = self._check_hooks(plugin, info)
        if problem is not None:
            self._manager.unregister(plugin)
            self._fail(info, problem)
            return

        registered: list[ModuleType] = []
        register_types = getattr(plugin, "mfa_register_module_types", None)
        if register_types is not None:
            try:
                register_types(register=registered.append)
                for module_type in registered:
                    self._check_module_type(module_type)
            except Exception as error:  # noqa: BLE001 - reported with the plugin's name
                self._manager.unregister(plugin)
                self._fail(info, f"registering module types failed: {error}")
                return

        for module_type in registered:
            self._types[module_type.name] = module_type
            self._type_origin[module_type.name] = info
            info.module_types.append(module_type.name)
        if any(hasattr(plugin, hook) for hook in MODULE_HOOKS):
            self._wrappers.append((info.name, plugin))

    def _check_hooks(self, plugin: object, info: PluginInfo) -> str | None:
        # pluggy ignores unmarked functions and defers unknown names: both are errors here.
        implemented = {
            hookimpl.function.__name__
            for caller in self._manager.get_hookcallers(plugin) or []
            for hookimpl in caller.get_hookimpls()
            if hookimpl.plugin is plugin
        }
        for caller in self._manager.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                return f"unknown hook {caller.name!r}; known hooks: {_known_hooks()}"
            for hookimpl in caller.get_hookimpls():
                is_wrapper = hookimpl.wrapper or hookimpl.hookwrapper
                if hookimpl.plugin is plugin and caller.name in MODULE_HOOKS and not is_wrapper:
                    return (
                        f"{caller.name} must be a wrapper (@hookimpl(wrapper=True)); module "
                        "hooks are implemented by module classes registered as module types"
                    )
        for attribute in dir(plugin):
            unmarked = attribute.startswith("mfa_") and attribute not in implemented
            if unmarked and callable(getattr(plugin, attribute, None)):
                return f"{attribute} is not marked with @hookimpl or is not a known hook"
        return None

    def _check_module_type(self, module_type: ModuleType) -> None:
        if not isinstance(module_type, ModuleType):
            raise TypeError(f"register() expects a ModuleType, got {type(module_type).__name__}")
        if not _TYPE_NAME.match(module_type.name):
            raise ValueError(
                f"module type name {module_type.name!r} must match {_TYPE_NAME.pattern}"
            )
        if module_type.name in self._types:
            owner = self._type_origin[module_type.name].name
            raise ValueError(f"module type {module_type.name!r} is already registered by {owner}")
        if not callable(module_type.factory):
            raise TypeError(f"module type {module_type.name!r}: factory is not callable")
        if not 1 <= module_type.max_retries <= 10:
            raise ValueError(f"module type {module_type.name!r}: max_retries must be 1 to 10")
        vol.Schema(dict(module_type.config_schema))
        if isinstance(module_type.factory, type):
            check_module_class(module_type.factory)

    def _fail(self, info: PluginInfo, reason: str) -> None:
        info.error = reason
        info.loaded = False
        _LOGGER.error("%s", info.failure(reason))


def _known_hooks() -> str:
    names = [name for name in vars(PluginSpec) if name.startswith("mfa_")]
    return ", ".join(sorted(names + list(MODULE_HOOKS)))

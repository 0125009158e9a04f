"""Turning a configuration into configured modules: plugin loading and every check."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from typing import Any

from .clock import Clock
from .config import (
    Settings,
    check_module_options,
    load_raw,
    parse_settings,
    unknown_type_problem,
)
from .configured import ConfiguredModule, check_setup_schemas
from .errors import ConfigError, ConfigProblem, ModuleContractError
from .failures import describe_exception
from .forms import serialize_schema
from .module import ModuleContext, ModuleData, ModuleType
from .paths import default_config_path
from .plugins import ALLOW_ENV, BLOCK_ENV, PluginRegistry, parse_name_list
from .store.base import Store

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | None


def load_settings(
    config: ConfigSource, environ: Mapping[str, str]
) -> tuple[Settings, list[ConfigProblem]]:
    """Load and check the core keys of a configuration.

    ``None`` means ``MFA_CORE_CONFIG``, then the config file, then the embedded default.
    """
    if config is None:
        config = default_config_path(environ)
    raw, source = load_raw(config)
    return parse_settings(raw, source)


def make_registry(
    settings: Settings, plugins: Iterable[object], environ: Mapping[str, str]
) -> PluginRegistry:
    """Create the plugin registry with the allow and block lists of the environment and config."""
    allow = parse_name_list(environ.get(ALLOW_ENV))
    if allow is None and settings.allow is not None:
        allow = list(settings.allow)
    block = (parse_name_list(environ.get(BLOCK_ENV)) or []) + list(settings.block)
    registry = PluginRegistry(allow=allow, block=block, in_process=plugins)
    registry.load_cross_cutting()
    registry.load_types({module.type for module in settings.modules})
    return registry


def check_modules(
    settings: Settings, registry: PluginRegistry
) -> tuple[list[tuple[Any, ModuleType, dict[str, Any]]], list[ConfigProblem]]:
    """Validate every module entry against its type; return the entries ready to build."""
    ready: list[tuple[Any, ModuleType, dict[str, Any]]] = []
    problems: list[ConfigProblem] = []
    for module in settings.modules:
        module_type = registry.module_type(module.type)
        if module_type is None:
            problems.append(_missing_type_problem(module, registry, settings.source))
            continue
        options, option_problems = check_module_options(module, module_type, settings.source)
        problems += option_problems
        if module.usable and not option_problems:
            ready.append((module, module_type, options))
    return ready, problems


async def build_modules(
    settings: Settings,
    registry: PluginRegistry,
    ready: list[tuple[Any, ModuleType, dict[str, Any]]],
    store: Store,
    clock: Clock,
) -> tuple[dict[str, ConfiguredModule], list[ConfigProblem]]:
    """Instantiate each module and check its code form schema converts to JSON."""
    modules: dict[str, ConfiguredModule] = {}
    problems: list[ConfigProblem] = []
    for module, module_type, options in ready:
        name = module.name or module_type.default_name
        context = ModuleContext(
            module_id=module.id,
            name=name,
            type_name=module_type.name,
            config=options,
            data=ModuleData(store, module.id),
            clock=clock,
        )
        try:
            instance = module_type.factory(context)
            if inspect.isawaitable(instance):
                instance = await instance
            configured = ConfiguredModule.build(
                module.id,
                name,
                module_type,
                module.max_retries or module_type.max_retries,
                instance,
                registry.wrappers(),
            )
            schema = await configured.input_schema()
            try:
                serialize_schema(schema)
            except ValueError as error:
                raise ModuleContractError(
                    f"its code form schema cannot be converted to JSON: {error}"
                ) from error
            check_setup_schemas(instance)
        except Exception as error:  # noqa: BLE001 - reported as a problem of this module
            reason = str(error) if isinstance(error, ModuleContractError) else None
            origin = registry.origin(module_type.name)
            failure = reason or describe_exception(error)
            plugin = origin.failure(failure) if origin else failure
            problems.append(
                ConfigProblem(
                    settings.source,
                    f"module could not be built: {plugin}",
                    module.index,
                    module.id,
                )
            )
            continue
        modules[module.id] = configured
    return modules, problems


def raise_for(problems: list[ConfigProblem]) -> None:
    """Raise ``ConfigError`` listing every problem, if there is any."""
    if problems:
        raise ConfigError(problems)


def _missing_type_problem(module: Any, registry: PluginRegistry, source: str) -> ConfigProblem:
    origin = registry.origin(module.type)
    if origin is not None and origin.blocked:
        message = (
            f"module type {module.type!r} comes from plugin {origin.name!r}, which the plugin "
            f"allow or block list excludes ({ALLOW_ENV}, {BLOCK_ENV}, plugins.allow, plugins.block)"
        )
        return ConfigProblem(source, message, module.index, module.id, ("type",))
    if origin is not None and origin.error is not None:
        message = f"module type {module.type!r} is unavailable: {origin.failure(origin.error)}"
        return ConfigProblem(source, message, module.index, module.id, ("type",))
    problem = unknown_type_problem(module, registry.installed_types(), source)
    failed = [info for info in registry.plugins() if info.error is not None]
    if not failed:
        return problem
    # A failed in-process plugin announces no module types, so the problem lists every failure.
    failures = "; ".join(str(info.failure(info.error or "")) for info in failed)
    return ConfigProblem(
        source,
        f"{problem.message}. These plugins failed to load: {failures}",
        module.index,
        module.id,
        ("type",),
    )

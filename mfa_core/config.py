"""Configuration: loading YAML or TOML files and validating them, every problem at once."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import voluptuous as vol
import yaml

from .errors import ConfigProblem
from .limiter import MAX_LOCKOUT_AFTER, LimiterPolicy
from .module import ModuleType

EMBEDDED_DEFAULT: Final[Mapping[str, Any]] = {"modules": [{"type": "totp"}]}
EMBEDDED_SOURCE: Final = "<embedded default>"

DEFAULT_SESSION_LIFETIME: Final = 300
DEFAULT_FLOW_LIFETIME: Final = 600

_MODULE_ID = vol.Match(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    msg="expected 1 to 64 of the characters A-Z a-z 0-9 _ . -, starting with a letter or digit",
)
_NAME_LIST = vol.All([vol.All(str, vol.Length(min=1))])


def _integer(value: Any) -> int:
    # bool is a subclass of int, and "lockout_after: true" is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid(f"expected an integer, got {type(value).__name__}")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise vol.Invalid(f"expected a number of seconds, got {type(value).__name__}")
    return float(value)


_SECTIONS: Final[dict[str, Any]] = {
    "store": {vol.Optional("path"): vol.All(str, vol.Length(min=1)), vol.Optional("create"): bool},
    "limits": {
        vol.Optional("free_failures"): vol.All(_integer, vol.Range(min=0, max=3)),
        vol.Optional("backoff_base"): vol.All(_seconds, vol.Range(min=1, max=3600)),
        vol.Optional("backoff_max"): vol.All(_seconds, vol.Range(min=900, max=86400)),
        vol.Optional("lockout_after"): vol.All(_integer, vol.Range(min=1, max=MAX_LOCKOUT_AFTER)),
    },
    "plugins": {vol.Optional("allow"): _NAME_LIST, vol.Optional("block"): _NAME_LIST},
}
_TOP_LEVEL: Final = vol.Schema(
    {
        vol.Optional("modules"): list,
        vol.Optional("store"): _SECTIONS["store"],
        vol.Optional("session_lifetime"): vol.All(_integer, vol.Range(min=10, max=300)),
        vol.Optional("flow_lifetime"): vol.All(_integer, vol.Range(min=60, max=3600)),
        vol.Optional("limits"): _SECTIONS["limits"],
        vol.Optional("plugins"): _SECTIONS["plugins"],
    }
)
_MODULE_CORE_KEYS: Final[dict[Any, Any]] = {
    vol.Required("type"): vol.All(str, vol.Length(min=1)),
    vol.Optional("id"): vol.All(str, _MODULE_ID),
    vol.Optional("name"): vol.All(str, vol.Length(min=1, max=100)),
    vol.Optional("max_retries"): vol.All(_integer, vol.Range(min=1)),
}


@dataclass(frozen=True)
class ModuleConfig:
    """One entry of the ``modules`` list."""

    index: int
    id: str
    type: str
    name: str | None
    max_retries: int | None
    # A module type's keys can hold secrets (insecure_example's PINs), so repr leaves them out.
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    usable: bool = True
    """``False`` when a core key has a problem: its own keys are still checked, but it is
    never built."""


@dataclass(frozen=True)
class Settings:
    """A configuration after the core keys were validated."""

    source: str
    modules: tuple[ModuleConfig, ...]
    store_path: Path | None = None
    store_create: bool = True
    session_lifetime: int = DEFAULT_SESSION_LIFETIME
    flow_lifetime: int = DEFAULT_FLOW_LIFETIME
    limiter: LimiterPolicy = field(default_factory=LimiterPolicy)
    allow: tuple[str, ...] | None = None
    block: tuple[str, ...] = ()


def load_raw(source: str | os.PathLike[str] | Mapping[str, Any] | None) -> tuple[Any, str]:
    """Read a configuration file or take a mapping; return the data and a name for messages.

    Raises ``ConfigError`` naming the file when it is missing or not valid YAML or TOML.
    """
    from .errors import ConfigError

    if source is None:
        return EMBEDDED_DEFAULT, EMBEDDED_SOURCE
    if isinstance(source, Mapping):
        return source, "<configuration mapping>"

    path = Path(source)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(name, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(name, f"cannot read the file: {error}")]) from error

    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text), name
        return yaml.safe_load(text) or {}, name
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([ConfigProblem(name, f"invalid TOML: {error}")]) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None)
        detail = f": {problem}" if problem else ""
        raise ConfigError([ConfigProblem(name, f"invalid YAML{where}{detail}")]) from error


def parse_settings(raw: Any, source: str) -> tuple[Settings, list[ConfigProblem]]:
    """Validate everything but the module types' own keys; return settings and problems."""
    problems: list[ConfigProblem] = []
    if not isinstance(raw, Mapping):
        got = type(raw).__name__
        problems.append(ConfigProblem(source, f"expected a mapping at the top level, got {got}"))
        return Settings(source=source, modules=()), problems

    try:
        data: dict[str, Any] = _TOP_LEVEL(dict(raw))
    except vol.MultipleInvalid as error:
        problems += [_problem(source, invalid, _TOP_LEVEL.schema) for invalid in error.errors]
        # Keep checking the modules, unless the error above already reported the list itself.
        entries = raw.get("modules", EMBEDDED_DEFAULT["modules"])
        data = {"modules": entries if isinstance(entries, list) else []}

    modules = _parse_modules(data.get("modules", EMBEDDED_DEFAULT["modules"]), source, problems)
    store = data.get("store", {})
    limits = data.get("limits", {})
    plugins = data.get("plugins", {})
    limiter = LimiterPolicy(**limits)
    if limiter.backoff_max < limiter.backoff_base:
        problems.append(
            ConfigProblem(
                source, "must be at least backoff_base", key_path=("limits", "backoff_max")
            )
        )

    settings = Settings(
        source=source,
        modules=tuple(modules),
        store_path=Path(store["path"]).expanduser() if "path" in store else None,
        store_create=store.get("create", True),
        session_lifetime=data.get("session_lifetime", DEFAULT_SESSION_LIFETIME),
        flow_lifetime=data.get("flow_lifetime", DEFAULT_FLOW_LIFETIME),
        limiter=limiter,
        allow=tuple(plugins["allow"]) if "allow" in plugins else None,
        block=tuple(plugins.get("block", ())),
    )
    return settings, problems


def _parse_modules(entries: Any, source: str, problems: list[ConfigProblem]) -> list[ModuleConfig]:
    if not isinstance(entries, list):
        problems.append(ConfigProblem(source, "expected a list of modules", key_path=("modules",)))
        return []

    modules: list[ModuleConfig] = []
    first_index_of: dict[str, int] = {}
    core_schema = vol.Schema(_MODULE_CORE_KEYS, extra=vol.ALLOW_EXTRA)
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            got = type(entry).__name__
            problems.append(
                ConfigProblem(source, f"expected a mapping with a 'type' key, got {got}", index)
            )
            continue

        type_name = entry.get("type") if isinstance(entry.get("type"), str) else None
        entry_id = entry.get("id") if isinstance(entry.get("id"), str) else None
        entry_id = entry_id or type_name
        usable = True
        try:
            checked = core_schema(dict(entry))
        except vol.MultipleInvalid as error:
            for invalid in error.errors:
                problems.append(_problem(source, invalid, _MODULE_CORE_KEYS, index, entry_id))
            if not type_name or entry_id is None:
                continue
            # Keep the entry so that its type's own keys are checked too.
            usable = False
            checked = {key: value for key, value in entry.items() if key not in ("id", "name")}
            checked["type"] = type_name
            retries = checked.pop("max_retries", None)
            if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 1:
                checked["max_retries"] = retries

        module_id = entry_id if not usable else checked.get("id", checked["type"])
        assert module_id is not None
        if module_id in first_index_of and usable:
            problems.append(
                ConfigProblem(
                    source,
                    f"duplicate module id {module_id!r} (first used by "
                    f"modules[{first_index_of[module_id]}]); give each module a distinct 'id'",
                    index,
                    module_id,
                    ("id",),
                )
            )
            usable = False
        first_index_of.setdefault(module_id, index)

        options = {key: value for key, value in checked.items() if key not in _core_key_names()}
        modules.append(
            ModuleConfig(
                index=index,
                id=module_id,
                type=checked["type"],
                name=checked.get("name"),
                max_retries=checked.get("max_retries"),
                options=options,
                usable=usable,
            )
        )
    return modules


def check_module_options(
    module: ModuleConfig, module_type: ModuleType, source: str
) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Validate a module entry's type-specific keys with the type's schema."""
    schema_keys = dict(module_type.config_schema)
    schema = vol.Schema(schema_keys, extra=vol.PREVENT_EXTRA)
    problems: list[ConfigProblem] = []
    options: dict[str, Any] = {}
    try:
        options = schema(dict(module.options))
    except vol.MultipleInvalid as error:
        allowed = {**_MODULE_CORE_KEYS, **schema_keys}
        for invalid in error.errors:
            problems.append(_problem(source, invalid, allowed, module.index, module.id))

    if module.max_retries is not None and module.max_retries > module_type.max_retries:
        problems.append(
            ConfigProblem(
                source,
                f"must be at most {module_type.max_retries}, the limit of type "
                f"{module_type.name!r} (configuration may only tighten it)",
                module.index,
                module.id,
                ("max_retries",),
            )
        )
    return options, problems


def unknown_type_problem(module: ModuleConfig, installed: list[str], source: str) -> ConfigProblem:
    """Return the problem for a module whose type no installed plugin provides."""
    message = (
        f"unknown module type {module.type!r}; installed types: {', '.join(installed) or 'none'}"
    )
    close = difflib.get_close_matches(module.type, installed, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return ConfigProblem(source, message, module.index, module.id, ("type",))


def _core_key_names() -> set[str]:
    return {str(key) for key in _MODULE_CORE_KEYS}


def _problem(
    source: str,
    invalid: vol.Invalid,
    schema: Mapping[Any, Any],
    index: int | None = None,
    module_id: str | None = None,
) -> ConfigProblem:
    path = tuple(part if isinstance(part, int) else str(part) for part in invalid.path)
    message = invalid.error_message
    if message == "extra keys not allowed":
        allowed = _allowed_keys(schema, path[:-1])
        message = f"unknown key; expected one of: {', '.join(allowed)}"
    elif message.startswith("required key not provided"):
        message = "required key is missing"
    return ConfigProblem(source, message, index, module_id, path)


def _allowed_keys(schema: Mapping[Any, Any], parent: tuple[Any, ...]) -> list[str]:
    level: Any = schema
    for part in parent:
        level = _structure(level)
        if isinstance(level, list) and isinstance(part, int) and len(level) == 1:
            level = level[0]
        elif isinstance(level, Mapping):
            level = next((value for key, value in level.items() if str(key) == str(part)), {})
        else:
            return []
    level = _structure(level)
    return sorted(str(key) for key in level) if isinstance(level, Mapping) else []


def _structure(validator: Any) -> Any:
    """Return the mapping or list inside a validator such as ``vol.All``, or the validator."""
    if isinstance(validator, vol.Schema):
        return _structure(validator.schema)
    declared = getattr(validator, "schema", None)
    if isinstance(declared, Mapping | list):
        return declared
    for inner in getattr(validator, "validators", ()):
        if isinstance(inner, Mapping | list | vol.Schema):
            return _structure(inner)
    return validator


def every_item(item_schema: Any) -> Any:
    """Return a validator of a list that reports the problems of every item, not the first.

    voluptuous stops a list at the first item with a problem below its top level, so
    a configuration with two bad entries would need two rounds of fixes.
    """
    compiled = vol.Schema(item_schema)

    def validate(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise vol.Invalid(f"expected a list, got {type(value).__name__}")
        items: list[Any] = []
        problems: list[vol.Invalid] = []
        for index, item in enumerate(value):
            try:
                items.append(compiled(item))
            except vol.MultipleInvalid as error:
                problems += [_prefixed(invalid, index) for invalid in error.errors]
            except vol.Invalid as error:
                problems.append(_prefixed(error, index))
        if problems:
            raise vol.MultipleInvalid(problems)
        return items

    validate.schema = [item_schema]  # type: ignore[attr-defined]
    return validate


def _prefixed(invalid: vol.Invalid, index: int) -> vol.Invalid:
    return vol.Invalid(invalid.error_message, path=[index, *invalid.path])

"""Exceptions raised by mfa_core, and the stable error and abort keys hosts translate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Keys a host can translate. Modules may add their own keys next to these.
INVALID_CODE: Final = "invalid_code"
INVALID_AUTH_MODULE: Final = "invalid_auth_module"
INVALID_INPUT: Final = "invalid_input"
LOGIN_EXPIRED: Final = "login_expired"
TOO_MANY_RETRY: Final = "too_many_retry"
TRY_AGAIN_LATER: Final = "try_again_later"
LOCKED_OUT: Final = "locked_out"
SETUP_EXPIRED: Final = "setup_expired"
UNKNOWN_ERROR: Final = "unknown_error"


class MfaError(Exception):
    """Base class of every exception mfa_core raises."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem found in a configuration, located precisely enough to fix it."""

    source: str
    message: str
    module_index: int | None = None
    module_id: str | None = None
    key_path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        where = self.source
        if self.module_index is not None:
            where += f": modules[{self.module_index}]"
            if self.module_id is not None:
                where += f" (id {self.module_id!r})"
        if self.key_path:
            where += ": key " + ".".join(str(part) for part in self.key_path)
        return f"{where}: {self.message}"


class ConfigError(MfaError):
    """The configuration has one or more problems; all of them are listed."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        count = len(problems)
        super().__init__(f"invalid configuration ({count} problem{'s' * (count != 1)}):\n{lines}")


class PluginError(MfaError):
    """A plugin failed to load, register or build a module."""

    def __init__(
        self, plugin: str, distribution: str | None, version: str | None, reason: str
    ) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        self.reason = reason
        origin = f"{distribution} {version}" if distribution else "registered in process"
        super().__init__(f"plugin {plugin!r} ({origin}) failed: {reason}")


class StoreError(MfaError):
    """The store cannot be opened, read or written."""


class UnknownModuleError(MfaError):
    """A call named a module id that is not configured."""

    def __init__(self, module_id: str, configured: list[str]) -> None:
        self.module_id = module_id
        known = ", ".join(configured) or "none"
        super().__init__(f"unknown module id {module_id!r}; configured modules: {known}")


class ModuleContractError(MfaError):
    """A module returned something the contract does not allow."""

"""mfa-core: plugin-based multi-factor authentication for host applications."""

from .errors import (
    ConfigError,
    ConfigProblem,
    MfaError,
    ModuleContractError,
    PluginError,
    StoreError,
    UnknownModuleError,
)
from .flow import SetupFlow
from .hookspecs import hookimpl, hookspec
from .host import MfaHost, ModuleInfo
from .module import MfaModule, ModuleContext, ModuleData, ModuleType
from .plugins import PluginInfo
from .results import FlowResult, LoginResult
from .store.base import Store
from .sync import SyncMfaHost
from .wrappers import observe

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "FlowResult",
    "LoginResult",
    "MfaError",
    "MfaHost",
    "MfaModule",
    "ModuleContext",
    "ModuleContractError",
    "ModuleData",
    "ModuleInfo",
    "ModuleType",
    "PluginError",
    "PluginInfo",
    "SetupFlow",
    "Store",
    "StoreError",
    "SyncMfaHost",
    "UnknownModuleError",
    "hookimpl",
    "hookspec",
    "observe",
]

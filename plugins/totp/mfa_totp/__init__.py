"""The ``totp`` module type: time-based one-time passwords (RFC 6238) from an authenticator app."""

from __future__ import annotations

from collections.abc import Callable

from mfa_core.hookspecs import hookimpl
from mfa_core.module import ModuleType

from .config import CONFIG_SCHEMA, TotpSettings
from .module import TotpModule, TotpSetupFlow

__all__ = ["CONFIG_SCHEMA", "TotpModule", "TotpSettings", "TotpSetupFlow"]

MODULE_TYPE_NAME = "totp"
DEFAULT_NAME = "Authenticator app"
# Wrong codes one validation session accepts before it aborts with ``too_many_retry``.
MAX_RETRIES = 5


@hookimpl
def mfa_register_module_types(register: Callable[[ModuleType], None]) -> None:
    """Register the ``totp`` module type."""
    register(
        ModuleType(
            name=MODULE_TYPE_NAME,
            factory=TotpModule,
            default_name=DEFAULT_NAME,
            config_schema=CONFIG_SCHEMA,
            max_retries=MAX_RETRIES,
        )
    )

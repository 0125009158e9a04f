"""The ``insecure_example`` module type: a PIN as second factor, for demos and tests only."""

from collections.abc import Callable

from mfa_core import ModuleType, hookimpl

from .module import CONFIG_SCHEMA, InsecureExampleModule

__all__ = ["InsecureExampleModule", "mfa_register_module_types"]


@hookimpl
def mfa_register_module_types(register: Callable[[ModuleType], None]) -> None:
    """Register the ``insecure_example`` module type."""
    register(
        ModuleType(
            name="insecure_example",
            factory=InsecureExampleModule,
            default_name="Insecure personal identification number",
            config_schema=CONFIG_SCHEMA,
        )
    )

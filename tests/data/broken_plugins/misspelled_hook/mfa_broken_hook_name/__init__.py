"""A module type whose class spells ``mfa_validate`` as ``mfa_valdate``."""

from collections.abc import Callable
from typing import Any

import voluptuous as vol

from mfa_core import ModuleContext, ModuleType, hookimpl
from mfa_core.results import FlowResult


class MisspelledHookModule:
    """Implements every required hook except ``mfa_validate``, which it misspells."""

    def __init__(self, context: ModuleContext) -> None:
        self.context = context

    def mfa_input_schema(self) -> vol.Schema:
        return vol.Schema({vol.Required("code"): str})

    def mfa_setup_step(self, step_id: str, user_input: dict[str, Any] | None) -> FlowResult:
        return FlowResult(type="abort", reason="not_supported")

    def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        pass

    def mfa_depose_user(self, user_id: str) -> None:
        pass

    def mfa_is_user_setup(self, user_id: str) -> bool:
        return True

    def mfa_valdate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        return True


@hookimpl
def mfa_register_module_types(register: Callable[[ModuleType], None]) -> None:
    """Register the ``broken_hook_name`` module type."""
    register(ModuleType("broken_hook_name", MisspelledHookModule, "Misspelled hook"))

"""A plugin that implements ``mfa_register_module_type``, missing the final ``s``."""

from collections.abc import Callable
from typing import Any

import voluptuous as vol

from mfa_core import FlowResult, MfaModule, ModuleType, SetupFlow, hookimpl


class CodeSetupFlow(SetupFlow):
    """One step: the user enters a code, which enrols them."""

    def data_schema(self, step_id: str) -> vol.Schema:
        return vol.Schema({vol.Required("code"): str})

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        if user_input is None:
            return self.show_form("init")
        return self.create_entry({})


class NeverRegisteredModule(MfaModule):
    """A valid module class that the misspelled hook below would register."""

    setup_flow_class = CodeSetupFlow

    def mfa_input_schema(self) -> vol.Schema:
        return vol.Schema({vol.Required("code"): str})

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        await self.data.put(user_id, {})

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        return False


@hookimpl
def mfa_register_module_type(register: Callable[[ModuleType], None]) -> None:
    """Register the ``broken_register`` module type, if the core ever called this hook."""
    register(ModuleType("broken_register", NeverRegisteredModule, "Misspelled registration"))

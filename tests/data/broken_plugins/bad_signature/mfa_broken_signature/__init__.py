"""A module type whose ``mfa_validate`` takes ``password``, an argument no hookspec has."""

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


class BadSignatureModule(MfaModule):
    """Asks for the password, which the core never passes to a module."""

    setup_flow_class = CodeSetupFlow

    def mfa_input_schema(self) -> vol.Schema:
        return vol.Schema({vol.Required("code"): str})

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        await self.data.put(user_id, {})

    # The extra argument breaks the hook contract on purpose.
    async def mfa_validate(  # type: ignore[override]
        self, user_id: str, user_input: dict[str, Any], password: str
    ) -> bool:
        return False


@hookimpl
def mfa_register_module_types(register: Callable[[ModuleType], None]) -> None:
    """Register the ``broken_signature`` module type."""
    register(ModuleType("broken_signature", BadSignatureModule, "Bad signature"))

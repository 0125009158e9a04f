"""A module that checks a PIN from its configuration or from its setup flow."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import voluptuous as vol

from mfa_core import FlowResult, MfaModule, ModuleContext, SetupFlow
from mfa_core.config import every_item

_LOGGER = logging.getLogger(__name__)

MAX_PIN_LENGTH = 64
_PIN = vol.All(str, vol.Length(min=1, max=MAX_PIN_LENGTH))


def _configured_pin(value: Any) -> str:
    # YAML reads pin: 1234 as an integer, which would silently lose leading zeros.
    if not isinstance(value, str):
        raise vol.Invalid(
            f"expected a string, got {type(value).__name__}: quote a PIN made of digits, "
            'for example pin: "0123"'
        )
    if not 1 <= len(value) <= MAX_PIN_LENGTH:
        raise vol.Invalid(f"expected 1 to {MAX_PIN_LENGTH} characters")
    return value


CONFIG_SCHEMA: dict[Any, Any] = {
    vol.Optional("data", default=[]): every_item(
        {
            vol.Required("user_id"): vol.All(str, vol.Length(min=1)),
            vol.Required("pin"): _configured_pin,
        }
    ),
}

PIN_SCHEMA = vol.Schema({vol.Required("pin"): _PIN})


class InsecureExampleSetupFlow(SetupFlow):
    """One step: the user chooses a PIN."""

    def data_schema(self, step_id: str) -> vol.Schema | None:
        return PIN_SCHEMA

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        """Show the PIN form, or finish with the PIN the user entered."""
        if user_input is None:
            return self.show_form("init")
        return self.create_entry({"pin": user_input["pin"]})


class InsecureExampleModule(MfaModule):
    """PINs kept in plain text: never use this module outside demos and tests."""

    setup_flow_class = InsecureExampleSetupFlow

    def __init__(self, context: ModuleContext) -> None:
        super().__init__(context)
        self._configured = {entry["user_id"]: entry["pin"] for entry in context.config["data"]}
        _LOGGER.warning(
            "module %r uses insecure_example, which stores PINs in plain text; "
            "use it for demos and tests only",
            context.module_id,
        )

    def mfa_input_schema(self) -> vol.Schema:
        return PIN_SCHEMA

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        pin = setup_data.get("pin")
        if not isinstance(pin, str) or not 1 <= len(pin) <= MAX_PIN_LENGTH:
            raise ValueError(
                f"setup data must contain 'pin', a string of 1 to {MAX_PIN_LENGTH} characters"
            )
        await self.data.put(user_id, {"pin": pin})

    async def mfa_is_user_setup(self, user_id: str) -> bool:
        return user_id in self._configured or await self.data.get(user_id) is not None

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        expected = await self._expected_pin(user_id)
        if expected is None:
            return False
        return hmac.compare_digest(user_input["pin"].encode(), expected.encode())

    async def _expected_pin(self, user_id: str) -> str | None:
        stored = await self.data.get(user_id)
        if stored is not None and isinstance(stored.get("pin"), str):
            pin: str = stored["pin"]
            return pin
        return self._configured.get(user_id)

# Specification bodies are never called, so they return nothing.
# mypy: disable-error-code="empty-body"
"""Hook specifications: the contract between mfa_core and its plugins.

Two families exist. Plugin hooks are called once per plugin when it loads.
Module hooks are the methods of one configured module instance: each module
gets its own plugin manager holding that instance and the cross-cutting
wrappers, so a call for one module id reaches exactly that module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import pluggy

if TYPE_CHECKING:
    import voluptuous as vol

    from .module import ModuleType
    from .results import FlowResult

PROJECT_NAME: Final = "mfa_core"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class PluginSpec:
    """Hooks a plugin implements, marked with ``@hookimpl``."""

    @hookspec
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        """Register the module types this plugin provides by calling ``register`` once per type."""


class ModuleSpec:
    """Methods of one configured module.

    A module class defines them as plain methods with these names. An
    implementation may leave out any argument, and any of them may be a
    coroutine function. Cross-cutting plugins wrap them with
    ``@hookimpl(wrapper=True)``, and ``module_id`` names the module that runs.
    """

    @hookspec(firstresult=True)
    def mfa_input_schema(self, module_id: str) -> vol.Schema:
        """Return the schema of the code form shown in the login MFA step."""

    @hookspec(firstresult=True)
    def mfa_setup_form_schema(
        self,
        module_id: str,
        user_id: str,
        step_id: str,
        flow_data: dict[str, Any],
        context: Mapping[str, str],
    ) -> vol.Schema | Awaitable[vol.Schema | None] | None:
        """Return the schema that validates input for setup step ``step_id``, or ``None``."""

    @hookspec(firstresult=True)
    def mfa_setup_step(
        self,
        module_id: str,
        user_id: str,
        step_id: str,
        user_input: dict[str, Any] | None,
        flow_data: dict[str, Any],
        context: Mapping[str, str],
    ) -> FlowResult | Awaitable[FlowResult]:
        """Run setup step ``step_id``; ``user_input`` is ``None`` when the form is first shown.

        ``flow_data`` is the flow's JSON-serialisable state: changes to it are
        stored, so another process can run the next step.
        """

    @hookspec(firstresult=True)
    def mfa_setup_user(
        self, module_id: str, user_id: str, setup_data: dict[str, Any]
    ) -> Awaitable[None] | None:
        """Enrol ``user_id`` with the data a finished setup flow produced."""

    @hookspec(firstresult=True)
    def mfa_depose_user(self, module_id: str, user_id: str) -> Awaitable[None] | None:
        """Remove everything this module stores for ``user_id``."""

    @hookspec(firstresult=True)
    def mfa_is_user_setup(self, module_id: str, user_id: str) -> bool | Awaitable[bool]:
        """Return whether ``user_id`` is enrolled in this module."""

    @hookspec(firstresult=True)
    def mfa_validate(
        self, module_id: str, user_id: str, user_input: dict[str, Any]
    ) -> bool | Awaitable[bool]:
        """Return whether ``user_input`` (already validated by the input schema) is a valid code."""

    @hookspec(firstresult=True)
    def mfa_initialize_login_mfa_step(self, module_id: str, user_id: str) -> Awaitable[None] | None:
        """Prepare the login MFA step once per validation session, before the code form."""


MODULE_HOOKS: Final = frozenset(name for name in vars(ModuleSpec) if name.startswith("mfa_"))
REQUIRED_MODULE_HOOKS: Final = frozenset(
    {
        "mfa_input_schema",
        "mfa_setup_step",
        "mfa_setup_user",
        "mfa_depose_user",
        "mfa_is_user_setup",
        "mfa_validate",
    }
)

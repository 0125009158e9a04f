"""The base class for a module's setup flow."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .errors import ModuleContractError
from .results import FlowResult

FIRST_STEP = "init"

if TYPE_CHECKING:
    from .module import MfaModule


class SetupFlow:
    """Steps that enrol one user in one module.

    A step is a method ``step_<step_id>(user_input)``; the first step is ``init``.
    ``user_input`` is ``None`` when the step's form is first shown, and a step
    called with ``None`` again shows the same form, so it must not replace state
    it created before. ``data_schema(step_id)`` returns the schema the core uses to
    validate input before the step runs. The flow object is rebuilt for every
    step from ``self.data``, which must stay JSON-serialisable: another process
    may run the next step.
    """

    def __init__(
        self,
        module: MfaModule,
        user_id: str,
        data: dict[str, Any],
        context: Mapping[str, str],
    ) -> None:
        self.module = module
        self.user_id = user_id
        self.data = data
        self.context = context

    def __repr__(self) -> str:
        return f"<{type(self).__name__} module={self.module.id!r}>"

    def data_schema(self, step_id: str) -> vol.Schema | None:
        """Return the form schema of ``step_id``; ``None`` accepts no fields."""
        return None

    async def run_step(self, step_id: str, user_input: dict[str, Any] | None) -> FlowResult:
        """Call ``step_<step_id>`` and await it if it is a coroutine."""
        step = getattr(self, f"step_{step_id}", None)
        if step is None or not callable(step):
            raise ModuleContractError(f"{type(self).__name__} has no step {step_id!r}")
        result = step(user_input)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, FlowResult):
            raise ModuleContractError(
                f"{type(self).__name__}.step_{step_id} returned {type(result).__name__}, "
                "expected FlowResult"
            )
        return result

    def show_form(
        self,
        step_id: str,
        *,
        errors: dict[str, str] | None = None,
        description_placeholders: dict[str, str] | None = None,
    ) -> FlowResult:
        """Return a form result for ``step_id`` with the schema ``data_schema`` gives."""
        return FlowResult(
            type="form",
            step_id=step_id,
            data_schema=self.data_schema(step_id),
            errors=dict(errors or {}),
            description_placeholders=dict(description_placeholders or {}),
        )

    def create_entry(self, data: dict[str, Any], *, title: str | None = None) -> FlowResult:
        """Finish the flow; the core passes ``data`` to the module's ``mfa_setup_user``."""
        return FlowResult(type="create_entry", data=data, title=title)

    def abort(self, reason: str) -> FlowResult:
        """End the flow without enrolling the user."""
        return FlowResult(type="abort", reason=reason)

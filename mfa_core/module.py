"""Module types, the context a module instance gets, and the base class for modules."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .clock import Clock
from .errors import ModuleContractError
from .results import FlowResult

if TYPE_CHECKING:
    from .flow import SetupFlow
    from .store.base import Store

_LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3


@dataclass(frozen=True)
class ModuleType:
    """A kind of second factor a plugin registers.

    ``factory`` builds one module instance from a ``ModuleContext``. ``config_schema``
    validates the type's own configuration keys (``type``, ``id`` and ``name`` are
    handled by the core); unknown keys are rejected. ``max_retries`` is the number of
    wrong codes one validation session accepts before it aborts with ``too_many_retry``.
    """

    name: str
    factory: Callable[[ModuleContext], object]
    default_name: str
    config_schema: Mapping[Any, Any] = field(default_factory=dict)
    max_retries: int = DEFAULT_MAX_RETRIES


class ModuleData:
    """A module's view of the store: user data and counters under its own module id only."""

    def __init__(self, store: Store, module_id: str) -> None:
        self._store = store
        self._module_id = module_id

    async def get(self, user_id: str) -> dict[str, Any] | None:
        """Return the user's data in this module, or ``None`` when not enrolled."""
        return await self._store.get_user_data(self._module_id, user_id)

    async def put(self, user_id: str, data: dict[str, Any]) -> None:
        """Insert or replace the user's data in this module."""
        await self._store.set_user_data(self._module_id, user_id, data)

    async def put_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Insert or replace many users' data in one transaction; return how many."""
        return await self._store.set_user_data_many(self._module_id, items)

    async def delete(self, user_id: str) -> bool:
        """Delete the user's data and counter; return whether the user was enrolled."""
        return await self._store.delete_user_data(self._module_id, user_id)

    async def advance_counter(self, user_id: str, value: int) -> bool:
        """Record ``value`` if it is greater than the user's last one; return whether it was."""
        return await self._store.advance_counter(self._module_id, user_id, value)


@dataclass(frozen=True)
class ModuleContext:
    """Everything a module instance receives when the host builds it.

    ``config`` is left out of ``repr`` because a module type's keys can hold secrets.
    """

    module_id: str
    name: str
    type_name: str
    config: Mapping[str, Any] = field(repr=False)
    data: ModuleData = field(repr=False)
    clock: Clock = field(repr=False)


class MfaModule:
    """Base class for module implementations.

    The core calls the ``mfa_*`` methods, which are the module hooks of
    ``mfa_core.hookspecs.ModuleSpec``; any of them may be ``async``. Subclasses
    implement ``mfa_input_schema``, ``mfa_validate`` and ``mfa_setup_user`` and set
    ``setup_flow_class``; enrolment checks and removal default to the module's
    user data.
    """

    setup_flow_class: type[SetupFlow] | None = None

    def __init__(self, context: ModuleContext) -> None:
        self.context = context

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.context.module_id!r}>"

    @property
    def id(self) -> str:
        """The module id from the configuration."""
        return self.context.module_id

    @property
    def data(self) -> ModuleData:
        """The store, limited to this module's own user data."""
        return self.context.data

    def now(self) -> float:
        """Return the current time from the host's clock."""
        return self.context.clock()

    def mfa_input_schema(self) -> vol.Schema:
        raise NotImplementedError(f"{type(self).__name__} must define mfa_input_schema")

    async def mfa_setup_form_schema(
        self, user_id: str, step_id: str, flow_data: dict[str, Any], context: Mapping[str, str]
    ) -> vol.Schema | None:
        return self._setup_flow(user_id, flow_data, context).data_schema(step_id)

    async def mfa_setup_step(
        self,
        user_id: str,
        step_id: str,
        user_input: dict[str, Any] | None,
        flow_data: dict[str, Any],
        context: Mapping[str, str],
    ) -> FlowResult:
        return await self._setup_flow(user_id, flow_data, context).run_step(step_id, user_input)

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define mfa_setup_user")

    async def mfa_depose_user(self, user_id: str) -> None:
        await self.data.delete(user_id)

    async def mfa_is_user_setup(self, user_id: str) -> bool:
        return await self.data.get(user_id) is not None

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must define mfa_validate")

    def _setup_flow(
        self, user_id: str, flow_data: dict[str, Any], context: Mapping[str, str]
    ) -> SetupFlow:
        if self.setup_flow_class is None:
            raise ModuleContractError(f"{type(self).__name__} has no setup_flow_class")
        return self.setup_flow_class(self, user_id, flow_data, context)

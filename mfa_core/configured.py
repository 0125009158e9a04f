"""A configured module: one module instance behind its own hook manager."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from types import MethodType, SimpleNamespace
from typing import Any

import pluggy
import voluptuous as vol

from .errors import ModuleContractError
from .flow import FIRST_STEP, SetupFlow
from .forms import serialize_schema
from .hookspecs import MODULE_HOOKS, PROJECT_NAME, REQUIRED_MODULE_HOOKS, ModuleSpec
from .module import MfaModule, ModuleType
from .results import FlowResult

_ABSTRACT_HOOKS = ("mfa_input_schema", "mfa_setup_user", "mfa_validate")


class ModuleHookManager(pluggy.PluginManager):
    """A plugin manager that treats the ``mfa_*`` methods of one module as hook implementations.

    Module classes need no ``@hookimpl`` marks; wrapper plugins registered next to
    the module keep their marks.
    """

    def __init__(self, module: object) -> None:
        super().__init__(PROJECT_NAME)
        self._module = module
        self.add_hookspecs(ModuleSpec)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        # Every hook name starts with mfa_; reading other attributes could run properties.
        if not name.startswith("mfa_"):
            return None
        options = super().parse_hookimpl_opts(plugin, name)
        if options is not None or plugin is not self._module or not name.startswith("mfa_"):
            return options
        if not inspect.isroutine(getattr(plugin, name, None)):
            return None
        return pluggy.HookimplOpts(
            wrapper=False,
            hookwrapper=False,
            optionalhook=False,
            tryfirst=False,
            trylast=False,
            specname=None,
        )


def check_module_class(module_class: type) -> None:
    """Raise ``ModuleContractError`` when a module class breaks the hook contract.

    Checks hook names (a misspelled ``mfa_`` method is an error), argument names
    against the hook specifications, and that the required hooks exist.
    """
    stand_in = _bound_hooks(module_class)
    label = module_class.__qualname__
    _register_module(ModuleHookManager(stand_in), stand_in, label, label)

    missing = [name for name in sorted(REQUIRED_MODULE_HOOKS) if not hasattr(module_class, name)]
    if issubclass(module_class, MfaModule):
        missing += [
            name
            for name in _ABSTRACT_HOOKS
            if getattr(module_class, name) is getattr(MfaModule, name)
        ]
        _check_setup_flow_class(module_class)
    _check_class_input_schema(module_class)
    if missing:
        raise ModuleContractError(
            f"{module_class.__qualname__} does not implement {', '.join(missing)}"
        )


def _register_module(manager: ModuleHookManager, module: object, name: str, label: str) -> None:
    """Register a module's hooks; raise ``ModuleContractError`` starting with ``label``."""
    try:
        manager.register(module, name=name)
    except (pluggy.PluginValidationError, ValueError) as error:
        raise ModuleContractError(f"{label}: {error}") from error

    for caller in manager.get_hookcallers(module) or []:
        if caller.name not in MODULE_HOOKS:
            raise ModuleContractError(
                f"{label}: {caller.name} is not a module hook; "
                f"known module hooks: {', '.join(sorted(MODULE_HOOKS))}"
            )


def _bound_hooks(module_class: type) -> SimpleNamespace:
    """Return the class's ``mfa_`` methods bound to a placeholder, as an instance has them.

    pluggy compares a hook implementation's arguments with the specification after
    removing ``self`` from bound methods, so binding checks methods the way they run.
    """
    placeholder = object()
    hooks: dict[str, object] = {}
    for name in dir(module_class):
        if not name.startswith("mfa_"):
            continue
        attribute = inspect.getattr_static(module_class, name)
        if isinstance(attribute, staticmethod):
            hooks[name] = attribute.__func__
        elif isinstance(attribute, classmethod):
            hooks[name] = MethodType(attribute.__func__, module_class)
        elif inspect.isfunction(attribute):
            hooks[name] = MethodType(attribute, placeholder)
        else:
            hooks[name] = getattr(module_class, name)
    return SimpleNamespace(**hooks)


def _check_class_input_schema(module_class: type) -> None:
    """Convert the code form schema to JSON when the class returns it without any state.

    The method runs on an instance created without ``__init__``, so registering a
    plugin has no side effects. A schema that needs the instance's state is
    checked when a module of the type is built.
    """
    method = getattr(module_class, "mfa_input_schema", None)
    if not inspect.isfunction(method):
        return
    try:
        placeholder: object = object.__new__(module_class)
        schema = method(placeholder)
    except Exception:  # noqa: BLE001 - the schema depends on state; checked at build time
        return
    if inspect.iscoroutine(schema):
        schema.close()
        return
    if not isinstance(schema, vol.Schema):
        return
    try:
        serialize_schema(schema)
    except ValueError as error:
        raise ModuleContractError(
            f"{module_class.__qualname__}: its code form schema cannot be converted to JSON: "
            f"{error}"
        ) from error


def _check_setup_flow_class(module_class: type[MfaModule]) -> None:
    # A module without a setup flow is valid: hosts enrol its users with setup_user.
    flow_class = module_class.setup_flow_class
    if flow_class is None:
        return
    if not (isinstance(flow_class, type) and issubclass(flow_class, SetupFlow)):
        raise ModuleContractError(
            f"{module_class.__qualname__}.setup_flow_class must be a SetupFlow subclass"
        )
    if not callable(getattr(flow_class, f"step_{FIRST_STEP}", None)):
        raise ModuleContractError(
            f"{flow_class.__qualname__} has no first step step_{FIRST_STEP}(user_input)"
        )


def check_setup_schemas(instance: object) -> None:
    """Raise ``ModuleContractError`` when a setup step's form schema cannot become JSON.

    Only schemas that a flow returns without any flow state can be checked here;
    the others are checked when their form is shown.
    """
    if not isinstance(instance, MfaModule) or instance.setup_flow_class is None:
        return
    flow_class = instance.setup_flow_class
    for attribute in dir(flow_class):
        if not attribute.startswith("step_"):
            continue
        step_id = attribute.removeprefix("step_")
        try:
            schema = flow_class(instance, "", {}, {}).data_schema(step_id)
        except Exception:  # noqa: BLE001, S112 - the schema depends on flow state; checked later
            continue
        if schema is None:
            continue
        try:
            serialize_schema(schema)
        except ValueError as error:
            raise ModuleContractError(
                f"the form schema of setup step {step_id!r} cannot be converted to JSON: {error}"
            ) from error


@dataclass
class ConfiguredModule:
    """One module from the configuration, ready to be called."""

    id: str
    name: str
    type: ModuleType
    max_retries: int
    instance: object
    hooks: ModuleHookManager
    _schema_json: tuple[vol.Schema, list[dict[str, Any]]] | None = None

    @classmethod
    def build(
        cls,
        module_id: str,
        name: str,
        module_type: ModuleType,
        max_retries: int,
        instance: object,
        wrappers: list[tuple[str, object]],
    ) -> ConfiguredModule:
        """Register ``instance`` and the wrapper plugins in a new hook manager."""
        manager = ModuleHookManager(instance)
        _register_module(manager, instance, f"module:{module_id}", f"module {module_id!r}")
        for wrapper_name, wrapper in wrappers:
            manager.register(wrapper, name=wrapper_name)
        for name_ in REQUIRED_MODULE_HOOKS:
            if not getattr(manager.hook, name_).get_hookimpls():
                raise ModuleContractError(f"module {module_id!r} does not implement {name_}")
        return cls(module_id, name, module_type, max_retries, instance, manager)

    async def _call(self, hook_name: str, **kwargs: Any) -> Any:
        caller = getattr(self.hooks.hook, hook_name)
        result = caller(module_id=self.id, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def input_schema(self) -> vol.Schema:
        """Return the code form schema of the login MFA step."""
        schema = await self._call("mfa_input_schema")
        if not isinstance(schema, vol.Schema):
            raise ModuleContractError(
                f"module {self.id!r}: mfa_input_schema returned {type(schema).__name__}, "
                "expected voluptuous.Schema"
            )
        return schema

    def serialize(self, schema: vol.Schema) -> list[dict[str, Any]]:
        """Return the schema as JSON, reusing the last conversion for the same schema object."""
        cached = self._schema_json
        if cached is not None and cached[0] is schema:
            return cached[1]
        converted = serialize_schema(schema)
        self._schema_json = (schema, converted)
        return converted

    async def setup_form_schema(
        self, user_id: str, step_id: str, flow_data: dict[str, Any], context: Mapping[str, str]
    ) -> vol.Schema | None:
        """Return the schema that validates input of a setup step."""
        schema = await self._call(
            "mfa_setup_form_schema",
            user_id=user_id,
            step_id=step_id,
            flow_data=flow_data,
            context=context,
        )
        if schema is not None and not isinstance(schema, vol.Schema):
            raise ModuleContractError(
                f"module {self.id!r}: mfa_setup_form_schema returned {type(schema).__name__}"
            )
        return schema

    async def setup_step(
        self,
        user_id: str,
        step_id: str,
        user_input: dict[str, Any] | None,
        flow_data: dict[str, Any],
        context: Mapping[str, str],
    ) -> FlowResult:
        """Run one setup step."""
        result = await self._call(
            "mfa_setup_step",
            user_id=user_id,
            step_id=step_id,
            user_input=user_input,
            flow_data=flow_data,
            context=context,
        )
        if not isinstance(result, FlowResult):
            raise ModuleContractError(
                f"module {self.id!r}: mfa_setup_step returned {type(result).__name__}, "
                "expected FlowResult"
            )
        return result

    async def setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        """Enrol the user with the data of a finished setup flow."""
        await self._call("mfa_setup_user", user_id=user_id, setup_data=setup_data)

    async def depose_user(self, user_id: str) -> None:
        """Remove the user's enrolment."""
        await self._call("mfa_depose_user", user_id=user_id)

    async def is_user_setup(self, user_id: str) -> bool:
        """Return whether the user is enrolled."""
        return bool(await self._call("mfa_is_user_setup", user_id=user_id))

    async def validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        """Return whether the input is a valid code; anything but ``True`` fails."""
        return await self._call("mfa_validate", user_id=user_id, user_input=user_input) is True

    async def initialize_login_mfa_step(self, user_id: str) -> None:
        """Run the module's preparation of the login MFA step."""
        await self._call("mfa_initialize_login_mfa_step", user_id=user_id)

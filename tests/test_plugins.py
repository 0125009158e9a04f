"""Tests of plugin discovery, allow and block lists, exact module dispatch and wrappers."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Generator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import pytest
import voluptuous as vol
from conftest import OTHER_USER, PIN, USER, WRONG_PIN, HostFactory, host_config, pin_module

from mfa_core import (
    ConfigError,
    FlowResult,
    MfaModule,
    ModuleContext,
    ModuleContractError,
    ModuleType,
    PluginInfo,
    SetupFlow,
    UnknownModuleError,
    hookimpl,
    observe,
)
from mfa_core.configured import check_module_class

EXCLUDED_BY_LISTS = (
    "module type 'insecure_example' comes from plugin 'mfa_insecure_example', which the plugin "
    "allow or block list excludes (MFA_CORE_PLUGINS, MFA_CORE_BLOCK_PLUGINS, plugins.allow, "
    "plugins.block)"
)

# Module type, plugin name, distribution, version and the parts of the reported reason.
BROKEN_PLUGINS = [
    pytest.param(
        "broken_import",
        "mfa_broken_import",
        "mfa-broken-import",
        "0.2.0",
        ["import failed: ImportError: mfa_broken_import needs mfa-missing-dependency"],
        id="import_error",
    ),
    pytest.param(
        "broken_signature",
        "mfa_broken_signature",
        "mfa-broken-signature",
        "0.3.0",
        ["registering module types failed: BadSignatureModule", "mfa_validate", "'password'"],
        id="bad_signature",
    ),
    pytest.param(
        "broken_hook_name",
        "mfa_broken_hook_name",
        "mfa-broken-hook-name",
        "0.3.1",
        ["registering module types failed: MisspelledHookModule: mfa_valdate is not a module hook"],
        id="misspelled_hook",
    ),
    pytest.param(
        "broken_register",
        "mfa_broken_register",
        "mfa-broken-register",
        "0.5.0",
        ["unknown hook 'mfa_register_module_type'"],
        id="misspelled_register",
    ),
]
SCHEMA_PLUGIN = (
    "broken_schema",
    "mfa_broken_schema",
    "mfa-broken-schema",
    "0.4.0",
    ["its code form schema cannot be converted to JSON: Unable to convert schema"],
)

CODE_SCHEMA = vol.Schema({vol.Required("code"): str})
RECORDING_CONFIG: dict[Any, Any] = {vol.Optional("codes", default={}): {str: str}}


class CodeSetupFlow(SetupFlow):
    """One step: the user chooses a code."""

    def data_schema(self, step_id: str) -> vol.Schema:
        return CODE_SCHEMA

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        if user_input is None:
            return self.show_form("init")
        return self.create_entry({"code": user_input["code"]})


class RecordingModule(MfaModule):
    """Accepts the codes from its configuration and records each hook call in ``log``."""

    log: ClassVar[list[tuple[str, str, str]]] = []
    setup_flow_class = CodeSetupFlow

    def mfa_input_schema(self) -> vol.Schema:
        return CODE_SCHEMA

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        self.log.append((self.id, "mfa_setup_user", user_id))
        await self.data.put(user_id, {"code": setup_data["code"]})

    async def mfa_depose_user(self, user_id: str) -> None:
        self.log.append((self.id, "mfa_depose_user", user_id))
        await self.data.delete(user_id)

    async def mfa_is_user_setup(self, user_id: str) -> bool:
        return user_id in self.context.config["codes"] or await self.data.get(user_id) is not None

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        self.log.append((self.id, "mfa_validate", user_id))
        stored = await self.data.get(user_id)
        expected = stored["code"] if stored else self.context.config["codes"].get(user_id)
        return bool(expected) and user_input["code"] == expected


class RecordingPlugin:
    """Registers the ``recording`` module type, whose modules log into ``calls``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        calls = self.calls

        class BoundRecordingModule(RecordingModule):
            log = calls

        register(ModuleType("recording", BoundRecordingModule, "Recording", RECORDING_CONFIG))


class AuditPlugin:
    """A cross-cutting plugin that wraps ``mfa_validate`` and receives only the ids."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    @hookimpl(wrapper=True)
    def mfa_validate(self, module_id: str, user_id: str) -> Generator[None, Any, Any]:
        self.records.append((module_id, user_id))
        return (yield)


class OutcomePlugin:
    """A wrapper that records each check's result through ``observe``, for async modules too."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[str, bool]] = []

    @hookimpl(wrapper=True)
    def mfa_validate(self, module_id: str) -> Generator[None, Any, Any]:
        result = yield
        return observe(result, lambda valid: self.outcomes.append((module_id, valid)))


class PlainHookPlugin:
    """Implements a module hook without ``wrapper=True``, so it would pass every code check."""

    @hookimpl
    def mfa_validate(self, module_id: str, user_id: str) -> bool:
        return True


class SyncPinModule:
    """A module with plain ``def`` hooks that keeps PINs in the instance."""

    def __init__(self, context: ModuleContext) -> None:
        self.context = context
        self.pins: dict[str, str] = {}
        self.initialized: list[str] = []

    def mfa_input_schema(self) -> vol.Schema:
        return vol.Schema({vol.Required("pin"): str})

    def mfa_setup_form_schema(self, step_id: str) -> vol.Schema:
        return vol.Schema({vol.Required("pin"): str})

    def mfa_setup_step(self, step_id: str, user_input: dict[str, Any] | None) -> FlowResult:
        if user_input is None:
            return FlowResult(type="form", step_id=step_id, data_schema=self.mfa_input_schema())
        return FlowResult(type="create_entry", data={"pin": user_input["pin"]})

    def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        self.pins[user_id] = setup_data["pin"]

    def mfa_depose_user(self, user_id: str) -> None:
        self.pins.pop(user_id, None)

    def mfa_is_user_setup(self, user_id: str) -> bool:
        return user_id in self.pins

    def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        return bool(self.pins.get(user_id) == user_input["pin"])

    def mfa_initialize_login_mfa_step(self, user_id: str) -> None:
        self.initialized.append(user_id)


class AsyncPinModule:
    """A module with ``async def`` hooks that keeps PINs in the instance."""

    def __init__(self, context: ModuleContext) -> None:
        self.context = context
        self.pins: dict[str, str] = {}
        self.initialized: list[str] = []

    async def mfa_input_schema(self) -> vol.Schema:
        return vol.Schema({vol.Required("pin"): str})

    async def mfa_setup_form_schema(self, step_id: str) -> vol.Schema:
        return vol.Schema({vol.Required("pin"): str})

    async def mfa_setup_step(self, step_id: str, user_input: dict[str, Any] | None) -> FlowResult:
        if user_input is None:
            schema = await self.mfa_input_schema()
            return FlowResult(type="form", step_id=step_id, data_schema=schema)
        return FlowResult(type="create_entry", data={"pin": user_input["pin"]})

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        self.pins[user_id] = setup_data["pin"]

    async def mfa_depose_user(self, user_id: str) -> None:
        self.pins.pop(user_id, None)

    async def mfa_is_user_setup(self, user_id: str) -> bool:
        return user_id in self.pins

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        return bool(self.pins.get(user_id) == user_input["pin"])

    async def mfa_initialize_login_mfa_step(self, user_id: str) -> None:
        self.initialized.append(user_id)


class PinModulesPlugin:
    """Registers ``sync_pin`` and ``async_pin`` and keeps every module instance it builds."""

    def __init__(self) -> None:
        self.instances: dict[str, SyncPinModule | AsyncPinModule] = {}

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        register(ModuleType("sync_pin", self._build_sync, "Plain PIN"))
        register(ModuleType("async_pin", self._build_async, "Async PIN"))

    def _build_sync(self, context: ModuleContext) -> SyncPinModule:
        module = SyncPinModule(context)
        self.instances[context.module_id] = module
        return module

    def _build_async(self, context: ModuleContext) -> AsyncPinModule:
        module = AsyncPinModule(context)
        self.instances[context.module_id] = module
        return module


def recording_config(store_path: Path) -> dict[str, Any]:
    first = {"type": "recording", "id": "first", "codes": {USER: "111111"}}
    second = {"type": "recording", "id": "second", "codes": {USER: "222222"}}
    return host_config(store_path, first, second)


def plugin_named(plugins: list[PluginInfo], name: str) -> PluginInfo:
    matches = [info for info in plugins if info.name == name]
    assert len(matches) == 1, f"plugin {name!r} listed {len(matches)} times"
    return matches[0]


def imported_broken_modules() -> list[str]:
    return sorted(name for name in sys.modules if name.startswith("mfa_broken_"))


# Discovery through entry points


def test_insecure_example_entry_point_installed() -> None:
    found = entry_points(group="mfa_core.module_types", name="insecure_example")

    assert len(found) == 1
    (entry_point,) = found
    assert entry_point.value == "mfa_insecure_example"
    assert entry_point.dist is not None
    assert entry_point.dist.name == "mfa-insecure-example"


def test_installed_plugin_listed(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    assert host.plugins() == [
        PluginInfo(
            name="mfa_insecure_example",
            distribution="mfa-insecure-example",
            version="0.1.0",
            module_types=["insecure_example"],
        )
    ]


@pytest.mark.parametrize(
    ("type_name", "plugin", "distribution", "version", "reason"), BROKEN_PLUGINS
)
@pytest.mark.usefixtures("broken_plugins")
def test_broken_plugin_listed_with_error(
    make_host: HostFactory,
    store_path: Path,
    type_name: str,
    plugin: str,
    distribution: str,
    version: str,
    reason: list[str],
) -> None:
    host = make_host(host_config(store_path, pin_module()))

    info = plugin_named(host.plugins(all_installed=True), plugin)

    assert info.distribution == distribution
    assert info.version == version
    assert info.module_types == []
    assert info.error is not None
    for part in reason:
        assert part in info.error


@pytest.mark.usefixtures("broken_plugins")
def test_unserialisable_schema_listed_with_error(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    info = plugin_named(host.plugins(all_installed=True), SCHEMA_PLUGIN[1])

    assert info.error is not None
    assert SCHEMA_PLUGIN[4][0] in info.error


@pytest.mark.parametrize(
    ("type_name", "plugin", "distribution", "version", "reason"),
    [*BROKEN_PLUGINS, pytest.param(*SCHEMA_PLUGIN, id="unserialisable_schema")],
)
@pytest.mark.usefixtures("broken_plugins")
def test_configured_broken_plugin_rejected(
    make_host: HostFactory,
    store_path: Path,
    type_name: str,
    plugin: str,
    distribution: str,
    version: str,
    reason: list[str],
) -> None:
    config = host_config(store_path, pin_module(), {"type": type_name, "id": "second"})

    with pytest.raises(ConfigError) as caught:
        make_host(config)

    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.source == "<configuration mapping>"
    assert problem.module_index == 1
    assert problem.module_id == "second"
    assert f"plugin {plugin!r} ({distribution} {version}) failed: " in problem.message
    for part in reason:
        assert part in problem.message


@pytest.mark.usefixtures("broken_plugins")
def test_host_works_beside_broken_plugins(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module(users={USER: PIN})))

    form = host.begin_login(USER)
    assert form.session_id is not None
    result = host.continue_login(form.session_id, USER, {"pin": PIN})

    assert result.type == "success"
    listed = host.plugins(all_installed=True)
    assert plugin_named(listed, "mfa_insecure_example").error is None
    failed = sorted(info.name for info in listed if info.error is not None)
    assert failed == [
        "mfa_broken_hook_name",
        "mfa_broken_import",
        "mfa_broken_register",
        "mfa_broken_schema",
        "mfa_broken_signature",
    ]


@pytest.mark.usefixtures("broken_plugins")
def test_unconfigured_plugins_not_imported(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    assert [info.name for info in host.plugins()] == ["mfa_insecure_example"]
    assert imported_broken_modules() == []


@pytest.mark.usefixtures("broken_plugins")
def test_blocked_plugins_not_imported(make_host: HostFactory, store_path: Path) -> None:
    environ = {"MFA_CORE_BLOCK_PLUGINS": "mfa-broken-signature, mfa_broken_schema"}
    host = make_host(host_config(store_path, pin_module()), environ=environ)

    listed = host.plugins(all_installed=True)

    for name in ("mfa_broken_signature", "mfa_broken_schema"):
        info = plugin_named(listed, name)
        assert info.blocked is True
        assert info.error is None
        assert info.module_types == []
    assert "mfa_broken_signature" not in sys.modules
    assert "mfa_broken_schema" not in sys.modules


# Allow and block lists


def test_env_allow_list_blocks_others(make_host: HostFactory, store_path: Path) -> None:
    environ = {"MFA_CORE_PLUGINS": "mfa-insecure-example"}
    host = make_host(host_config(store_path, pin_module()), environ=environ)

    listed = host.plugins(all_installed=True)

    assert plugin_named(listed, "mfa_insecure_example").blocked is False
    others = [info for info in listed if info.name != "mfa_insecure_example"]
    assert others != []
    for info in others:
        assert info.blocked is True


@pytest.mark.parametrize(
    ("environ", "plugins"),
    [
        pytest.param({"MFA_CORE_PLUGINS": "mfa-totp"}, None, id="env_allow"),
        pytest.param({"MFA_CORE_BLOCK_PLUGINS": "mfa_insecure_example"}, None, id="env_block"),
        pytest.param({}, {"allow": ["mfa_totp"]}, id="config_allow"),
        pytest.param({}, {"block": ["mfa-insecure-example"]}, id="config_block"),
        pytest.param(
            {"MFA_CORE_PLUGINS": "mfa-insecure-example"},
            {"block": ["mfa-insecure-example"]},
            id="block_beats_allow",
        ),
    ],
)
def test_excluded_plugin_type_rejected(
    make_host: HostFactory,
    store_path: Path,
    environ: dict[str, str],
    plugins: dict[str, list[str]] | None,
) -> None:
    config = host_config(store_path, pin_module())
    if plugins is not None:
        config["plugins"] = plugins

    with pytest.raises(ConfigError) as caught:
        make_host(config, environ=environ)

    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.module_index == 0
    assert problem.module_id == "insecure_example"
    assert problem.key_path == ("type",)
    assert problem.message == EXCLUDED_BY_LISTS


def test_env_allow_replaces_config_allow(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, pin_module(), plugins={"allow": ["mfa-totp"]})

    host = make_host(config, environ={"MFA_CORE_PLUGINS": "mfa-insecure-example"})

    assert [module.id for module in host.modules()] == ["insecure_example"]


def test_in_process_plugin_registers_type(make_host: HostFactory, store_path: Path) -> None:
    plugin = RecordingPlugin()
    host = make_host(recording_config(store_path), plugins=[plugin])

    assert [module.type for module in host.modules()] == ["recording", "recording"]
    assert host.plugins() == [
        PluginInfo(
            name="RecordingPlugin#0",
            distribution=None,
            version=None,
            module_types=["recording"],
        )
    ]


# Exact dispatch and wrappers


def test_call_reaches_selected_module_only(make_host: HostFactory, store_path: Path) -> None:
    plugin = RecordingPlugin()
    host = make_host(recording_config(store_path), plugins=[plugin])
    form = host.begin_login(USER)
    assert form.session_id is not None
    assert form.step_id == "select_mfa_module"

    selected = host.continue_login(form.session_id, USER, {"module_id": "second"})
    other_module_code = host.continue_login(form.session_id, USER, {"code": "111111"})
    result = host.continue_login(form.session_id, USER, {"code": "222222"})

    assert selected.module_id == "second"
    assert other_module_code.errors == {"base": "invalid_code"}
    assert result.type == "success"
    assert result.module_id == "second"
    assert plugin.calls == [
        ("second", "mfa_validate", USER),
        ("second", "mfa_validate", USER),
    ]


def test_depose_reaches_named_module_only(make_host: HostFactory, store_path: Path) -> None:
    plugin = RecordingPlugin()
    host = make_host(recording_config(store_path), plugins=[plugin])

    host.setup_user("first", OTHER_USER, {"code": "333333"})
    host.depose_user("second", OTHER_USER)

    assert plugin.calls == [
        ("first", "mfa_setup_user", OTHER_USER),
        ("second", "mfa_depose_user", OTHER_USER),
    ]
    assert host.is_user_setup("first", OTHER_USER) is True
    assert host.is_user_setup("second", OTHER_USER) is False


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda host: host.setup_user("third", USER, {"code": "1"}), id="setup_user"),
        pytest.param(lambda host: host.depose_user("third", USER), id="depose_user"),
        pytest.param(lambda host: host.is_user_setup("third", USER), id="is_user_setup"),
        pytest.param(lambda host: host.start_setup("third", USER), id="start_setup"),
        pytest.param(lambda host: host.unlock("third", USER), id="unlock"),
    ],
)
def test_unknown_module_id_rejected(
    make_host: HostFactory, store_path: Path, call: Callable[[Any], object]
) -> None:
    plugin = RecordingPlugin()
    host = make_host(recording_config(store_path), plugins=[plugin])

    with pytest.raises(UnknownModuleError) as caught:
        call(host)

    assert caught.value.module_id == "third"
    assert str(caught.value) == "unknown module id 'third'; configured modules: first, second"
    assert plugin.calls == []


def test_wrapper_records_ids_without_code(make_host: HostFactory, store_path: Path) -> None:
    audit = AuditPlugin()
    host = make_host(recording_config(store_path), plugins=[RecordingPlugin(), audit])

    outcomes: list[str] = []
    for module_id, code in [("first", "111111"), ("second", "999999"), ("second", "222222")]:
        form = host.begin_login(USER)
        assert form.session_id is not None
        host.continue_login(form.session_id, USER, {"module_id": module_id})
        result = host.continue_login(form.session_id, USER, {"code": code})
        outcomes.append(result.type)

    assert outcomes == ["success", "form", "success"]
    assert audit.records == [("first", USER), ("second", USER), ("second", USER)]
    assert list(inspect.signature(audit.mfa_validate).parameters) == ["module_id", "user_id"]
    assert [(info.name, info.error) for info in host.plugins()] == [
        ("AuditPlugin#1", None),
        ("RecordingPlugin#0", None),
    ]


def test_wrapper_observes_async_results(make_host: HostFactory, store_path: Path) -> None:
    outcome = OutcomePlugin()
    host = make_host(recording_config(store_path), plugins=[RecordingPlugin(), outcome])

    for module_id, code in [("first", "111111"), ("second", "999999"), ("second", "222222")]:
        form = host.begin_login(USER)
        assert form.session_id is not None
        host.continue_login(form.session_id, USER, {"module_id": module_id})
        host.continue_login(form.session_id, USER, {"code": code})

    assert inspect.iscoroutinefunction(RecordingModule.mfa_validate)
    assert outcome.outcomes == [("first", True), ("second", False), ("second", True)]


def test_plain_module_hook_plugin_rejected(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, pin_module(users={USER: PIN}))
    host = make_host(config, plugins=[PlainHookPlugin()])

    form = host.begin_login(USER)
    assert form.session_id is not None
    result = host.continue_login(form.session_id, USER, {"pin": WRONG_PIN})

    assert result.errors == {"base": "invalid_code"}
    info = plugin_named(host.plugins(), "PlainHookPlugin#0")
    assert info.error == (
        "mfa_validate must be a wrapper (@hookimpl(wrapper=True)); module hooks are "
        "implemented by module classes registered as module types"
    )


# Async and plain module methods


@pytest.mark.parametrize("type_name", ["sync_pin", "async_pin"])
def test_module_methods_sync_and_async(
    make_host: HostFactory, store_path: Path, type_name: str
) -> None:
    plugin = PinModulesPlugin()
    host = make_host(host_config(store_path, {"type": type_name}), plugins=[plugin])

    started = host.start_setup(type_name, USER)
    assert started.flow_id is not None
    finished = host.continue_setup(started.flow_id, USER, {"pin": PIN})
    enrolled = host.is_user_setup(type_name, USER)
    form = host.begin_login(USER)
    assert form.session_id is not None
    wrong = host.continue_login(form.session_id, USER, {"pin": WRONG_PIN})
    right = host.continue_login(form.session_id, USER, {"pin": PIN})
    host.depose_user(type_name, USER)

    assert started.type == "form"
    assert started.data_schema_json == [{"type": "string", "name": "pin", "required": True}]
    assert finished.type == "create_entry"
    assert enrolled is True
    assert form.step_id == "mfa"
    assert wrong.errors == {"base": "invalid_code"}
    assert right.type == "success"
    assert plugin.instances[type_name].initialized == [USER]
    assert host.is_user_setup(type_name, USER) is False
    assert host.begin_login(USER).type == "not_required"


def test_module_context_reaches_factory(make_host: HostFactory, store_path: Path) -> None:
    plugin = PinModulesPlugin()
    config = host_config(store_path, {"type": "async_pin", "id": "pin_main", "name": "Main PIN"})

    make_host(config, plugins=[plugin])

    context = plugin.instances["pin_main"].context
    assert context.module_id == "pin_main"
    assert context.name == "Main PIN"
    assert context.type_name == "async_pin"
    assert dict(context.config) == {}


def assigned_validate(self: object, user_id: str, user_input: dict[str, Any]) -> bool:
    return False


def test_method_assigned_to_class_accepted() -> None:
    # A function assigned to a class after its definition has no dotted qualified name.
    module_class = type("AssignedModule", (RecordingModule,), {})
    module_class.mfa_validate = assigned_validate  # type: ignore[attr-defined]

    check_module_class(module_class)

    with pytest.raises(ModuleContractError, match="password"):
        check_module_class(
            type(
                "ExtraArgumentModule",
                (RecordingModule,),
                {"mfa_validate": lambda self, user_id, password: False},
            )
        )


class ExtraArgumentInstance:
    """A module built by a function, whose mfa_validate takes an argument the hook lacks."""

    def mfa_input_schema(self) -> vol.Schema:
        return vol.Schema({vol.Required("code"): str})

    def mfa_setup_step(self) -> None:
        return None

    def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        return None

    def mfa_depose_user(self, user_id: str) -> None:
        return None

    def mfa_is_user_setup(self, user_id: str) -> bool:
        return False

    def mfa_validate(self, user_id: str, password: str) -> bool:
        return False


class FactoryPlugin:
    """Registers ``factory_type``, built by a function rather than a class."""

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        register(ModuleType("factory_type", lambda context: ExtraArgumentInstance(), "Factory"))


class FailingRegistrationPlugin:
    """Raises while registering its module types."""

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        raise RuntimeError("registry offline")


def test_factory_instance_signature_named(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, {"type": "factory_type"})

    with pytest.raises(ConfigError) as caught:
        make_host(config, plugins=[FactoryPlugin()])

    message = caught.value.problems[0].message
    assert "mfa_validate" in message
    assert "password" in message


def test_failed_in_process_plugin_named(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, {"type": "lost_type"})

    with pytest.raises(ConfigError) as caught:
        make_host(config, plugins=[FailingRegistrationPlugin()])

    message = caught.value.problems[0].message
    assert message.startswith("unknown module type 'lost_type'")
    assert "FailingRegistrationPlugin#0" in message
    assert "registry offline" in message


@pytest.mark.usefixtures("broken_plugins")
def test_installed_plugins_listed_without_import(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    listed = {info.name: info for info in host.installed_plugins()}

    assert imported_broken_modules() == []
    broken = listed["mfa_broken_import"]
    assert broken.loaded is False
    assert broken.error is None
    assert broken.module_types == ["broken_import"]
    assert broken.distribution == "mfa-broken-import"
    assert broken.version == "0.2.0"
    assert listed["mfa_insecure_example"].loaded is True
    assert listed["mfa_insecure_example"].module_types == ["insecure_example"]


@pytest.mark.usefixtures("broken_plugins")
def test_installed_plugins_show_blocked(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, pin_module(), plugins={"block": ["mfa-broken-import"]})
    host = make_host(config)

    listed = {info.name: info for info in host.installed_plugins()}

    assert listed["mfa_broken_import"].blocked is True
    assert listed["mfa_broken_schema"].blocked is False
    assert imported_broken_modules() == []

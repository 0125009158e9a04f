"""Tests of setup flows and flow results: forms, errors, other hosts, expiry and module failures."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    PIN,
    PIN_FORM_JSON,
    USER,
    HostFactory,
    ManualClock,
    host_config,
    pin_module,
    read_rows,
)
from mfa_insecure_example.module import (
    CONFIG_SCHEMA,
    PIN_SCHEMA,
    InsecureExampleModule,
    InsecureExampleSetupFlow,
)

from mfa_core import FlowResult, ModuleType, SyncMfaHost, hookimpl

# Digits a failing module puts into its exception messages, which must never reach a log.
SECRET_PIN = "917364"


class FailingSubmitFlow(InsecureExampleSetupFlow):
    """Shows the PIN form, then fails with the PIN in the exception message."""

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        if user_input is None:
            return self.show_form("init")
        raise ValueError(f"cannot store PIN {user_input['pin']}")


class FailingStartFlow(InsecureExampleSetupFlow):
    """Fails before it shows its first form."""

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        raise RuntimeError(f"no PIN form for {self.user_id}")


class FailingModule(InsecureExampleModule):
    """An ``insecure_example`` module whose setup flow and code check raise."""

    setup_flow_class = FailingSubmitFlow

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        raise RuntimeError(f"PIN backend rejected {user_input['pin']}")


class FailingStartModule(InsecureExampleModule):
    """An ``insecure_example`` module whose setup flow fails at once."""

    setup_flow_class = FailingStartFlow


class FailingPlugin:
    """Registers ``failing_pin`` and ``failing_start``."""

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        register(ModuleType("failing_pin", FailingModule, "Failing PIN", CONFIG_SCHEMA))
        register(ModuleType("failing_start", FailingStartModule, "Failing start", CONFIG_SCHEMA))


def start_flow(host: SyncMfaHost, module_id: str = "insecure_example") -> str:
    result = host.start_setup(module_id, USER)
    assert result.type == "form"
    assert result.flow_id is not None
    return result.flow_id


def flow_count(store_path: Path) -> int:
    return int(read_rows(store_path, "SELECT COUNT(*) FROM flows")[0][0])


def continue_flow_in_process(
    config: dict[str, Any], now: float, flow_id: str, pin: str
) -> tuple[str, str | None]:
    """Continue a setup flow from a spawned process; return the result's type and reason."""
    with SyncMfaHost.from_config(config, clock=ManualClock(now), environ={}) as host:
        result = host.continue_setup(flow_id, USER, {"pin": pin})
    return result.type, result.reason


# Flow results


def test_setup_form_result_fields(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    result = host.start_setup("insecure_example", USER)

    assert result.type == "form"
    assert result.step_id == "init"
    assert result.data_schema is PIN_SCHEMA
    assert result.data_schema_json == PIN_FORM_JSON
    assert result.errors == {}
    assert result.description_placeholders == {}
    assert result.reason is None
    assert result.module_id == "insecure_example"
    assert result.flow_id is not None
    assert flow_count(store_path) == 1


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        pytest.param({"pin": ""}, {"pin": "invalid_input"}, id="empty_pin"),
        pytest.param({"pin": 4829}, {"pin": "invalid_input"}, id="number_pin"),
        pytest.param(
            {"code": PIN}, {"code": "invalid_input", "pin": "invalid_input"}, id="wrong_key"
        ),
        pytest.param({}, {"pin": "invalid_input"}, id="empty_input"),
    ],
)
def test_invalid_input_form_error(
    make_host: HostFactory, store_path: Path, user_input: dict[str, Any], errors: dict[str, str]
) -> None:
    host = make_host(host_config(store_path, pin_module()))
    flow_id = start_flow(host)

    rejected = host.continue_setup(flow_id, USER, user_input)
    accepted = host.continue_setup(flow_id, USER, {"pin": PIN})

    assert rejected.type == "form"
    assert rejected.step_id == "init"
    assert rejected.errors == errors
    assert rejected.data_schema_json == PIN_FORM_JSON
    assert rejected.flow_id == flow_id
    assert accepted.type == "create_entry"


def test_finished_flow_result_fields(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))
    flow_id = start_flow(host)

    result = host.continue_setup(flow_id, USER, {"pin": PIN})

    assert result.type == "create_entry"
    assert result.flow_id == flow_id
    assert result.module_id == "insecure_example"
    assert result.errors == {}
    assert result.reason is None
    assert result.data == {}
    assert flow_count(store_path) == 0
    assert host.is_user_setup("insecure_example", USER) is True


def test_finished_flow_cannot_continue(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))
    flow_id = start_flow(host)
    host.continue_setup(flow_id, USER, {"pin": PIN})

    again = host.continue_setup(flow_id, USER, {"pin": "999999"})

    assert again.type == "abort"
    assert again.reason == "setup_expired"


def test_flow_of_other_user_rejected(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))
    flow_id = start_flow(host)

    result = host.continue_setup(flow_id, "bob", {"pin": PIN})

    assert result.type == "abort"
    assert result.reason == "setup_expired"
    assert host.is_user_setup("insecure_example", "bob") is False


# Flows shared by hosts and processes


def test_flow_continued_by_other_host(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, pin_module())
    first = make_host(config)
    flow_id = start_flow(first)

    second = make_host(config)
    result = second.continue_setup(flow_id, USER, {"pin": PIN})

    assert result.type == "create_entry"
    assert first.is_user_setup("insecure_example", USER) is True
    form = first.begin_login(USER)
    assert form.session_id is not None
    assert first.continue_login(form.session_id, USER, {"pin": PIN}).type == "success"


def test_flow_continued_by_other_process(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    config = host_config(store_path, pin_module())
    host = make_host(config)
    flow_id = start_flow(host)

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        outcome = pool.apply(continue_flow_in_process, (config, clock.now, flow_id, PIN))

    assert outcome == ("create_entry", None)
    form = host.begin_login(USER)
    assert form.session_id is not None
    assert host.continue_login(form.session_id, USER, {"pin": PIN}).type == "success"


# Expiry


@pytest.mark.parametrize(("elapsed", "outcome"), [(599, "create_entry"), (600, "abort")])
def test_flow_expiry_default_lifetime(
    make_host: HostFactory, clock: ManualClock, store_path: Path, elapsed: int, outcome: str
) -> None:
    host = make_host(host_config(store_path, pin_module()))
    flow_id = start_flow(host)

    clock.advance(elapsed)
    result = host.continue_setup(flow_id, USER, {"pin": PIN})

    assert result.type == outcome
    assert flow_count(store_path) == 0


def test_expired_flow_aborts_setup_expired(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = make_host(host_config(store_path, pin_module(), flow_lifetime=60))
    flow_id = start_flow(host)

    clock.advance(60)
    result = host.continue_setup(flow_id, USER, {"pin": PIN})

    assert result.type == "abort"
    assert result.reason == "setup_expired"
    assert result.module_id == "insecure_example"
    assert flow_count(store_path) == 0
    assert host.is_user_setup("insecure_example", USER) is False


# Module failures


def test_setup_step_exception_ends_flow(
    make_host: HostFactory, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = host_config(store_path, {"type": "failing_pin"})
    host = make_host(config, plugins=[FailingPlugin()])
    flow_id = start_flow(host, "failing_pin")

    result = host.continue_setup(flow_id, USER, {"pin": SECRET_PIN})
    again = host.continue_setup(flow_id, USER, {"pin": SECRET_PIN})

    assert result.type == "abort"
    assert result.reason == "unknown_error"
    assert result.module_id == "failing_pin"
    assert flow_count(store_path) == 0
    assert again.reason == "setup_expired"
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert message.startswith("setup step 'init' of module 'failing_pin' failed for user 'alice': ")
    assert "ValueError" in message
    assert SECRET_PIN not in caplog.text


def test_first_step_exception_aborts(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, {"type": "failing_start"})
    host = make_host(config, plugins=[FailingPlugin()])

    result = host.start_setup("failing_start", USER)

    assert result.type == "abort"
    assert result.reason == "unknown_error"
    assert result.module_id == "failing_start"
    assert flow_count(store_path) == 0


def test_validate_exception_ends_session(
    make_host: HostFactory, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = host_config(
        store_path, {"type": "failing_pin", "data": [{"user_id": USER, "pin": PIN}]}
    )
    host = make_host(config, plugins=[FailingPlugin()])
    form = host.begin_login(USER)
    assert form.session_id is not None

    result = host.continue_login(form.session_id, USER, {"pin": SECRET_PIN})
    again = host.continue_login(form.session_id, USER, {"pin": PIN})

    assert result.type == "abort"
    assert result.reason == "unknown_error"
    assert result.module_id == "failing_pin"
    assert read_rows(store_path, "SELECT COUNT(*) FROM sessions") == [(0,)]
    assert again.reason == "login_expired"
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert message.startswith("login MFA step of module 'failing_pin' failed for user 'alice': ")
    assert "RuntimeError" in message
    assert SECRET_PIN not in caplog.text


def test_abort_setup_ends_flow(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))
    flow_id = start_flow(host)

    assert host.abort_setup(flow_id, "mallory") is False
    assert flow_count(store_path) == 1
    assert host.abort_setup(flow_id, USER) is True
    assert host.abort_setup(flow_id, USER) is False

    result = host.continue_setup(flow_id, USER, {"pin": PIN})
    assert result.type == "abort"
    assert result.reason == "setup_expired"
    assert host.is_user_setup("insecure_example", USER) is False


def test_setup_user_rejects_empty_pin(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    with pytest.raises(ValueError, match="'pin', a string of 1 to 64 characters"):
        host.setup_user("insecure_example", USER, {"pin": ""})
    assert host.is_user_setup("insecure_example", USER) is False


def test_empty_user_id_rejected(make_host: HostFactory, store_path: Path) -> None:
    host = make_host(host_config(store_path, pin_module()))

    with pytest.raises(ValueError, match="user_id must not be empty"):
        host.begin_login("")

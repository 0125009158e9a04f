"""Tests of the per-user, per-module limiter across validation sessions, hosts and setup flows.

The default policy: the first 3 consecutive failures cost nothing. After failure
3 + k, the next check waits min(2 ** (k - 1), 900) seconds. Failure 100 locks the
user out of the module until ``unlock``. A success resets the count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from conftest import (
    PIN,
    USER,
    WRONG_PIN,
    HostFactory,
    ManualClock,
    host_config,
    limiter_failures,
    pin_module,
    read_rows,
)
from mfa_insecure_example.module import (
    CONFIG_SCHEMA,
    InsecureExampleModule,
    InsecureExampleSetupFlow,
)

from mfa_core import FlowResult, LoginResult, ModuleType, SyncMfaHost, hookimpl

MODULE = "insecure_example"
NEW_PIN = "246813"
CHANGE_PIN_SCHEMA = vol.Schema({vol.Required("current_pin"): str, vol.Required("new_pin"): str})


class ValidateCounter:
    """Wraps ``mfa_validate`` to count the code checks that reach a module."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(wrapper=True)
    def mfa_validate(self) -> Generator[None, Any, Any]:
        self.calls += 1
        return (yield)


class ChangePinFlow(InsecureExampleSetupFlow):
    """Sets a new PIN after the user enters the configured one; a wrong one is ``invalid_code``."""

    def data_schema(self, step_id: str) -> vol.Schema:
        return CHANGE_PIN_SCHEMA

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        return self.change_pin("init", user_input)

    def change_pin(self, step_id: str, user_input: dict[str, Any] | None) -> FlowResult:
        """Show ``step_id``'s form, or set the new PIN when the current one is right."""
        if user_input is None:
            return self.show_form(step_id)
        configured = {
            entry["user_id"]: entry["pin"] for entry in self.module.context.config["data"]
        }
        if user_input["current_pin"] != configured.get(self.user_id):
            return self.show_form(step_id, errors={"base": "invalid_code"})
        return self.create_entry({"pin": user_input["new_pin"]})


class LabelFirstFlow(ChangePinFlow):
    """Asks for a label (no code) in ``init``, then checks the PIN in ``confirm``."""

    def data_schema(self, step_id: str) -> vol.Schema:
        if step_id == "init":
            return vol.Schema({vol.Required("label"): str})
        return CHANGE_PIN_SCHEMA

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        if user_input is None:
            return self.show_form("init")
        return self.show_form("confirm")

    def step_confirm(self, user_input: dict[str, Any] | None) -> FlowResult:
        return self.change_pin("confirm", user_input)


class ChangePinModule(InsecureExampleModule):
    """An ``insecure_example`` module whose setup flow checks a code."""

    setup_flow_class = ChangePinFlow


class ChangePinPlugin:
    """Registers the ``change_pin`` module type."""

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        register(ModuleType("change_pin", ChangePinModule, "Change PIN", CONFIG_SCHEMA))
        register(ModuleType("label_first", LabelFirstModule, "Label first", CONFIG_SCHEMA))


class LabelFirstModule(InsecureExampleModule):
    """An ``insecure_example`` module whose setup flow has a step that checks no code."""

    setup_flow_class = LabelFirstFlow


def pin_host(
    make_host: HostFactory, store_path: Path, *plugins: object, **settings: Any
) -> SyncMfaHost:
    config = host_config(store_path, pin_module(users={USER: PIN}), **settings)
    return make_host(config, plugins=plugins)


def attempt(host: SyncMfaHost, pin: str) -> LoginResult:
    """Begin a new validation session and submit one PIN."""
    form = host.begin_login(USER)
    assert form.session_id is not None
    return host.continue_login(form.session_id, USER, {"pin": pin})


def is_rejected(result: LoginResult) -> bool:
    return result.type == "form" and result.errors == {"base": "try_again_later"}


def fail_times(host: SyncMfaHost, clock: ManualClock, count: int) -> list[LoginResult]:
    """Submit ``count`` wrong PINs in new sessions, waiting out each back-off first."""
    results: list[LoginResult] = []
    for _ in range(count):
        clock.advance(900)
        results.append(attempt(host, WRONG_PIN))
    return results


# Back-off


def test_free_failures_not_rejected(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path)

    failures = [attempt(host, WRONG_PIN) for _ in range(3)]
    right = attempt(host, PIN)

    assert [result.errors for result in failures] == [{"base": "invalid_code"}] * 3
    assert right.type == "success"


def test_backoff_rejects_right_pin(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    counter = ValidateCounter()
    host = pin_host(make_host, store_path, counter)
    failures = [attempt(host, WRONG_PIN) for _ in range(4)]
    checks_before = counter.calls

    rejected = attempt(host, PIN)

    assert [result.errors for result in failures] == [{"base": "invalid_code"}] * 4
    assert rejected.type == "form"
    assert rejected.step_id == "mfa"
    assert rejected.errors == {"base": "try_again_later"}
    assert rejected.description_placeholders == {"retry_after": "1"}
    assert counter.calls == checks_before
    assert limiter_failures(store_path, USER, MODULE) == 4


def test_rejected_wrong_pin_not_counted(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path)
    for _ in range(4):
        attempt(host, WRONG_PIN)
    form = host.begin_login(USER)
    assert form.session_id is not None

    rejected = host.continue_login(form.session_id, USER, {"pin": WRONG_PIN})

    assert rejected.errors == {"base": "try_again_later"}
    assert limiter_failures(store_path, USER, MODULE) == 4
    rows = read_rows(
        store_path, "SELECT failures FROM sessions WHERE session_id = ?", (form.session_id,)
    )
    assert rows == [(0,)]


def test_backoff_ends_after_delay(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path)
    for _ in range(4):
        attempt(host, WRONG_PIN)

    clock.advance(0.5)
    half_way = attempt(host, PIN)
    clock.advance(0.5)
    after_delay = attempt(host, PIN)

    assert half_way.errors == {"base": "try_again_later"}
    assert half_way.description_placeholders == {"retry_after": "1"}
    assert after_delay.type == "success"


def test_backoff_delays_double(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path)
    for _ in range(3):
        attempt(host, WRONG_PIN)

    delays: list[str] = []
    for _ in range(12):
        wrong = attempt(host, WRONG_PIN)
        assert wrong.errors == {"base": "invalid_code"}
        rejected = attempt(host, PIN)
        assert is_rejected(rejected)
        delays.append(rejected.description_placeholders["retry_after"])
        clock.advance(float(delays[-1]))

    assert delays == ["1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "900", "900"]


def test_success_resets_count(make_host: HostFactory, clock: ManualClock, store_path: Path) -> None:
    host = pin_host(make_host, store_path)
    fail_times(host, clock, 5)
    count_before_success = limiter_failures(store_path, USER, MODULE)
    clock.advance(900)

    success = attempt(host, PIN)
    count_after_success = limiter_failures(store_path, USER, MODULE)
    failures = [attempt(host, WRONG_PIN) for _ in range(3)]
    right = attempt(host, PIN)

    assert count_before_success == 5
    assert success.type == "success"
    assert count_after_success is None
    assert [result.errors for result in failures] == [{"base": "invalid_code"}] * 3
    assert right.type == "success"


def test_limiter_counts_per_module(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    pin_a = pin_module("pin_a", {USER: PIN})
    pin_b = pin_module("pin_b", {USER: PIN})
    host = make_host(host_config(store_path, pin_a, pin_b))

    def attempt_in(module_id: str, pin: str) -> LoginResult:
        form = host.begin_login(USER)
        assert form.session_id is not None
        host.continue_login(form.session_id, USER, {"module_id": module_id})
        return host.continue_login(form.session_id, USER, {"pin": pin})

    for _ in range(4):
        attempt_in("pin_a", WRONG_PIN)

    assert is_rejected(attempt_in("pin_a", PIN))
    assert attempt_in("pin_b", PIN).type == "success"
    assert limiter_failures(store_path, USER, "pin_a") == 4
    assert limiter_failures(store_path, USER, "pin_b") is None


# Lockout


def test_lockout_after_100_failures(
    make_host: HostFactory,
    clock: ManualClock,
    store_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    host = pin_host(make_host, store_path)

    results = fail_times(host, clock, 100)
    clock.advance(86400)
    right_pin = attempt(host, PIN)

    assert [result.errors for result in results[:99]] == [{"base": "invalid_code"}] * 99
    hundredth = results[99]
    assert hundredth.type == "abort"
    assert hundredth.reason == "locked_out"
    assert hundredth.module_id == MODULE
    assert right_pin.type == "abort"
    assert right_pin.reason == "locked_out"
    assert limiter_failures(store_path, USER, MODULE) == 100
    limiter_records = [record for record in caplog.records if record.name == "mfa_core.limiter"]
    assert [record.getMessage() for record in limiter_records] == [
        "user 'alice' locked out of module 'insecure_example' after 100 consecutive failures"
    ]


def test_lockout_persists_across_hosts(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path)
    fail_times(host, clock, 100)

    later_host = pin_host(make_host, store_path)
    clock.advance(86400)
    locked = attempt(later_host, PIN)
    later_host.unlock(MODULE, USER)
    unlocked = attempt(later_host, PIN)

    assert locked.type == "abort"
    assert locked.reason == "locked_out"
    assert unlocked.type == "success"


def test_unlock_clears_lockout(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path, limits={"lockout_after": 5})
    fifth = fail_times(host, clock, 5)[4]
    locked = attempt(host, PIN)

    host.unlock(MODULE, USER)
    unlocked = attempt(host, PIN)

    assert fifth.reason == "locked_out"
    assert locked.reason == "locked_out"
    assert unlocked.type == "success"
    assert limiter_failures(store_path, USER, MODULE) is None


def test_lockout_after_configured(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = pin_host(make_host, store_path, limits={"lockout_after": 5})

    results = fail_times(host, clock, 5)

    assert [result.errors for result in results[:4]] == [{"base": "invalid_code"}] * 4
    assert results[4].type == "abort"
    assert results[4].reason == "locked_out"


# Setup flows share the limiter


def change_pin_host(make_host: HostFactory, store_path: Path, **settings: Any) -> SyncMfaHost:
    module = {"type": "change_pin", "id": MODULE, "data": [{"user_id": USER, "pin": PIN}]}
    return make_host(host_config(store_path, module, **settings), plugins=[ChangePinPlugin()])


def test_setup_code_failures_counted(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = change_pin_host(make_host, store_path)
    started = host.start_setup(MODULE, USER)
    assert started.flow_id is not None
    wrong = {"current_pin": WRONG_PIN, "new_pin": NEW_PIN}
    right = {"current_pin": PIN, "new_pin": NEW_PIN}

    failures = [host.continue_setup(started.flow_id, USER, wrong) for _ in range(4)]
    rejected_setup = host.continue_setup(started.flow_id, USER, right)
    rejected_login = attempt(host, PIN)

    assert [result.errors for result in failures] == [{"base": "invalid_code"}] * 4
    assert limiter_failures(store_path, USER, MODULE) == 4
    assert rejected_setup.type == "form"
    assert rejected_setup.errors == {"base": "try_again_later"}
    assert rejected_setup.description_placeholders == {"retry_after": "1"}
    assert is_rejected(rejected_login)
    assert limiter_failures(store_path, USER, MODULE) == 4


def test_setup_succeeds_after_backoff(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = change_pin_host(make_host, store_path)
    started = host.start_setup(MODULE, USER)
    assert started.flow_id is not None
    wrong = {"current_pin": WRONG_PIN, "new_pin": NEW_PIN}
    for _ in range(4):
        host.continue_setup(started.flow_id, USER, wrong)

    clock.advance(1)
    finished = host.continue_setup(started.flow_id, USER, {"current_pin": PIN, "new_pin": NEW_PIN})

    assert finished.type == "create_entry"
    assert limiter_failures(store_path, USER, MODULE) is None
    assert attempt(host, NEW_PIN).type == "success"


def test_setup_lockout_aborts_flow(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    host = change_pin_host(make_host, store_path, limits={"lockout_after": 3})
    started = host.start_setup(MODULE, USER)
    assert started.flow_id is not None
    wrong = {"current_pin": WRONG_PIN, "new_pin": NEW_PIN}

    results = [host.continue_setup(started.flow_id, USER, wrong) for _ in range(3)]

    assert [result.errors for result in results[:2]] == [{"base": "invalid_code"}] * 2
    assert results[2].type == "abort"
    assert results[2].reason == "locked_out"
    assert read_rows(store_path, "SELECT COUNT(*) FROM flows") == [(0,)]
    assert attempt(host, PIN).reason == "locked_out"


def test_setup_step_without_code_not_counted(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    module = {"type": "label_first", "id": MODULE, "data": [{"user_id": USER, "pin": PIN}]}
    host = make_host(host_config(store_path, module), plugins=[ChangePinPlugin()])
    started = host.start_setup(MODULE, USER)
    assert started.flow_id is not None

    labelled = host.continue_setup(started.flow_id, USER, {"label": "phone"})
    failures_after_label = limiter_failures(store_path, USER, MODULE)
    wrong = host.continue_setup(
        started.flow_id, USER, {"current_pin": WRONG_PIN, "new_pin": NEW_PIN}
    )
    failures_after_wrong = limiter_failures(store_path, USER, MODULE)
    done = host.continue_setup(started.flow_id, USER, {"current_pin": PIN, "new_pin": NEW_PIN})

    assert labelled.step_id == "confirm"
    assert failures_after_label is None
    assert wrong.errors == {"base": "invalid_code"}
    assert failures_after_wrong == 1
    assert done.type == "create_entry"
    assert limiter_failures(store_path, USER, MODULE) is None

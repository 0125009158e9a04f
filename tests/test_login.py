"""Tests of the login MFA step with ``insecure_example`` modules on a SQLite store."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import (
    OTHER_USER,
    PIN,
    PIN_FORM_JSON,
    PIN_TYPE_NAME,
    START_TIME,
    USER,
    WRONG_PIN,
    HostFactory,
    ManualClock,
    host_config,
    limiter_failures,
    pin_module,
    read_rows,
)
from mfa_insecure_example.module import CONFIG_SCHEMA, PIN_SCHEMA, InsecureExampleModule

from mfa_core import LoginResult, ModuleType, SyncMfaHost, hookimpl

# secrets.token_urlsafe(32): 32 random bytes in unpadded URL-safe base64.
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


class CountingPlugin:
    """Registers ``counting_pin``, an ``insecure_example`` type that logs each initialisation."""

    def __init__(self) -> None:
        self.initialized: list[tuple[str, str]] = []

    @hookimpl
    def mfa_register_module_types(self, register: Callable[[ModuleType], None]) -> None:
        log = self.initialized

        class CountingModule(InsecureExampleModule):
            async def mfa_initialize_login_mfa_step(self, user_id: str) -> None:
                log.append((self.id, user_id))

        register(ModuleType("counting_pin", CountingModule, "Counting PIN", CONFIG_SCHEMA))


def one_module_host(make_host: HostFactory, store_path: Path) -> SyncMfaHost:
    return make_host(host_config(store_path, pin_module(users={USER: PIN})))


def two_module_host(make_host: HostFactory, store_path: Path) -> SyncMfaHost:
    backup = {**pin_module("pin_b", {USER: "555666"}), "name": "Backup PIN"}
    unused = pin_module("pin_c", {OTHER_USER: "777888"})
    return make_host(host_config(store_path, pin_module("pin_a", {USER: PIN}), backup, unused))


def begin(host: SyncMfaHost, user_id: str = USER) -> str:
    result = host.begin_login(user_id)
    assert result.type == "form"
    assert result.session_id is not None
    return result.session_id


def submit(host: SyncMfaHost, session_id: str, pin: str, user_id: str = USER) -> LoginResult:
    return host.continue_login(session_id, user_id, {"pin": pin})


def session_count(store_path: Path) -> int:
    return int(read_rows(store_path, "SELECT COUNT(*) FROM sessions")[0][0])


def session_failures(store_path: Path, session_id: str) -> int:
    rows = read_rows(
        store_path, "SELECT failures FROM sessions WHERE session_id = ?", (session_id,)
    )
    return int(rows[0][0])


# Starting the step


def test_user_without_module_not_required(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)

    result = host.begin_login("carol")

    assert result.type == "not_required"
    assert result.user_id == "carol"
    assert result.session_id is None
    assert session_count(store_path) == 0


def test_one_module_shows_code_form(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)

    result = host.begin_login(USER)

    assert result.type == "form"
    assert result.step_id == "mfa"
    assert result.module_id == "insecure_example"
    assert result.data_schema is PIN_SCHEMA
    assert result.data_schema_json == PIN_FORM_JSON
    assert result.errors == {}
    assert result.description_placeholders == {}
    assert result.reason is None
    assert result.user_id is None


def test_two_modules_show_selection(make_host: HostFactory, store_path: Path) -> None:
    host = two_module_host(make_host, store_path)

    result = host.begin_login(USER)

    assert result.type == "form"
    assert result.step_id == "select_mfa_module"
    assert result.module_id is None
    assert result.errors == {}
    assert result.data_schema_json == [
        {
            "type": "select",
            "options": [("pin_a", PIN_TYPE_NAME), ("pin_b", "Backup PIN")],
            "name": "module_id",
            "required": True,
        }
    ]


@pytest.mark.parametrize("choice", ["pin_x", "pin_c", ""])
def test_unknown_module_choice_rejected(
    make_host: HostFactory, store_path: Path, choice: str
) -> None:
    host = two_module_host(make_host, store_path)
    session_id = begin(host)

    rejected = host.continue_login(session_id, USER, {"module_id": choice})
    accepted = host.continue_login(session_id, USER, {"module_id": "pin_b"})

    assert rejected.type == "form"
    assert rejected.step_id == "select_mfa_module"
    assert rejected.errors == {"base": "invalid_auth_module"}
    assert rejected.session_id == session_id
    assert accepted.step_id == "mfa"
    assert accepted.module_id == "pin_b"
    assert submit(host, session_id, "555666").type == "success"


def test_initialize_once_with_one_module(make_host: HostFactory, store_path: Path) -> None:
    plugin = CountingPlugin()
    config = host_config(
        store_path, {"type": "counting_pin", "data": [{"user_id": USER, "pin": PIN}]}
    )
    host = make_host(config, plugins=[plugin])

    session_id = begin(host)
    invalid = host.continue_login(session_id, USER, {"pin": ""})
    wrong = submit(host, session_id, WRONG_PIN)
    right = submit(host, session_id, PIN)
    counted_in_first_session = list(plugin.initialized)
    begin(host)

    assert invalid.errors == {"pin": "invalid_input"}
    assert wrong.errors == {"base": "invalid_code"}
    assert right.type == "success"
    assert counted_in_first_session == [("counting_pin", USER)]
    assert plugin.initialized == [("counting_pin", USER), ("counting_pin", USER)]


def test_initialize_once_after_selection(make_host: HostFactory, store_path: Path) -> None:
    plugin = CountingPlugin()
    counting = {"type": "counting_pin", "id": "counting", "data": [{"user_id": USER, "pin": PIN}]}
    config = host_config(store_path, pin_module("pin_a", {USER: "555666"}), counting)
    host = make_host(config, plugins=[plugin])

    session_id = begin(host)
    counted_before_selection = list(plugin.initialized)
    host.continue_login(session_id, USER, {"module_id": "nope"})
    host.continue_login(session_id, USER, {"module_id": "counting"})
    submit(host, session_id, WRONG_PIN)
    host.continue_login(session_id, USER, {"module_id": "pin_a"})
    submit(host, session_id, WRONG_PIN)

    assert counted_before_selection == []
    assert plugin.initialized == [("counting", USER)]


# Codes, retries and success


def test_success_consumes_session(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)
    session_id = begin(host)

    result = submit(host, session_id, PIN)
    again = submit(host, session_id, PIN)

    assert result.type == "success"
    assert result.user_id == USER
    assert result.module_id == "insecure_example"
    assert again.type == "abort"
    assert again.reason == "login_expired"
    assert session_count(store_path) == 0


def test_wrong_then_right_code(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)
    session_id = begin(host)

    wrong = submit(host, session_id, WRONG_PIN)
    failures_after_wrong = session_failures(store_path, session_id)
    right = submit(host, session_id, PIN)

    assert wrong.type == "form"
    assert wrong.step_id == "mfa"
    assert wrong.errors == {"base": "invalid_code"}
    assert wrong.session_id == session_id
    assert failures_after_wrong == 1
    assert right.type == "success"
    assert right.user_id == USER


def test_invalid_input_not_a_failure(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)
    session_id = begin(host)

    result = host.continue_login(session_id, USER, {"pin": "", "extra": 1})

    assert result.type == "form"
    assert result.errors == {"pin": "invalid_input", "extra": "invalid_input"}
    assert session_failures(store_path, session_id) == 0
    assert limiter_failures(store_path, USER, "insecure_example") is None


def test_third_wrong_code_aborts(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)
    session_id = begin(host)

    results = [submit(host, session_id, WRONG_PIN) for _ in range(3)]
    after_abort = submit(host, session_id, PIN)

    assert [result.errors for result in results[:2]] == [{"base": "invalid_code"}] * 2
    assert results[2].type == "abort"
    assert results[2].reason == "too_many_retry"
    assert results[2].module_id == "insecure_example"
    assert session_count(store_path) == 0
    assert after_abort.reason == "login_expired"


def test_unknown_session_login_expired(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)

    result = submit(host, "no-such-session", PIN)

    assert result.type == "abort"
    assert result.reason == "login_expired"


# Expiry, binding and the stored session


@pytest.mark.parametrize(("elapsed", "outcome"), [(299, "success"), (300, "abort")])
def test_session_expiry_from_begin(
    make_host: HostFactory, clock: ManualClock, store_path: Path, elapsed: int, outcome: str
) -> None:
    host = one_module_host(make_host, store_path)
    # The primary authentication took a while; the 300 s count from begin_login.
    clock.advance(1000)
    session_id = begin(host)

    clock.advance(elapsed)
    result = submit(host, session_id, PIN)

    assert result.type == outcome
    assert result.reason == (None if outcome == "success" else "login_expired")
    assert session_count(store_path) == 0


def test_session_times_stored(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)

    begin(host)

    rows = read_rows(store_path, "SELECT created_at, expires_at FROM sessions")
    assert rows == [(START_TIME, START_TIME + 300)]


def test_session_bound_to_user(make_host: HostFactory, store_path: Path) -> None:
    config = host_config(store_path, pin_module(users={USER: PIN, OTHER_USER: PIN}))
    host = make_host(config)
    session_id = begin(host)

    as_other_user = submit(host, session_id, PIN, user_id=OTHER_USER)
    as_owner = submit(host, session_id, PIN)

    assert as_other_user.type == "abort"
    assert as_other_user.reason == "login_expired"
    assert as_other_user.user_id is None
    assert as_owner.reason == "login_expired"
    assert session_count(store_path) == 0


def test_session_ids_random_and_unique(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)

    session_ids = [begin(host) for _ in range(200)]

    for session_id in session_ids:
        assert SESSION_ID.match(session_id), session_id
    assert len(set(session_ids)) == 200


def test_stored_session_holds_no_pin(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)
    session_id = begin(host)
    submit(host, session_id, WRONG_PIN)

    rows = read_rows(store_path, "SELECT * FROM sessions")

    assert len(rows) == 1
    for value in rows[0]:
        assert PIN not in str(value)
        assert WRONG_PIN not in str(value)


# Cancelling


def test_abort_login_ends_session(make_host: HostFactory, store_path: Path) -> None:
    host = one_module_host(make_host, store_path)
    session_id = begin(host)

    assert host.abort_login(session_id, OTHER_USER) is False
    assert session_count(store_path) == 1
    assert host.abort_login(session_id, USER) is True
    assert host.abort_login(session_id, USER) is False

    result = submit(host, session_id, PIN)
    assert result.type == "abort"
    assert result.reason == "login_expired"
    assert session_count(store_path) == 0

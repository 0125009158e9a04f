"""Tests of the ``mfa`` command, in process through ``main`` and as the installed console script.

Every test uses its own configuration directory and store under tmp_path. The
insecure_example module (a PIN) stands for any third-party module: the command
renders its form from the schema alone.
"""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mfa_core.cli import ExitStatus, main
from mfa_core.cli.console import Console
from mfa_core.cli.errors import CommandError
from mfa_core.cli.forms import convert_value, fill_single_field, parse_fields, read_form
from mfa_core.cli.pending import DIRECTORY_NAME

PIN_CONFIG = """\
modules:
  - type: insecure_example
    id: pin
    name: Demo PIN
"""

TWO_PIN_CONFIG = """\
modules:
  - type: insecure_example
    id: pin
    name: Demo PIN
  - type: insecure_example
    id: pin2
    name: Second PIN
"""

TOTP_CONFIG = """\
modules:
  - type: totp
    id: totp
"""

# Four kinds of problem, each of which must be listed.
BROKEN_CONFIG = """\
modules:
  - type: totpp
  - type: insecure_example
    id: pin
  - type: insecure_example
    id: pin
  - type: totp
    digits: six
  - type: insecure_example
    id: pin3
    colour: blue
"""


@dataclass
class Outcome:
    """Exit status and output of one ``mfa`` run."""

    status: int
    stdout: str
    stderr: str


def count_rows(store: Path, table: str) -> int:
    with closing(sqlite3.connect(store)) as database:
        return int(database.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


class Workspace:
    """A configuration directory and store under tmp_path, and ways to run ``mfa`` in it."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.store = root / "store.sqlite3"
        self._capsys = capsys

    def environment(self) -> dict[str, str]:
        """Return the environment of a subprocess: this workspace, no inherited mfa settings."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("MFA_CORE_")}
        env["MFA_CORE_STORE"] = str(self.store)
        env["XDG_CONFIG_HOME"] = str(self.root)
        return env

    def config(self, text: str, name: str = "config.yaml") -> str:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def run(self, *argv: str, stdin: str = "") -> Outcome:
        """Run ``main`` in process with ``stdin`` as standard input."""
        self._capsys.readouterr()
        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            status = main(list(argv))
        finally:
            sys.stdin = saved
        captured = self._capsys.readouterr()
        return Outcome(status, captured.out, captured.err)

    def run_script(self, *argv: str, stdin: str = "", stdout: int | None = None) -> Outcome:
        """Run the installed ``mfa`` console script as a subprocess."""
        completed = subprocess.run(
            [mfa_script(), *argv],
            input=stdin,
            capture_output=stdout is None,
            stdout=stdout,
            text=True,
            env=self.environment(),
            timeout=60,
            check=False,
        )
        return Outcome(completed.returncode, completed.stdout or "", completed.stderr or "")

    def pending_files(self) -> list[Path]:
        directory = self.store.parent / DIRECTORY_NAME
        return sorted(directory.glob("setup-*.json")) if directory.exists() else []

    def flow_secret(self) -> str:
        """Return the secret of the only open setup flow, read from the store."""
        with sqlite3.connect(self.store) as connection:
            rows = connection.execute("SELECT data FROM flows").fetchall()
        assert len(rows) == 1
        secret: str = json.loads(rows[0][0])["secret"]
        return secret


class Clock:
    """A clock that tests move forward; it replaces the host's system clock."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def type_slowly(monkeypatch: pytest.MonkeyPatch, clock: Clock, delay: float) -> None:
    """Make every answer to a prompt take ``delay`` seconds of the clock."""
    prompt = Console.prompt

    def slow_prompt(console: Console, text: str, *, hidden: bool = False) -> str:
        clock.now += delay
        return prompt(console, text, hidden=hidden)

    monkeypatch.setattr(Console, "prompt", slow_prompt)


def mfa_script() -> str:
    path = shutil.which("mfa")
    if path is None:
        pytest.fail("the mfa console script is not installed; run pip install -e .")
    return path


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Workspace:
    for name in ("MFA_CORE_CONFIG", "MFA_CORE_PLUGINS", "MFA_CORE_BLOCK_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MFA_CORE_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return Workspace(tmp_path, capsys)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(1_700_000_000.0)
    monkeypatch.setattr("mfa_core.host.system_clock", fake)
    return fake


def enrol_pin(workspace: Workspace, config: str, module_id: str, user: str, pin: str) -> None:
    outcome = workspace.run("setup", module_id, user, "--config", config, stdin=f"{pin}\n")
    assert outcome.status == ExitStatus.OK, outcome.stderr


# mfa modules


def test_modules_lists_plugins_and_modules(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("modules", "--config", config)

    assert outcome.status == ExitStatus.OK
    assert "mfa_insecure_example  mfa-insecure-example  0.1.0" in outcome.stdout
    assert "mfa-totp" in outcome.stdout
    assert "  pin  insecure_example  Demo PIN" in outcome.stdout
    assert not workspace.store.exists()


def test_modules_json(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("modules", "--config", config, "--json")

    document = json.loads(outcome.stdout)
    plugins = {plugin["name"]: plugin for plugin in document["plugins"]}
    assert outcome.status == ExitStatus.OK
    assert plugins["mfa_totp"]["distribution"] == "mfa-totp"
    assert plugins["mfa_totp"]["module_types"] == ["totp"]
    assert plugins["mfa_totp"]["error"] is None
    assert plugins["mfa_insecure_example"]["version"] == "0.1.0"
    assert document["modules"] == [{"id": "pin", "type": "insecure_example", "name": "Demo PIN"}]


def test_modules_shows_blocked_plugin(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = workspace.config(PIN_CONFIG)
    monkeypatch.setenv("MFA_CORE_BLOCK_PLUGINS", "mfa-totp")

    text = workspace.run("modules", "--config", config)
    document = json.loads(workspace.run("modules", "--config", config, "--json").stdout)

    plugins = {plugin["name"]: plugin for plugin in document["plugins"]}
    assert "blocked by the plugin allow or block list" in text.stdout
    assert plugins["mfa_totp"]["blocked"] is True
    assert plugins["mfa_insecure_example"]["blocked"] is False


def test_modules_lists_unused_plugin_unimported(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    listed = json.loads(workspace.run("modules", "--config", config, "--json").stdout)
    checked = json.loads(workspace.run("modules", "--config", config, "--json", "--check").stdout)
    text = workspace.run("modules", "--config", config)

    totp = {plugin["name"]: plugin for plugin in listed["plugins"]}["mfa_totp"]
    assert totp["loaded"] is False
    assert totp["module_types"] == ["totp"]
    assert totp["distribution"] == "mfa-totp"
    assert {plugin["name"]: plugin for plugin in checked["plugins"]}["mfa_totp"]["loaded"] is True
    assert "not imported (no configured module uses it; --check imports it)" in text.stdout


# mfa check-config


def test_check_config_ok(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("check-config", config)

    assert outcome.status == ExitStatus.OK
    assert outcome.stdout == "configuration OK\n"


def test_check_config_takes_config_option(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("check-config", "--config", config)

    assert outcome.status == ExitStatus.OK


def test_check_config_lists_every_problem(workspace: Workspace) -> None:
    config = workspace.config(BROKEN_CONFIG)

    outcome = workspace.run("check-config", config)

    lines = outcome.stdout.splitlines()
    assert outcome.status == ExitStatus.USAGE
    assert any("unknown module type 'totpp'" in line for line in lines)
    assert any("duplicate module id 'pin'" in line for line in lines)
    assert any("key digits" in line and "six" in line for line in lines)
    assert any("key colour: unknown key" in line for line in lines)
    assert all(line.startswith(config) for line in lines)
    assert "4 problems found" in outcome.stderr


def test_check_config_json(workspace: Workspace) -> None:
    config = workspace.config(BROKEN_CONFIG)

    outcome = workspace.run("check-config", config, "--json")

    document = json.loads(outcome.stdout)
    key_paths = sorted(problem["key_path"] for problem in document["problems"])
    assert outcome.status == ExitStatus.USAGE
    assert document["ok"] is False
    assert key_paths == [["colour"], ["digits"], ["id"], ["type"]]
    assert {problem["module_index"] for problem in document["problems"]} == {0, 2, 3, 4}


def test_check_config_missing_file(workspace: Workspace) -> None:
    missing = str(workspace.root / "missing.yaml")

    outcome = workspace.run("check-config", missing)

    assert outcome.status == ExitStatus.USAGE
    assert f"{missing}: file not found" in outcome.stdout


def test_check_config_invalid_yaml(workspace: Workspace) -> None:
    config = workspace.config("modules: [\n")

    outcome = workspace.run("check-config", config)

    assert outcome.status == ExitStatus.USAGE
    assert "invalid YAML" in outcome.stdout


def test_invalid_config_stops_other_commands(workspace: Workspace) -> None:
    config = workspace.config(BROKEN_CONFIG)

    for argv in (
        ["modules"],
        ["status", "alice"],
        ["login", "alice"],
        ["setup", "pin", "alice"],
        ["depose", "pin", "alice"],
        ["unlock", "pin", "alice"],
    ):
        outcome = workspace.run(*argv, "--config", config)

        assert outcome.status == ExitStatus.USAGE, argv
        assert "invalid configuration (4 problems)" in outcome.stderr
        assert "unknown module type 'totpp'" in outcome.stderr
        assert "key colour: unknown key" in outcome.stderr
        assert outcome.stdout == ""


# Errors outside the forms


def test_store_error_exits_failure(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    workspace.store.write_bytes(b"not a database, " * 100)

    outcome = workspace.run("status", "alice", "--config", config)

    assert outcome.status == ExitStatus.FAILURE
    assert str(workspace.store) in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_unknown_module_id_lists_configured_ids(workspace: Workspace) -> None:
    config = workspace.config(TWO_PIN_CONFIG)

    for argv in (
        ["setup", "nosuch", "alice"],
        ["depose", "nosuch", "alice"],
        ["unlock", "nosuch", "alice"],
        ["login", "alice", "--module", "nosuch"],
    ):
        outcome = workspace.run(*argv, "--config", config)

        assert outcome.status == ExitStatus.USAGE, argv
        assert "unknown module id 'nosuch'; configured modules: pin, pin2" in outcome.stderr


def test_empty_user_id_is_usage_error(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("status", "", "--config", config)

    assert outcome.status == ExitStatus.USAGE
    assert "user id must not be empty" in outcome.stderr


def test_usage_errors_exit_2(workspace: Workspace) -> None:
    assert workspace.run("setup").status == ExitStatus.USAGE
    assert workspace.run("nosuch-command").status == ExitStatus.USAGE
    assert workspace.run("depose", "pin", "alice", "--json").status == ExitStatus.USAGE


def test_help_lists_exit_statuses(workspace: Workspace) -> None:
    outcome = workspace.run("--help")

    assert outcome.status == ExitStatus.OK
    assert "exit statuses:" in outcome.stdout
    assert "6    standard input ended" in outcome.stdout


# Setup and login with the insecure_example module, through prompts


def test_pin_setup_and_login_through_prompts(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    setup = workspace.run("setup", "pin", "alice", "--config", config, stdin="2468\n")
    login = workspace.run("login", "alice", "--config", config, stdin="2468\n")

    assert setup.status == ExitStatus.OK
    assert setup.stdout == "alice is now enrolled in module pin (Demo PIN).\n"
    assert "Enter pin: " in setup.stderr
    assert login.status == ExitStatus.OK
    assert login.stdout == "MFA passed for alice\n"
    assert "Enter pin: " in login.stderr
    assert "2468" not in setup.stderr + login.stderr + login.stdout


def test_setup_asks_again_for_empty_value(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("setup", "pin", "alice", "--config", config, stdin="\n1357\n")

    assert outcome.status == ExitStatus.OK
    assert "pin is required." in outcome.stderr


def test_setup_invalid_input_asks_again(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run(
        "setup", "pin", "alice", "--config", config, stdin="9" * 65 + "\n1357\n"
    )

    assert outcome.status == ExitStatus.OK
    assert "pin: The value is invalid" in outcome.stderr


def test_login_asks_again_after_wrong_code(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")

    outcome = workspace.run("login", "alice", "--config", config, stdin="1111\n2468\n")

    assert outcome.status == ExitStatus.OK
    assert "The code is invalid" in outcome.stderr
    assert outcome.stderr.count("Enter pin: ") == 2
    assert "1111" not in outcome.stderr


def test_login_too_many_retry(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")

    outcome = workspace.run("login", "alice", "--config", config, stdin="1\n2\n3\n2468\n")

    assert outcome.status == ExitStatus.LOCKED
    assert "Too many wrong codes in this login MFA step" in outcome.stderr
    assert f"Start a new login with: mfa login alice --config {config}" in outcome.stderr


def test_login_not_required(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("login", "bob", "--config", config)

    assert outcome.status == ExitStatus.OK
    assert outcome.stdout == "MFA is not required for bob: the user has no module set up.\n"


def test_login_input_ended(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")

    outcome = workspace.run("login", "alice", "--config", config)

    assert outcome.status == ExitStatus.INPUT_REQUIRED
    assert "pass --code CODE" in outcome.stderr
    assert count_rows(workspace.store, "sessions") == 0


def test_login_choice_between_modules(workspace: Workspace) -> None:
    config = workspace.config(TWO_PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "1111")
    enrol_pin(workspace, config, "pin2", "alice", "2222")

    outcome = workspace.run("login", "alice", "--config", config, stdin="7\npin2\n2222\n")

    assert outcome.status == ExitStatus.OK
    assert "1) pin - Demo PIN" in outcome.stderr
    assert "2) pin2 - Second PIN" in outcome.stderr
    assert "module_id must be a number from the list" in outcome.stderr


def test_login_choice_by_number(workspace: Workspace) -> None:
    config = workspace.config(TWO_PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "1111")
    enrol_pin(workspace, config, "pin2", "alice", "2222")

    outcome = workspace.run("login", "alice", "--config", config, stdin="1\n1111\n")

    assert outcome.status == ExitStatus.OK


# Login with --module and --code


def test_login_with_module_and_code(workspace: Workspace) -> None:
    config = workspace.config(TWO_PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "1111")
    enrol_pin(workspace, config, "pin2", "alice", "2222")

    right = workspace.run(
        "login", "alice", "--config", config, "--module", "pin2", "--code", "2222"
    )
    wrong = workspace.run(
        "login", "alice", "--config", config, "--module", "pin2", "--code", "1111"
    )

    assert right.status == ExitStatus.OK
    assert right.stdout == "MFA passed for alice\n"
    assert wrong.status == ExitStatus.INVALID_CODE
    assert "MFA failed for alice" in wrong.stderr
    assert "1111" not in wrong.stderr + wrong.stdout


def test_login_module_not_enrolled(workspace: Workspace) -> None:
    config = workspace.config(TWO_PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "1111")

    outcome = workspace.run("login", "alice", "--config", config, "--module", "pin2", "--code", "1")

    assert outcome.status == ExitStatus.USAGE
    assert "alice is not enrolled in module pin2; enrolled modules: pin" in outcome.stderr


def test_login_json(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")

    passed = workspace.run("login", "alice", "--config", config, "--code", "2468", "--json")
    failed = workspace.run("login", "alice", "--config", config, "--code", "0000", "--json")
    not_required = workspace.run("login", "bob", "--config", config, "--json")

    assert json.loads(passed.stdout) == {
        "user_id": "alice",
        "outcome": "success",
        "module_id": "pin",
        "reason": None,
    }
    assert json.loads(failed.stdout)["outcome"] == "rejected"
    assert json.loads(failed.stdout)["reason"] == "invalid_code"
    assert failed.status == ExitStatus.INVALID_CODE
    assert count_rows(workspace.store, "sessions") == 0
    assert json.loads(not_required.stdout)["outcome"] == "not_required"


def test_login_back_off_without_prompt(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG + "limits:\n  free_failures: 0\n  backoff_base: 600\n")
    enrol_pin(workspace, config, "pin", "alice", "2468")

    wrong = workspace.run("login", "alice", "--config", config, "--code", "0000")
    during_back_off = workspace.run("login", "alice", "--config", config, "--code", "2468")

    assert wrong.status == ExitStatus.INVALID_CODE
    assert during_back_off.status == ExitStatus.LOCKED
    assert "Wait 600 s before the next attempt" in during_back_off.stderr


def test_login_back_off_with_prompt_waits(
    workspace: Workspace, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = workspace.config(PIN_CONFIG + "limits:\n  free_failures: 0\n  backoff_base: 5\n")
    enrol_pin(workspace, config, "pin", "alice", "2468")
    type_slowly(monkeypatch, clock, delay=3)

    outcome = workspace.run("login", "alice", "--config", config, stdin="0000\n2468\n2468\n")

    assert outcome.status == ExitStatus.OK
    assert "The code is invalid" in outcome.stderr
    assert "Wait 2 s before the next attempt" in outcome.stderr


def test_locked_out_then_unlock(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG + "limits:\n  lockout_after: 1\n")
    enrol_pin(workspace, config, "pin", "alice", "2468")

    wrong = workspace.run("login", "alice", "--config", config, "--code", "0000")
    locked = workspace.run("login", "alice", "--config", config, "--code", "2468")
    unlock = workspace.run("unlock", "pin", "alice", "--config", config)
    after_unlock = workspace.run("login", "alice", "--config", config, "--code", "2468")

    assert wrong.status == ExitStatus.LOCKED
    assert "alice is locked out of module pin" in wrong.stderr
    assert f"mfa unlock pin alice --config {config}" in wrong.stderr
    assert locked.status == ExitStatus.LOCKED
    assert unlock.status == ExitStatus.OK
    assert unlock.stdout == "Cleared the back-off and lockout of alice in module pin.\n"
    assert after_unlock.status == ExitStatus.OK


def test_login_expired(workspace: Workspace, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")
    type_slowly(monkeypatch, clock, delay=400)

    outcome = workspace.run("login", "alice", "--config", config, stdin="2468\n")

    assert outcome.status == ExitStatus.EXPIRED
    assert "The login MFA step expired" in outcome.stderr


def test_module_failure_is_unknown_error(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")

    async def broken_validate(self: object, user_id: str, user_input: dict[str, Any]) -> bool:
        raise RuntimeError("simulated module failure")

    monkeypatch.setattr(
        "mfa_insecure_example.module.InsecureExampleModule.mfa_validate", broken_validate
    )
    outcome = workspace.run("login", "alice", "--config", config, "--code", "2468")

    assert outcome.status == ExitStatus.FAILURE
    assert "Module pin failed with an unexpected error" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_interrupted_prompt(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    config = workspace.config(PIN_CONFIG)
    enrol_pin(workspace, config, "pin", "alice", "2468")

    def interrupted_prompt(console: Console, text: str, *, hidden: bool = False) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(Console, "prompt", interrupted_prompt)
    outcome = workspace.run("login", "alice", "--config", config)

    assert outcome.status == ExitStatus.INTERRUPTED
    assert outcome.status == 130
    assert "mfa: error: interrupted" in outcome.stderr


# Setup with --code and the pending flow


def test_setup_pending_then_code(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    started = workspace.run("setup", "pin", "alice", "--config", config)
    pending = workspace.pending_files()
    file_mode = stat.S_IMODE(pending[0].stat().st_mode)
    directory_mode = stat.S_IMODE(pending[0].parent.stat().st_mode)
    finished = workspace.run("setup", "pin", "alice", "--config", config, "--code", "8642")
    login = workspace.run("login", "alice", "--config", config, "--code", "8642")

    assert started.status == ExitStatus.INPUT_REQUIRED
    assert f"mfa setup pin alice --config {config} --code CODE" in started.stderr
    assert len(pending) == 1
    assert file_mode == 0o600
    assert directory_mode == 0o700
    assert finished.status == ExitStatus.OK
    assert workspace.pending_files() == []
    assert login.status == ExitStatus.OK


def test_setup_code_without_pending_flow(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    setup = workspace.run("setup", "pin", "bob", "--config", config, "--code", "5555")
    login = workspace.run("login", "bob", "--config", config, "--code", "5555")

    assert setup.status == ExitStatus.OK
    assert workspace.pending_files() == []
    assert login.status == ExitStatus.OK


def test_setup_code_rejected_keeps_flow_pending(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    workspace.run("setup", "pin", "alice", "--config", config)

    rejected = workspace.run("setup", "pin", "alice", "--config", config, "--code", "9" * 65)
    retried = workspace.run("setup", "pin", "alice", "--config", config, "--code", "1234")

    assert rejected.status == ExitStatus.INVALID_CODE
    assert "pin: The value is invalid" in rejected.stderr
    assert retried.status == ExitStatus.OK
    assert workspace.pending_files() == []


def test_setup_pending_flow_per_user(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    workspace.run("setup", "pin", "alice", "--config", config)
    workspace.run("setup", "pin", "bob/../x", "--config", config)
    bob = workspace.run("setup", "pin", "bob/../x", "--config", config, "--code", "1111")

    assert len(workspace.pending_files()) == 1
    assert bob.status == ExitStatus.OK


def test_setup_expired(workspace: Workspace, clock: Clock) -> None:
    config = workspace.config(PIN_CONFIG)
    workspace.run("setup", "pin", "alice", "--config", config)
    clock.now += 601

    outcome = workspace.run("setup", "pin", "alice", "--config", config, "--code", "1234")

    assert outcome.status == ExitStatus.EXPIRED
    assert "The setup flow expired or was replaced" in outcome.stderr
    assert workspace.pending_files() == []


def test_setup_damaged_pending_file(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    workspace.run("setup", "pin", "alice", "--config", config)
    workspace.pending_files()[0].write_text("{", encoding="utf-8")

    outcome = workspace.run("setup", "pin", "alice", "--config", config, "--code", "1234")

    assert outcome.status == ExitStatus.FAILURE
    assert "cannot read the pending setup file" in outcome.stderr
    assert "Delete it" in outcome.stderr


def test_setup_json_lines(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("setup", "pin", "alice", "--config", config, "--json", stdin="1234\n")

    form, result = (json.loads(line) for line in outcome.stdout.splitlines())
    assert outcome.status == ExitStatus.OK
    assert form["event"] == "form"
    assert form["fields"] == [
        {"type": "string", "lengthMin": 1, "lengthMax": 64, "name": "pin", "required": True}
    ]
    assert result == {
        "event": "result",
        "module_id": "pin",
        "user_id": "alice",
        "outcome": "enrolled",
        "reason": None,
        "pending": False,
    }


def test_setup_json_pending(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run("setup", "pin", "alice", "--config", config, "--json")

    result = json.loads(outcome.stdout.splitlines()[-1])
    assert result["outcome"] == "incomplete"
    assert result["pending"] is True


# --qr-file and the secret


def test_qr_file_rejects_other_suffix(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)

    outcome = workspace.run("setup", "totp", "alice", "--config", config, "--qr-file", "code.jpg")

    assert outcome.status == ExitStatus.USAGE
    assert "unsupported file type '.jpg'" in outcome.stderr
    assert not workspace.store.exists()


def test_qr_file_without_qr_code(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)
    target = workspace.root / "pin.png"

    outcome = workspace.run("setup", "pin", "alice", "--config", config, "--qr-file", str(target))

    assert outcome.status == ExitStatus.USAGE
    assert "module pin gives no QR code as PNG" in outcome.stderr
    assert not target.exists()
    assert count_rows(workspace.store, "flows") == 0


def test_qr_file_svg(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)
    target = workspace.root / "alice.svg"

    outcome = workspace.run("setup", "totp", "alice", "--config", config, "--qr-file", str(target))

    assert outcome.status == ExitStatus.INPUT_REQUIRED
    assert target.read_bytes().lstrip().startswith(b"<?xml")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_qr_file_png(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)
    target = workspace.root / "alice.png"

    workspace.run("setup", "totp", "alice", "--config", config, "--qr-file", str(target))

    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_secret_hidden_when_stdout_not_terminal(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)
    image = str(workspace.root / "alice.png")

    outcome = workspace.run_script("setup", "totp", "alice", "--config", config, "--qr-file", image)

    secret = workspace.flow_secret()
    grouped = " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
    assert outcome.status == ExitStatus.INPUT_REQUIRED
    assert outcome.stdout == ""
    assert "Add --show-secret to print them" in outcome.stderr
    for text in (outcome.stdout, outcome.stderr):
        assert secret not in text
        assert grouped not in text
        assert "otpauth://" not in text
        assert "█" not in text


def test_secret_hidden_in_json_without_show_secret(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)

    image = str(workspace.root / "alice.png")

    outcome = workspace.run(
        "setup", "totp", "alice", "--config", config, "--json", "--qr-file", image
    )

    form = json.loads(outcome.stdout.splitlines()[0])
    assert form["details"] == {}
    assert workspace.flow_secret() not in outcome.stdout


def test_setup_unseen_secret_ends_flow(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)

    outcome = workspace.run_script("setup", "totp", "alice", "--config", config)

    assert outcome.status == ExitStatus.INPUT_REQUIRED
    assert "no code can be entered later" in outcome.stderr
    assert "--show-secret or --qr-file FILE.png" in outcome.stderr
    assert count_rows(workspace.store, "flows") == 0
    assert workspace.pending_files() == []


def test_show_secret_prints_secret_and_uri(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)

    outcome = workspace.run("setup", "totp", "alice", "--config", config, "--show-secret")

    secret = workspace.flow_secret()
    grouped = " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
    assert f"Secret: {grouped}" in outcome.stdout
    assert f"otpauth URI: otpauth://totp/mfa-core:alice?secret={secret}" in outcome.stdout
    assert "█" in outcome.stdout
    assert secret not in outcome.stderr


def test_show_secret_json(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)

    outcome = workspace.run("setup", "totp", "alice", "--config", config, "--json", "--show-secret")

    details = json.loads(outcome.stdout.splitlines()[0])["details"]
    assert details["otpauth_uri"].startswith("otpauth://totp/")
    assert details["secret"].replace(" ", "") == workspace.flow_secret()
    assert "qr_code_png" not in details


def test_secret_shown_on_terminal(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)
    controller, terminal = pty.openpty()
    try:
        outcome = workspace.run_script(
            "setup", "totp", "alice", "--config", config, stdout=terminal
        )
        os.close(terminal)
        terminal_output = _read_all(controller)
    finally:
        os.close(controller)

    assert outcome.status == ExitStatus.INPUT_REQUIRED
    assert f"secret={workspace.flow_secret()}" in terminal_output
    assert "--show-secret" not in outcome.stderr


def _read_all(descriptor: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


def test_totp_wrong_code_with_code_option(workspace: Workspace) -> None:
    config = workspace.config(TOTP_CONFIG)
    image = str(workspace.root / "alice.png")
    workspace.run("setup", "totp", "alice", "--config", config, "--qr-file", image)

    outcome = workspace.run("setup", "totp", "alice", "--config", config, "--code", "12345")

    assert outcome.status == ExitStatus.INVALID_CODE
    assert "The code is invalid" in outcome.stderr
    assert "12345" not in outcome.stderr
    assert len(workspace.pending_files()) == 1


# status and depose


def test_status_and_depose(workspace: Workspace) -> None:
    config = workspace.config(TWO_PIN_CONFIG)
    enrol_pin(workspace, config, "pin2", "alice", "2222")

    status = workspace.run("status", "alice", "--config", config)
    status_json = workspace.run("status", "alice", "--config", config, "--json")
    depose = workspace.run("depose", "pin2", "alice", "--config", config)
    depose_again = workspace.run("depose", "pin2", "alice", "--config", config)
    after = workspace.run("status", "alice", "--config", config)

    assert status.status == ExitStatus.OK
    assert "pin2  insecure_example  Second PIN" in status.stdout
    assert json.loads(status_json.stdout) == {
        "user_id": "alice",
        "modules": [{"id": "pin2", "type": "insecure_example", "name": "Second PIN"}],
    }
    assert depose.stdout == "Removed the enrolment of alice in module pin2.\n"
    assert depose_again.stdout == "alice was not enrolled in module pin2; nothing to remove.\n"
    assert after.stdout == "alice is not enrolled in any module; MFA is not required at login.\n"


# The installed console script


def test_script_setup_and_login_through_stdin(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    setup = workspace.run_script("setup", "pin", "carol", "--config", config, stdin="7777\n")
    login = workspace.run_script("login", "carol", "--config", config, stdin="7777\n")
    wrong = workspace.run_script("login", "carol", "--config", config, "--code", "0000")

    assert setup.status == ExitStatus.OK
    assert setup.stdout == "carol is now enrolled in module pin (Demo PIN).\n"
    assert login.status == ExitStatus.OK
    assert login.stdout == "MFA passed for carol\n"
    assert wrong.status == ExitStatus.INVALID_CODE


def test_script_errors_have_no_traceback(workspace: Workspace) -> None:
    broken = workspace.config(BROKEN_CONFIG)
    pin = workspace.config(PIN_CONFIG, "pin.yaml")

    outcomes = [
        (workspace.run_script("modules", "--config", broken), ExitStatus.USAGE),
        (workspace.run_script("check-config", broken), ExitStatus.USAGE),
        (workspace.run_script("setup", "nosuch", "alice", "--config", pin), ExitStatus.USAGE),
        (
            workspace.run_script(
                "login", "alice", "--config", str(workspace.root / "missing.yaml")
            ),
            ExitStatus.USAGE,
        ),
    ]

    for outcome, expected in outcomes:
        assert outcome.status == expected
        assert "Traceback" not in outcome.stderr


def test_script_modules_json(workspace: Workspace) -> None:
    config = workspace.config(PIN_CONFIG)

    outcome = workspace.run_script("modules", "--config", config, "--json")

    assert outcome.status == ExitStatus.OK
    assert json.loads(outcome.stdout)["modules"][0]["id"] == "pin"


def test_default_config_is_one_totp_module(workspace: Workspace) -> None:
    outcome = workspace.run("modules", "--json")

    assert json.loads(outcome.stdout)["modules"] == [
        {"id": "totp", "type": "totp", "name": "Authenticator app"}
    ]


def test_config_file_in_config_directory(workspace: Workspace) -> None:
    directory = workspace.root / "mfa-core"
    directory.mkdir()
    (directory / "config.yaml").write_text(PIN_CONFIG, encoding="utf-8")

    outcome = workspace.run("modules", "--json")

    assert json.loads(outcome.stdout)["modules"][0]["id"] == "pin"


# Forms rendered from any schema


def _console(text: str) -> tuple[Console, io.StringIO]:
    errors = io.StringIO()
    return Console(io.StringIO(text), io.StringIO(), errors), errors


def test_form_fields_of_every_kind() -> None:
    fields = parse_fields(
        [
            {"type": "integer", "name": "count", "required": True, "valueMin": 1},
            {"type": "boolean", "name": "remember", "required": False, "default": False},
            {
                "type": "select",
                "name": "colour",
                "required": True,
                "options": [["r", "Red"], ["g", "Green"]],
            },
            {"type": "float", "name": "ratio", "required": False},
            {"type": "datetime", "name": "when", "required": True},
        ]
    )
    console, errors = _console("many\n3\nmaybe\nyes\n2\n\n2024-01-01\n")

    user_input = read_form(fields, console)

    assert user_input == {"count": 3, "remember": True, "colour": "g", "when": "2024-01-01"}
    assert "count must be a whole number." in errors.getvalue()
    assert "remember must be yes or no." in errors.getvalue()
    assert "Enter ratio (optional): " in errors.getvalue()
    assert "remember (yes/no) [False]: " in errors.getvalue()


def test_form_empty_answer_takes_default() -> None:
    fields = parse_fields(
        [
            {"type": "integer", "name": "digits", "required": True, "default": 6},
            {"type": "string", "name": "label", "required": False, "default": "work"},
        ]
    )
    console, errors = _console("\n\n")

    assert read_form(fields, console) == {"digits": 6, "label": "work"}
    assert "is required" not in errors.getvalue()


def test_form_hides_pin_and_password_fields() -> None:
    fields = parse_fields(
        [
            {"type": "string", "name": "pin", "required": True},
            {"type": "string", "name": "new_password", "required": True},
            {"type": "string", "name": "code", "required": True},
            {"type": "string", "name": "spinner", "required": True},
        ]
    )

    assert [field.hidden for field in fields] == [True, True, False, False]


def test_fill_single_field() -> None:
    single = parse_fields([{"type": "integer", "name": "otp", "required": True}])
    several = parse_fields(
        [
            {"type": "string", "name": "code", "required": True},
            {"type": "string", "name": "note", "required": False},
        ]
    )

    assert fill_single_field(single, "042", option="--code") == {"otp": 42}
    assert fill_single_field(several, "123456", option="--code") == {"code": "123456"}


def test_fill_single_field_rejects_ambiguous_form() -> None:
    fields = parse_fields(
        [
            {"type": "string", "name": "first", "required": True},
            {"type": "string", "name": "second", "required": True},
        ]
    )

    with pytest.raises(CommandError, match="has several fields \\(first, second\\)"):
        fill_single_field(fields, "1", option="--code")


def test_convert_choice_prefers_value_to_number() -> None:
    (field,) = parse_fields(
        [{"type": "select", "name": "n", "required": True, "options": [["2", "two"], ["1", "one"]]}]
    )

    assert convert_value(field, "1") == "1"
    assert convert_value(field, "2") == "2"

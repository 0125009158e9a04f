"""``mfa login USER``: run the login MFA step as a host does after its password check."""

from __future__ import annotations

import argparse
from typing import Any

from mfa_core.login import MODULE_FIELD, SELECT_STEP
from mfa_core.results import LoginResult
from mfa_core.sync import SyncMfaHost

from ..console import Console, InputEndedError
from ..errors import CommandError
from ..exit_codes import ExitStatus, exit_status_for, exit_status_for_errors
from ..forms import fill_single_field, parse_fields, read_form
from ..host import open_host, require_module, require_user_id
from ..messages import describe_form_errors, describe_key
from ..output import print_json

HELP = "run the login MFA step for a user"
DESCRIPTION = """\
Begin the login MFA step for USER, choose the module when the user has several, and
check the code. Without --code, the code is read from standard input (prompt on
standard error) and a wrong code can be entered again; with --code, one attempt is made."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``mfa login``."""
    parser.add_argument("user", metavar="USER", help="id of the user who passed the password check")
    parser.add_argument(
        "--module",
        metavar="ID",
        help="module to use when the user is enrolled in several (default: ask)",
    )
    parser.add_argument("--code", metavar="CODE", help="check CODE once instead of prompting")
    parser.add_argument("--json", action="store_true", help="write the result as a JSON object")


def run(args: argparse.Namespace, console: Console) -> int:
    """Run ``mfa login`` and return the exit status."""
    user_id = require_user_id(args.user)
    with open_host(args.config) as host:
        if args.module is not None:
            _check_enrolled(host, args.module, user_id)
        return _LoginRun(host, console, user_id, args).run()


def _check_enrolled(host: SyncMfaHost, module_id: str, user_id: str) -> None:
    require_module(host, module_id)
    enrolled = [module.id for module in host.user_modules(user_id)]
    if module_id not in enrolled:
        raise CommandError(
            f"{user_id} is not enrolled in module {module_id}; enrolled modules: "
            f"{', '.join(enrolled) or 'none'}. Choose one of them, or enrol the user with: "
            f"mfa setup {module_id} {user_id}",
            ExitStatus.USAGE,
        )


class _LoginRun:
    """One login MFA step: each form filled from the options once, or from prompts."""

    def __init__(
        self, host: SyncMfaHost, console: Console, user_id: str, args: argparse.Namespace
    ) -> None:
        self._host = host
        self._console = console
        self._user_id = user_id
        self._module_choice: str | None = args.module
        self._code: str | None = args.code
        self._as_json: bool = args.json
        self._config: str | None = args.config
        self._announced_module: str | None = None

    def run(self) -> int:
        """Run the step to its end and return the exit status."""
        result = self._host.begin_login(self._user_id)
        while result.type == "form":
            self._show_form(result)
            try:
                user_input = self._input_for(result)
            except InputEndedError:
                return self._stop_incomplete(result)
            if user_input is None:
                return self._stop_rejected(result)
            if result.session_id is None:
                raise ValueError("a login form result has no session_id")
            result = self._host.continue_login(result.session_id, self._user_id, user_input)
        return self._finish(result)

    def _input_for(self, result: LoginResult) -> dict[str, Any] | None:
        """Return the input for the form, or ``None`` when its option was already used."""
        fields = parse_fields(result.data_schema_json)
        if result.step_id == SELECT_STEP:
            if self._module_choice is None:
                return read_form(fields, self._console)
            if result.errors:
                return None
            return {MODULE_FIELD: self._module_choice}

        if self._code is None:
            return read_form(fields, self._console)
        if result.errors:
            return None
        return fill_single_field(fields, self._code, option="--code")

    def _show_form(self, result: LoginResult) -> None:
        if result.step_id != SELECT_STEP and result.module_id != self._announced_module:
            self._announced_module = result.module_id
            self._console.message(f"MFA for {self._user_id} with module {result.module_id}.")
        for line in describe_form_errors(
            result.errors,
            user_id=self._user_id,
            module_id=result.module_id,
            placeholders=result.description_placeholders,
            config=self._config,
        ):
            self._console.message(line)

    def _finish(self, result: LoginResult) -> int:
        if result.type == "success":
            self._report("success", result.module_id, None, f"MFA passed for {self._user_id}")
            return ExitStatus.OK
        if result.type == "not_required":
            text = f"MFA is not required for {self._user_id}: the user has no module set up."
            self._report("not_required", None, None, text)
            return ExitStatus.OK

        reason = result.reason or "unknown_error"
        text = describe_key(
            reason, user_id=self._user_id, module_id=result.module_id, config=self._config
        )
        self._console.error(f"login MFA step aborted: {text}")
        self._report("aborted", result.module_id, reason, None)
        return exit_status_for(reason)

    def _end_session(self, result: LoginResult) -> None:
        # The command makes no further attempt, so the session would only wait for expiry.
        if result.session_id is not None:
            self._host.abort_login(result.session_id, self._user_id)

    def _stop_rejected(self, result: LoginResult) -> int:
        self._end_session(result)
        self._console.error(f"MFA failed for {self._user_id}.")
        reason = next(iter(result.errors.values()), None)
        self._report("rejected", result.module_id, reason, None)
        return exit_status_for_errors(result.errors)

    def _stop_incomplete(self, result: LoginResult) -> int:
        self._end_session(result)
        self._console.error(
            "standard input ended before the form was complete. Type the answer at the "
            "prompt, or pass --code CODE (and --module ID for a user with several modules)."
        )
        self._report("incomplete", result.module_id, None, None)
        return ExitStatus.INPUT_REQUIRED

    def _report(
        self, outcome: str, module_id: str | None, reason: str | None, text: str | None
    ) -> None:
        if self._as_json:
            document = {
                "user_id": self._user_id,
                "outcome": outcome,
                "module_id": module_id,
                "reason": reason,
            }
            print_json(self._console, document)
        elif text is not None:
            self._console.output(text)

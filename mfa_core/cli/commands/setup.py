"""``mfa setup MODULE_ID USER``: enrol a user in a module through its setup flow."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from mfa_core.host import ModuleInfo
from mfa_core.results import FlowResult
from mfa_core.sync import SyncMfaHost

from ..console import Console, InputEndedError
from ..errors import CommandError
from ..exit_codes import ExitStatus, exit_status_for, exit_status_for_errors
from ..forms import fill_single_field, parse_fields, read_form
from ..host import open_host, require_module, require_user_id, store_path
from ..pending import PendingSetup, PendingSetups
from ..qr_file import QrFile
from ..setup_view import SetupView

HELP = "enrol a user in a module"
DESCRIPTION = """\
Run the module's setup flow: show its enrolment details, prompt for each form field
on standard error and read the answers from standard input. When standard input ends
before the form is complete, the flow stays open: finish it later with --code."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``mfa setup``."""
    parser.add_argument("module_id", metavar="MODULE_ID", help="id of a configured module")
    parser.add_argument("user", metavar="USER", help="id of the user to enrol")
    parser.add_argument(
        "--name",
        metavar="DISPLAY_NAME",
        help="account name shown in the authenticator app (default: the user id)",
    )
    parser.add_argument(
        "--qr-file",
        metavar="PATH",
        help="save the QR code to PATH, a .png or .svg file (mode 0600)",
    )
    parser.add_argument(
        "--code",
        metavar="CODE",
        help="submit CODE without prompting: continue the flow a previous mfa setup left "
        "open, or start one and submit CODE (for a PIN module, CODE is the new PIN)",
    )
    parser.add_argument(
        "--show-secret",
        action="store_true",
        help="print the secret, the otpauth URI and the QR code even when standard output "
        "is not a terminal",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="write one JSON object per line: each form shown, then the result",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    """Run ``mfa setup`` and return the exit status."""
    user_id = require_user_id(args.user)
    qr_file = QrFile.from_option(args.qr_file) if args.qr_file else None

    with open_host(args.config) as host:
        module = require_module(host, args.module_id)
        view = SetupView(
            console,
            module=module,
            user_id=user_id,
            as_json=args.json,
            show_secret=args.show_secret,
            qr_file=qr_file,
            config=args.config,
        )
        setup = _SetupRun(host, console, view, module, user_id, args)
        if args.code is None:
            return setup.run_with_prompts()
        return setup.run_with_code(args.code)


class _SetupRun:
    """One setup flow of one user in one module, driven by prompts or by ``--code``."""

    def __init__(
        self,
        host: SyncMfaHost,
        console: Console,
        view: SetupView,
        module: ModuleInfo,
        user_id: str,
        args: argparse.Namespace,
    ) -> None:
        self._host = host
        self._console = console
        self._view = view
        self._module = module
        self._user_id = user_id
        self._args = args
        self._pending = PendingSetups.beside_store(store_path(host))

    def run_with_prompts(self) -> int:
        """Start a flow and fill each form from standard input until the flow ends."""
        result = self._start()
        while result.type == "form":
            self._show_form(result)
            try:
                user_input = read_form(parse_fields(result.data_schema_json), self._console)
            except InputEndedError:
                return self._leave_open(result)
            result = self._continue(result.flow_id, user_input)
        return self._finish(result)

    def run_with_code(self, code: str) -> int:
        """Submit ``code`` once: to the pending flow if there is one, else to a new flow."""
        pending = self._pending.load(self._module.id, self._user_id)
        if pending is not None:
            self._note_ignored_options()
            self._view.hide_details()
            flow_id: str | None = pending.flow_id
            fields = parse_fields(pending.fields)
        else:
            result = self._start()
            if result.type != "form":
                return self._finish(result)
            self._show_form(result)
            flow_id = result.flow_id
            fields = parse_fields(result.data_schema_json)

        user_input = fill_single_field(fields, code, option="--code")
        result = self._continue(flow_id, user_input)
        if result.type == "form":
            self._view.show_form(result)
            return self._leave_open(result)
        return self._finish(result)

    def _show_form(self, result: FlowResult) -> None:
        # A form that cannot be shown (no QR code for --qr-file) ends its flow at once.
        try:
            self._view.show_form(result)
        except CommandError:
            if result.flow_id is not None:
                self._host.abort_setup(result.flow_id, self._user_id)
            raise

    def _start(self) -> FlowResult:
        # A new flow replaces the one an earlier run left pending.
        replaced = self._pending.load(self._module.id, self._user_id)
        if replaced is not None:
            self._host.abort_setup(replaced.flow_id, self._user_id)
            self._pending.remove(self._module.id, self._user_id)
        return self._host.start_setup(
            self._module.id, self._user_id, display_name=self._args.name or None
        )

    def _continue(self, flow_id: str | None, user_input: dict[str, Any]) -> FlowResult:
        if flow_id is None:
            raise ValueError("a setup form result has no flow_id")
        return self._host.continue_setup(flow_id, self._user_id, user_input)

    def _leave_open(self, result: FlowResult) -> int:
        if result.flow_id is None:
            raise ValueError("a setup form result has no flow_id")
        if self._view.details_unseen:
            # The secret and the QR code were not shown, so no code could ever finish this flow.
            self._host.abort_setup(result.flow_id, self._user_id)
            self._pending.remove(self._module.id, self._user_id)
            self._console.error(
                f"setup of module {self._module.id} ended: its secret and QR code were not "
                "shown, so no code can be entered later. Run it again with --show-secret or "
                "--qr-file FILE.png."
            )
            if result.errors:
                return exit_status_for_errors(result.errors)
            return ExitStatus.INPUT_REQUIRED
        self._pending.save(
            PendingSetup(
                flow_id=result.flow_id,
                module_id=self._module.id,
                user_id=self._user_id,
                fields=list(result.data_schema_json or []),
            )
        )
        lifetime = self._host.host.settings.flow_lifetime
        self._view.show_pending(result, self._continue_command(), lifetime)
        return exit_status_for_errors(result.errors)

    def _finish(self, result: FlowResult) -> int:
        self._pending.remove(self._module.id, self._user_id)
        if result.type == "create_entry":
            self._view.show_enrolled()
            return ExitStatus.OK

        reason = result.reason or "unknown_error"
        self._view.show_abort(reason)
        return exit_status_for(reason)

    def _continue_command(self) -> str:
        command = ["mfa", "setup", self._module.id, self._user_id]
        if self._args.config:
            command += ["--config", self._args.config]
        return shlex.join(command) + " --code CODE"

    def _note_ignored_options(self) -> None:
        options = (
            ("--name", self._args.name),
            ("--qr-file", self._args.qr_file),
            ("--show-secret", self._args.show_secret),
        )
        for option, value in options:
            if value:
                self._console.message(
                    f"{option} is ignored: continuing the setup flow that an earlier mfa setup "
                    "left open."
                )

"""The output of ``mfa setup``: enrolment details, form errors and the outcome, as text or JSON.

The enrolment details are the secret, the otpauth URI, the QR code and the
module's other description placeholders. They are printed only when standard
output is a terminal or ``--show-secret`` is given, because the QR code and the
URI contain the secret.
"""

from __future__ import annotations

from typing import Any, Final

from mfa_core.host import ModuleInfo
from mfa_core.results import FlowResult

from .console import Console
from .messages import describe_form_errors, describe_key
from .output import print_json
from .qr_file import QrFile

QR_TEXT: Final = "qr_code_text"
# Placeholders that are never printed as details: images go to --qr-file, retry_after
# goes into the try_again_later message.
_NOT_DETAILS: Final = frozenset({"qr_code_png", "qr_code_svg", QR_TEXT, "retry_after"})
_LABELS: Final = {"secret": "Secret", "otpauth_uri": "otpauth URI"}


class SetupView:
    """Shows the forms and the outcome of one setup flow."""

    def __init__(
        self,
        console: Console,
        *,
        module: ModuleInfo,
        user_id: str,
        as_json: bool,
        show_secret: bool,
        qr_file: QrFile | None,
        config: str | None = None,
    ) -> None:
        self._console = console
        self._config = config
        self._module = module
        self._user_id = user_id
        self._as_json = as_json
        self._reveal = show_secret or console.stdout_is_terminal
        self._qr_file = qr_file
        self._shown_steps: set[str] = set()
        self._details_hidden = False
        self._unseen = False

    @property
    def details_unseen(self) -> bool:
        """Whether a form's secret was neither printed nor saved as a QR code file."""
        return self._unseen

    def hide_details(self) -> None:
        """Show no enrolment details from now on, as for a flow an earlier run showed."""
        self._details_hidden = True

    def show_form(self, result: FlowResult) -> None:
        """Show a form's enrolment details the first time its step appears, then its errors."""
        step_id = result.step_id or ""
        first_time = step_id not in self._shown_steps and not self._details_hidden
        self._shown_steps.add(step_id)
        placeholders = result.description_placeholders
        details = _details(placeholders) if self._reveal else {}

        if first_time:
            self._write_qr_file(placeholders)
            if not self._as_json:
                self._print_details(placeholders, details)
            if _has_hidden_details(placeholders) and not self._reveal:
                self._explain_hidden_details()
                self._unseen = self._qr_file is None
        if self._as_json:
            self._print_form_json(result, details if first_time else {})

        for line in self._describe_errors(result):
            self._console.message(line)

    def show_enrolled(self) -> None:
        """Report that the user is enrolled."""
        if self._as_json:
            self._print_result_json("enrolled", None, pending=False)
            return
        module = self._module
        self._console.output(
            f"{self._user_id} is now enrolled in module {module.id} ({module.name})."
        )

    def show_abort(self, reason: str) -> None:
        """Report that the flow ended without enrolling the user."""
        text = describe_key(
            reason, user_id=self._user_id, module_id=self._module.id, config=self._config
        )
        self._console.error(f"setup of module {self._module.id} aborted: {text}")
        if self._as_json:
            self._print_result_json("aborted", reason, pending=False)

    def show_pending(self, result: FlowResult, continue_command: str, lifetime: int) -> None:
        """Report that the flow stays open, and how to finish it with ``--code``."""
        minutes = max(1, lifetime // 60)
        unit = "minute" if minutes == 1 else "minutes"
        self._console.message(
            f"The setup flow of module {self._module.id} for {self._user_id} stays open for up "
            f"to {minutes} {unit}. Finish it with: {continue_command}"
        )
        if self._as_json:
            reason = next(iter(result.errors.values()), None)
            outcome = "rejected" if reason else "incomplete"
            self._print_result_json(outcome, reason, pending=True)

    def _write_qr_file(self, placeholders: dict[str, str]) -> None:
        if self._qr_file is None:
            return
        self._qr_file.write(placeholders, self._module.id)
        self._console.message(f"Saved the QR code to {self._qr_file.path}.")

    def _print_details(self, placeholders: dict[str, str], details: dict[str, str]) -> None:
        if self._reveal and QR_TEXT in placeholders:
            self._console.output(placeholders[QR_TEXT])
        for key, value in details.items():
            label = _LABELS.get(key, key.replace("_", " ").capitalize())
            self._console.output(f"{label}: {value}")

    def _explain_hidden_details(self) -> None:
        hint = "Add --show-secret to print them"
        if self._qr_file is None:
            hint += ", or --qr-file FILE.png to save the QR code"
        self._console.message(
            "The secret, the otpauth URI and the QR code are not printed because standard "
            f"output is not a terminal. {hint}."
        )

    def _describe_errors(self, result: FlowResult) -> list[str]:
        return describe_form_errors(
            result.errors,
            user_id=self._user_id,
            module_id=self._module.id,
            placeholders=result.description_placeholders,
            config=self._config,
        )

    def _print_form_json(self, result: FlowResult, details: dict[str, str]) -> None:
        document: dict[str, Any] = {
            "event": "form",
            "module_id": self._module.id,
            "user_id": self._user_id,
            "step_id": result.step_id,
            "fields": result.data_schema_json or [],
            "errors": result.errors,
            "details": details,
        }
        print_json(self._console, document)

    def _print_result_json(self, outcome: str, reason: str | None, *, pending: bool) -> None:
        document = {
            "event": "result",
            "module_id": self._module.id,
            "user_id": self._user_id,
            "outcome": outcome,
            "reason": reason,
            "pending": pending,
        }
        print_json(self._console, document)


def _details(placeholders: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in placeholders.items() if key not in _NOT_DETAILS}


def _has_hidden_details(placeholders: dict[str, str]) -> bool:
    return any(key != "retry_after" for key in placeholders)

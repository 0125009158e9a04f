"""Exit statuses of the ``mfa`` command, and the status for each stable error or abort key."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Final

from mfa_core import errors


class ExitStatus(IntEnum):
    """The statuses ``mfa`` exits with. Scripts may rely on them."""

    OK = 0
    # The code or another form value was rejected (invalid_code, invalid_input).
    INVALID_CODE = 1
    # Invalid command line, invalid configuration or unknown module id. argparse also uses 2.
    USAGE = 2
    # The login MFA step or the setup flow expired (login_expired, setup_expired).
    EXPIRED = 3
    # Locked out, too many wrong codes in one attempt, or still in back-off without a prompt
    # to wait at (locked_out, too_many_retry, try_again_later).
    LOCKED = 4
    # Store error, module failure (unknown_error) or any other abort.
    FAILURE = 5
    # Standard input ended before a form was complete. A setup flow stays pending.
    INPUT_REQUIRED = 6
    # Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
    INTERRUPTED = 130


_STATUS_BY_KEY: Final[Mapping[str, ExitStatus]] = {
    errors.INVALID_CODE: ExitStatus.INVALID_CODE,
    errors.INVALID_INPUT: ExitStatus.INVALID_CODE,
    errors.INVALID_AUTH_MODULE: ExitStatus.USAGE,
    errors.LOGIN_EXPIRED: ExitStatus.EXPIRED,
    errors.SETUP_EXPIRED: ExitStatus.EXPIRED,
    errors.LOCKED_OUT: ExitStatus.LOCKED,
    errors.TOO_MANY_RETRY: ExitStatus.LOCKED,
    errors.TRY_AGAIN_LATER: ExitStatus.LOCKED,
    errors.UNKNOWN_ERROR: ExitStatus.FAILURE,
}

EXIT_STATUS_HELP: Final = """exit statuses:
  0    success (also: MFA not required, configuration OK)
  1    invalid code or invalid form value
  2    usage error, invalid configuration or unknown module id
  3    login MFA step or setup flow expired
  4    locked out, too many wrong codes, or retry later (back-off)
  5    store error, module failure or other abort
  6    standard input ended before a form was complete (setup stays pending)
  130  interrupted"""


def exit_status_for(key: str) -> ExitStatus:
    """Return the status for an error or abort key; keys of a module's own map to FAILURE."""
    return _STATUS_BY_KEY.get(key, ExitStatus.FAILURE)


def exit_status_for_errors(form_errors: Mapping[str, str]) -> ExitStatus:
    """Return the status for a form that came back with errors: the highest of its keys."""
    statuses = [exit_status_for(key) for key in form_errors.values()]
    return max(statuses, default=ExitStatus.INPUT_REQUIRED)

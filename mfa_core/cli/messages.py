"""Plain English for the stable error and abort keys that forms and results carry."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Final

from mfa_core import errors

BASE_FIELD: Final = "base"

_MESSAGES: Final[Mapping[str, str]] = {
    errors.INVALID_CODE: (
        "The code is invalid. Check it and try again; a one-time code that was already "
        "used is not accepted again, so wait for the next one."
    ),
    errors.INVALID_INPUT: "The value is invalid. Check its length and format.",
    errors.INVALID_AUTH_MODULE: "The chosen module is not one the user is enrolled in.",
    errors.TRY_AGAIN_LATER: (
        "Too many failed attempts. Wait {retry_after} s before the next attempt."
    ),
    errors.LOCKED_OUT: (
        "Too many failed attempts: {user_id} is locked out of module {module_id}. "
        "An administrator can clear the lockout with: mfa unlock {module_id} {user_id}{config}"
    ),
    errors.TOO_MANY_RETRY: (
        "Too many wrong codes in this login MFA step. Start a new login with: "
        "mfa login {user_id}{config}"
    ),
    errors.LOGIN_EXPIRED: (
        "The login MFA step expired or was already used. Start a new login with: "
        "mfa login {user_id}{config}"
    ),
    errors.SETUP_EXPIRED: (
        "The setup flow expired or was replaced. Start a new one with: "
        "mfa setup {module_id} {user_id}{config}"
    ),
    errors.UNKNOWN_ERROR: (
        "Module {module_id} failed with an unexpected error; the log message above has the details."
    ),
}


def describe_key(
    key: str,
    *,
    user_id: str,
    module_id: str | None,
    placeholders: Mapping[str, str] | None = None,
    config: str | None = None,
) -> str:
    """Return the message for an error or abort key, filled in with the ids involved.

    ``config`` is the ``--config`` file of the command, repeated in suggested commands.
    """
    template = _MESSAGES.get(key)
    if template is None:
        return f"Module {module_id or '?'} reported {key!r}."

    retry_after = (placeholders or {}).get("retry_after", "a few")
    config_option = f" --config {shlex.quote(config)}" if config else ""
    return template.format(
        user_id=shlex.quote(user_id),
        module_id=module_id or "?",
        retry_after=retry_after,
        config=config_option,
    )


def describe_form_errors(
    form_errors: Mapping[str, str],
    *,
    user_id: str,
    module_id: str | None,
    placeholders: Mapping[str, str] | None = None,
    config: str | None = None,
) -> list[str]:
    """Return one message per form error, prefixed with the field name unless it is ``base``."""
    lines = []
    for field_name, key in form_errors.items():
        text = describe_key(
            key, user_id=user_id, module_id=module_id, placeholders=placeholders, config=config
        )
        lines.append(text if field_name == BASE_FIELD else f"{field_name}: {text}")
    return lines

"""Results of setup-flow steps and login MFA steps, as hosts receive them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import voluptuous as vol

FlowResultType = Literal["form", "create_entry", "abort"]
LoginResultType = Literal["not_required", "form", "success", "abort"]


@dataclass
class FlowResult:
    """One step's outcome: a form to show, a finished enrolment or an abort.

    ``description_placeholders`` can carry a secret (a TOTP seed, an otpauth URI),
    so it is kept out of ``repr``.
    """

    type: FlowResultType
    step_id: str | None = None
    data_schema: vol.Schema | None = field(default=None, repr=False)
    errors: dict[str, str] = field(default_factory=dict)
    description_placeholders: dict[str, str] = field(default_factory=dict, repr=False)
    reason: str | None = None
    title: str | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    flow_id: str | None = field(default=None, repr=False)
    module_id: str | None = None
    data_schema_json: list[dict[str, Any]] | None = field(default=None, repr=False)


@dataclass
class LoginResult:
    """One login MFA step outcome.

    ``not_required``: the user has no module set up. ``form``: show ``data_schema``
    and send the input to ``continue_login`` with ``session_id``. ``success``: the
    user passed; ``user_id`` names them. ``abort``: the session ended, see ``reason``.
    """

    type: LoginResultType
    session_id: str | None = field(default=None, repr=False)
    step_id: str | None = None
    module_id: str | None = None
    data_schema: vol.Schema | None = field(default=None, repr=False)
    data_schema_json: list[dict[str, Any]] | None = field(default=None, repr=False)
    errors: dict[str, str] = field(default_factory=dict)
    description_placeholders: dict[str, str] = field(default_factory=dict, repr=False)
    reason: str | None = None
    user_id: str | None = None

"""The TOTP module and its setup flow."""

from __future__ import annotations

import logging
from typing import Any, Final

import voluptuous as vol

from mfa_core.errors import INVALID_CODE
from mfa_core.flow import SetupFlow
from mfa_core.module import MfaModule, ModuleContext
from mfa_core.results import FlowResult

from .config import CONF_ALGORITHM, CONF_DIGITS, CONF_PERIOD, TotpSettings
from .otp import (
    find_matching_step,
    generate_secret,
    group_secret,
    normalize_code,
    normalize_secret,
    time_step,
)
from .otpauth import build_otpauth_uri
from .qr import render_qr_code

_LOGGER = logging.getLogger(__name__)

CODE_FIELD: Final = "code"
CODE_SCHEMA: Final = vol.Schema({vol.Required(CODE_FIELD): str})
SECRET_KEY: Final = "secret"  # noqa: S105 (a key in user data, not a password)
STEP_KEY: Final = "step"
DISPLAY_NAME_KEY: Final = "display_name"


class TotpSetupFlow(SetupFlow):
    """Enrolment: show a new secret as a URI and QR code, then confirm it with one code.

    The pending secret lives in the flow state until a code confirms it, so an
    abandoned re-enrolment leaves the user's current secret working.
    """

    def data_schema(self, step_id: str) -> vol.Schema | None:
        if step_id == "init":
            return self._totp.mfa_input_schema()
        return None

    def step_init(self, user_input: dict[str, Any] | None) -> FlowResult:
        """Show the pending secret, or finish the flow when the submitted code matches it."""
        secret = self._pending_secret()
        if user_input is None:
            return self._show_init_form(secret)

        settings = self._totp.settings
        step = self._totp.match_code(secret, user_input.get(CODE_FIELD), settings)
        if step is None:
            return self._show_init_form(secret, errors={"base": INVALID_CODE})
        return self.create_entry(
            {
                SECRET_KEY: secret,
                STEP_KEY: step,
                CONF_DIGITS: settings.digits,
                CONF_PERIOD: settings.period,
                CONF_ALGORITHM: settings.algorithm,
            }
        )

    @property
    def _totp(self) -> TotpModule:
        if not isinstance(self.module, TotpModule):
            raise TypeError(f"TotpSetupFlow needs a TotpModule, got {type(self.module).__name__}")
        return self.module

    def _pending_secret(self) -> str:
        # A step shown again with no input must keep the secret the user may already have scanned.
        secret = self.data.get(SECRET_KEY)
        if not isinstance(secret, str):
            secret = generate_secret(self._totp.settings.algorithm)
            self.data[SECRET_KEY] = secret
        return secret

    def _show_init_form(self, secret: str, errors: dict[str, str] | None = None) -> FlowResult:
        settings = self._totp.settings
        account = self.context.get(DISPLAY_NAME_KEY) or self.user_id
        uri = build_otpauth_uri(secret, account, settings)
        images = render_qr_code(uri)

        placeholders = {
            "otpauth_uri": uri,
            "secret": group_secret(secret),
            "qr_code_svg": images.svg_base64,
            "qr_code_png": images.png_base64,
            "qr_code_text": images.text,
            "issuer": settings.issuer,
            "account": account,
            "digits": str(settings.digits),
            "algorithm": settings.algorithm,
            "period": str(settings.period),
        }
        return self.show_form("init", errors=errors, description_placeholders=placeholders)


class TotpModule(MfaModule):
    """Time-based one-time passwords (RFC 6238) from an authenticator app.

    User data is ``{"secret": base32, "digits", "period", "algorithm"}``, the
    parameters the user's authenticator scanned. The module's counter is the last
    accepted time step, so each step's code is accepted at most once.
    """

    setup_flow_class = TotpSetupFlow

    def __init__(self, context: ModuleContext) -> None:
        super().__init__(context)
        self.settings = TotpSettings.from_config(context.config)

    def mfa_input_schema(self) -> vol.Schema:
        return CODE_SCHEMA

    async def mfa_setup_user(self, user_id: str, setup_data: dict[str, Any]) -> None:
        """Store the user's secret, and record the step confirmed during setup if given.

        Raises ``ValueError`` when the secret is missing or invalid, or when the
        step is not an integer between 0 and the current step plus the window.
        """
        raw_secret = setup_data.get(SECRET_KEY)
        if not isinstance(raw_secret, str):
            raise ValueError("TOTP setup data must contain 'secret', a base32 string")
        secret = normalize_secret(raw_secret)
        settings = self.settings.for_enrolment(setup_data)
        step = self._confirmed_step(setup_data, settings)

        await self.data.put(
            user_id,
            {
                SECRET_KEY: secret,
                CONF_DIGITS: settings.digits,
                CONF_PERIOD: settings.period,
                CONF_ALGORITHM: settings.algorithm,
            },
        )

        # Recording the step makes the code typed during setup unusable for login.
        if step is not None:
            await self.data.advance_counter(user_id, step)

    async def mfa_validate(self, user_id: str, user_input: dict[str, Any]) -> bool:
        """Check the code and accept its time step at most once.

        The step is recorded with an atomic check-and-update in the store, so of
        several processes submitting one code, exactly one succeeds.
        """
        data = await self.data.get(user_id)
        if data is None:
            return False

        secret = self._stored_secret(data, user_id)
        settings = self.settings.for_enrolment(data)
        step = self.match_code(secret, user_input.get(CODE_FIELD), settings)
        if step is None:
            return False

        if await self.data.advance_counter(user_id, step):
            return True
        _LOGGER.warning(
            "Rejected a TOTP code for user %r in module %r: its time step was already used",
            user_id,
            self.id,
        )
        return False

    def match_code(self, secret: str, raw_code: object, settings: TotpSettings) -> int | None:
        """Return the highest time step in the window whose code equals ``raw_code``, or ``None``.

        ``raw_code`` is normalised first. No counter is read or changed.
        """
        code = normalize_code(raw_code, settings.digits)
        if code is None:
            return None
        return find_matching_step(secret, code, self.now(), settings)

    def _confirmed_step(self, setup_data: dict[str, Any], settings: TotpSettings) -> int | None:
        step = setup_data.get(STEP_KEY)
        if step is None:
            return None

        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"TOTP setup 'step' must be a non-negative integer, got {step!r}")

        # A step far ahead would reject every code until that time comes.
        latest = time_step(self.now(), settings.period) + settings.window
        if step > latest:
            raise ValueError(
                f"TOTP setup 'step' {step} is later than the latest valid step {latest}. "
                "Pass the step that setup confirmed, or omit it."
            )
        return step

    def _stored_secret(self, data: dict[str, Any], user_id: str) -> str:
        secret = data.get(SECRET_KEY)
        if not isinstance(secret, str):
            raise ValueError(
                f"stored data of user {user_id!r} in TOTP module {self.id!r} has no secret. "
                "Enrol the user again."
            )
        return secret

"""Configuration of a TOTP module: the schema of its own keys and the validated settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import voluptuous as vol

CONF_ISSUER: Final = "issuer"
CONF_DIGITS: Final = "digits"
CONF_PERIOD: Final = "period"
CONF_ALGORITHM: Final = "algorithm"
CONF_WINDOW: Final = "window"

DEFAULT_ISSUER: Final = "mfa-core"
DEFAULT_DIGITS: Final = 6
DEFAULT_PERIOD: Final = 30
DEFAULT_ALGORITHM: Final = "SHA1"
DEFAULT_WINDOW: Final = 1

ALLOWED_DIGITS: Final = (6, 8)
ALGORITHMS: Final = ("SHA1", "SHA256", "SHA512")
MIN_PERIOD: Final = 15
# A code must change at least every two minutes: pyotp 2.12 enforces the same limit and
# cites NIST SP 800-63B-4 section 3.1.4.1 for it.
MAX_PERIOD: Final = 120
MAX_WINDOW: Final = 2


def _strict_int(value: object) -> int:
    # bool is a subclass of int, so a plain ``int`` validator would accept ``true`` as 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid(f"expected an integer, got {value!r}")
    return value


def _issuer(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("issuer must be a non-empty string")

    # The Key Uri Format separates issuer and account in the label with a literal or
    # percent-encoded colon, and forbids a colon inside the issuer.
    if ":" in value:
        raise vol.Invalid(f"issuer {value!r} must not contain a colon")
    return value


CONFIG_SCHEMA: Final[dict[vol.Marker, Any]] = {
    vol.Optional(CONF_ISSUER, default=DEFAULT_ISSUER): _issuer,
    vol.Optional(CONF_DIGITS, default=DEFAULT_DIGITS): vol.All(_strict_int, vol.In(ALLOWED_DIGITS)),
    vol.Optional(CONF_PERIOD, default=DEFAULT_PERIOD): vol.All(
        _strict_int, vol.Range(min=MIN_PERIOD, max=MAX_PERIOD)
    ),
    vol.Optional(CONF_ALGORITHM, default=DEFAULT_ALGORITHM): vol.All(
        str, vol.Upper, vol.In(ALGORITHMS)
    ),
    vol.Optional(CONF_WINDOW, default=DEFAULT_WINDOW): vol.All(
        _strict_int, vol.Range(min=0, max=MAX_WINDOW)
    ),
}


@dataclass(frozen=True)
class TotpSettings:
    """Validated TOTP parameters of one module; ``window`` is in time steps on each side."""

    issuer: str = DEFAULT_ISSUER
    digits: int = DEFAULT_DIGITS
    period: int = DEFAULT_PERIOD
    algorithm: str = DEFAULT_ALGORITHM
    window: int = DEFAULT_WINDOW

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TotpSettings:
        """Validate the module configuration and fill in defaults.

        Keys the core owns (``type``, ``id``, ``name``) are ignored. Raises
        ``voluptuous.Invalid`` when one of this type's keys has an invalid value.
        """
        schema = vol.Schema(CONFIG_SCHEMA, extra=vol.REMOVE_EXTRA)
        validated = schema(dict(config))
        return cls(
            issuer=validated[CONF_ISSUER],
            digits=validated[CONF_DIGITS],
            period=validated[CONF_PERIOD],
            algorithm=validated[CONF_ALGORITHM],
            window=validated[CONF_WINDOW],
        )

    def for_enrolment(self, data: Mapping[str, Any]) -> TotpSettings:
        """Return these settings with the digits, period and algorithm a user enrolled with.

        An authenticator app keeps the parameters it scanned, so a later change of
        the module configuration must not change the codes an enrolled user needs.
        Keys missing from ``data`` take the configured value. Raises ``ValueError``
        when a stored value is invalid.
        """
        digits = data.get(CONF_DIGITS, self.digits)
        period = data.get(CONF_PERIOD, self.period)
        algorithm = data.get(CONF_ALGORITHM, self.algorithm)
        valid = (
            digits in ALLOWED_DIGITS
            and not isinstance(period, bool)
            and isinstance(period, int)
            and MIN_PERIOD <= period <= MAX_PERIOD
            and algorithm in ALGORITHMS
        )
        if not valid:
            raise ValueError("stored TOTP parameters are invalid; enrol the user again")
        return replace(self, digits=digits, period=period, algorithm=algorithm)

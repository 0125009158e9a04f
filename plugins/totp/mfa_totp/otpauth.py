"""The otpauth URI (Key Uri Format) that authenticator apps read from a QR code."""

from __future__ import annotations

from urllib.parse import quote

from .config import DEFAULT_ALGORITHM, DEFAULT_DIGITS, DEFAULT_PERIOD, TotpSettings


def build_label(issuer: str, account: str) -> str:
    """Return the URI label ``issuer:account``, each part percent-encoded as UTF-8.

    ``quote`` with no safe characters encodes a space as ``%20`` (never ``+``)
    and encodes ``:``, ``/``, ``+`` and ``@``, so an account name cannot add a
    second separator or end the path.
    """
    return f"{quote(issuer, safe='')}:{quote(account, safe='')}"


def build_otpauth_uri(secret: str, account: str, settings: TotpSettings) -> str:
    """Return ``otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER`` for the settings.

    ``algorithm``, ``digits`` and ``period`` are added only when they differ from
    the Key Uri Format defaults (SHA1, 6, 30), which keeps the QR code small.
    """
    parameters = [("secret", secret), ("issuer", settings.issuer)]
    if settings.algorithm != DEFAULT_ALGORITHM:
        parameters.append(("algorithm", settings.algorithm))
    if settings.digits != DEFAULT_DIGITS:
        parameters.append(("digits", str(settings.digits)))
    if settings.period != DEFAULT_PERIOD:
        parameters.append(("period", str(settings.period)))

    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in parameters)
    return f"otpauth://totp/{build_label(settings.issuer, account)}?{query}"

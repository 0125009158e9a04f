"""TOTP arithmetic (RFC 6238): secrets, code normalisation, codes per time step, window matching."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from typing import Final

from .config import TotpSettings

MIN_SECRET_BYTES: Final = 20
SECRET_GROUP_SIZE: Final = 4
# Longer input is rejected before NFKC normalisation, which costs time in proportion to length.
MAX_CODE_INPUT_LENGTH: Final = 64

_DIGESTS: Final[dict[str, Callable[..., hashlib._Hash]]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
_BASE32_ALPHABET: Final = re.compile(r"[A-Z2-7]*")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")


def generate_secret(algorithm: str) -> str:
    """Generate a random secret as long as the HMAC output, base32-encoded without padding."""
    key_length = _DIGESTS[algorithm]().digest_size
    return _encode_secret(secrets.token_bytes(key_length))


def normalize_secret(raw: str) -> str:
    """Return the canonical base32 form of ``raw``: upper case, no spaces, no padding.

    Raises ``ValueError`` when ``raw`` is not base32 or decodes to fewer than 20
    bytes (160 bits). The message never contains the secret.
    """
    compact = "".join(raw.split()).upper().rstrip("=")
    if not _BASE32_ALPHABET.fullmatch(compact):
        raise ValueError(
            "invalid TOTP secret: base32 allows only the letters A-Z and the digits 2-7, "
            "with optional '=' padding at the end"
        )

    padding = "=" * (-len(compact) % 8)
    try:
        key = base64.b32decode(compact + padding)
    except binascii.Error:
        raise ValueError(
            f"invalid TOTP secret: {len(compact)} base32 characters is not a valid length"
        ) from None

    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(
            f"invalid TOTP secret: it decodes to {len(key)} bytes, "
            f"at least {MIN_SECRET_BYTES} bytes (160 bits) are required"
        )
    return _encode_secret(key)


def group_secret(secret: str) -> str:
    """Split ``secret`` into space-separated blocks of four characters, for reading and typing."""
    blocks = [
        secret[start : start + SECRET_GROUP_SIZE]
        for start in range(0, len(secret), SECRET_GROUP_SIZE)
    ]
    return " ".join(blocks)


def normalize_code(raw: object, digits: int) -> str | None:
    """Return the code as exactly ``digits`` ASCII digits, or ``None`` when it is not one.

    Whitespace is removed and NFKC applied, so full-width digits from an input
    method become ASCII. Signs, underscores and other scripts' digits are rejected.
    """
    if not isinstance(raw, str) or len(raw) > MAX_CODE_INPUT_LENGTH:
        return None

    # NFKC first, so characters it maps to a space are removed with the other whitespace.
    normalized = unicodedata.normalize("NFKC", raw)
    code = "".join(normalized.split())

    if len(code) != digits or not _ASCII_DIGITS.fullmatch(code):
        return None
    return code


def time_step(now: float, period: int) -> int:
    """Return the RFC 6238 time step ``floor(now / period)`` of a Unix time in seconds."""
    return int(now // period)


def decode_secret(secret: str) -> bytes:
    """Return the key bytes of a base32 secret stored without padding."""
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code_at_step(secret: str, step: int, settings: TotpSettings) -> str:
    """Return the code for time step ``step``, which must not be negative."""
    return _code_from_key(decode_secret(secret), step, settings)


def _code_from_key(key: bytes, step: int, settings: TotpSettings) -> str:
    # HOTP (RFC 4226 section 5.3) with the time step as counter, as RFC 6238 defines TOTP.
    digest = hmac.digest(key, step.to_bytes(8, "big"), _DIGESTS[settings.algorithm])
    offset = digest[-1] & 0x0F
    truncated = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(truncated % 10**settings.digits).zfill(settings.digits)


def find_matching_step(secret: str, code: str, now: float, settings: TotpSettings) -> int | None:
    """Return the highest step within the window around ``now`` whose code equals ``code``.

    ``code`` must already be normalised. Returns ``None`` when no step matches.
    Every step in the window is compared, so the time taken does not depend on
    which step matched.
    """
    key = decode_secret(secret)
    current = time_step(now, settings.period)
    first = max(0, current - settings.window)
    matched: int | None = None

    for step in range(first, current + settings.window + 1):
        if hmac.compare_digest(_code_from_key(key, step, settings), code):
            matched = step
    return matched


def _encode_secret(key: bytes) -> str:
    return base64.b32encode(key).decode("ascii").rstrip("=")

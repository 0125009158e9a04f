"""Tests of the otpauth URI (Key Uri Format) the TOTP module shows during setup."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from mfa_totp.config import TotpSettings
from mfa_totp.otpauth import build_label, build_otpauth_uri

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(
    ("account", "encoded"),
    [
        pytest.param("alice", "alice", id="plain"),
        pytest.param("Alice Smith", "Alice%20Smith", id="space"),
        pytest.param("alice@example.com", "alice%40example.com", id="at-sign"),
        pytest.param("a:b", "a%3Ab", id="colon"),
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("a+b", "a%2Bb", id="plus"),
        pytest.param("a?b#c&d=e", "a%3Fb%23c%26d%3De", id="query-characters"),
        pytest.param("Jürgen", "J%C3%BCrgen", id="utf-8"),
    ],
)
def test_label_percent_encodes_account(account: str, encoded: str) -> None:
    assert build_label("mfa-core", account) == f"mfa-core:{encoded}"


def test_label_percent_encodes_issuer() -> None:
    assert build_label("Example Corp/EU", "alice") == "Example%20Corp%2FEU:alice"


def test_uri_defaults_omit_optional_parameters() -> None:
    uri = build_otpauth_uri(SECRET, "alice", TotpSettings())

    assert uri == f"otpauth://totp/mfa-core:alice?secret={SECRET}&issuer=mfa-core"


def test_uri_non_defaults_add_parameters() -> None:
    settings = TotpSettings(issuer="Example Corp", digits=8, period=60, algorithm="SHA256")

    uri = build_otpauth_uri(SECRET, "alice", settings)

    assert uri == (
        f"otpauth://totp/Example%20Corp:alice?secret={SECRET}&issuer=Example%20Corp"
        "&algorithm=SHA256&digits=8&period=60"
    )


def test_uri_issuer_parameter_equals_label_prefix() -> None:
    settings = TotpSettings(issuer="Ünïcode & Co +1")

    parts = urlsplit(build_otpauth_uri(SECRET, "bob smith", settings))
    issuer_in_label = unquote(parts.path.removeprefix("/").split(":")[0])
    parameters = dict(parse_qsl(parts.query, strict_parsing=True))

    assert "+" not in parts.query
    assert issuer_in_label == "Ünïcode & Co +1"
    assert parameters["issuer"] == issuer_in_label
    assert parameters["secret"] == SECRET

"""Tests of the ``totp`` module type, built directly on a SQLite store in a temporary directory."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.metadata
import json
import logging
import multiprocessing
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import mfa_totp
import mfa_totp.otp
import pluggy
import pyotp
import pytest
import voluptuous as vol
from mfa_totp import CONFIG_SCHEMA, TotpModule, TotpSetupFlow
from mfa_totp.config import TotpSettings
from mfa_totp.otp import code_at_step, generate_secret, time_step

from mfa_core.hookspecs import PROJECT_NAME, PluginSpec
from mfa_core.module import ModuleContext, ModuleData, ModuleType
from mfa_core.results import FlowResult
from mfa_core.store.base import Store
from mfa_core.store.sqlite import SQLiteStore

T = TypeVar("T")

USER = "alice"
MODULE_ID = "totp_main"

# RFC 6238 Appendix B seeds: ASCII strings as long as each HMAC output.
SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"
SEEDS = {"SHA1": SEED_SHA1, "SHA256": SEED_SHA256, "SHA512": SEED_SHA512}

# RFC 6238 Appendix B: (Unix time, SHA1 code, SHA256 code, SHA512 code), 8 digits, period 30.
RFC_6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
RFC_6238_CASES = [
    (now, algorithm, code)
    for now, *codes in RFC_6238_VECTORS
    for algorithm, code in zip(("SHA1", "SHA256", "SHA512"), codes, strict=True)
]

# 6-digit codes of the SHA1 seed at time steps 0, 1, 2 and 3 (RFC 4226 Appendix D, counters 0-3).
SHA1_SIX_DIGIT_CODES = ["755224", "287082", "359152", "969429"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLACEHOLDER_KEYS = {
    "otpauth_uri",
    "secret",
    "qr_code_svg",
    "qr_code_png",
    "qr_code_text",
    "issuer",
    "account",
    "digits",
    "algorithm",
    "period",
}


def full_width(text: str) -> str:
    """Replace ASCII digits with the full-width digits (U+FF10-U+FF19) an input method types."""
    return text.translate({ord("0") + digit: 0xFF10 + digit for digit in range(10)})


class ManualClock:
    """A clock that returns ``now`` until a test changes it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def base32(seed: bytes) -> str:
    return base64.b32encode(seed).decode("ascii")


def make_module(
    store: Store, clock: ManualClock, module_id: str = MODULE_ID, **config: Any
) -> TotpModule:
    validated = vol.Schema(CONFIG_SCHEMA, extra=vol.PREVENT_EXTRA)(config)
    context = ModuleContext(
        module_id=module_id,
        name="Authenticator app",
        type_name="totp",
        config=validated,
        data=ModuleData(store, module_id),
        clock=clock,
    )
    return TotpModule(context)


def run_with_store(path: Path, scenario: Callable[[Store], Awaitable[T]]) -> T:
    """Open a SQLite store at ``path``, run ``scenario`` on it and close the store."""

    async def main() -> T:
        store = SQLiteStore(path)
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


# RFC 6238 test vectors


@pytest.mark.parametrize("window", [0, 1])
@pytest.mark.parametrize(("now", "algorithm", "expected"), RFC_6238_CASES)
def test_rfc6238_vector_accepted(
    store_path: Path, now: int, algorithm: str, expected: str, window: int
) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(now), digits=8, algorithm=algorithm, window=window)
        await module.mfa_setup_user(USER, {"secret": base32(SEEDS[algorithm])})

        secret = base32(SEEDS[algorithm]).rstrip("=")
        assert code_at_step(secret, time_step(now, 30), module.settings) == expected
        assert await module.mfa_validate(USER, {"code": expected}) is True

    run_with_store(store_path, scenario)


def test_six_digit_codes_per_step() -> None:
    settings = mfa_totp.TotpSettings()
    secret = base32(SEED_SHA1)

    codes = [code_at_step(secret, step, settings) for step in range(4)]

    assert codes == SHA1_SIX_DIGIT_CODES


# Window and replay guard


def test_window_accepts_adjacent_steps_only(store_path: Path) -> None:
    async def scenario(store: Store) -> dict[str, bool]:
        module = make_module(store, ManualClock(59), window=1)
        results = {}
        for code in SHA1_SIX_DIGIT_CODES:
            user = f"user-{code}"
            await module.mfa_setup_user(user, {"secret": base32(SEED_SHA1)})
            results[code] = await module.mfa_validate(user, {"code": code})
        return results

    results = run_with_store(store_path, scenario)

    assert results["755224"] is True
    assert results["287082"] is True
    assert results["359152"] is True
    assert results["969429"] is False


def test_window_zero_accepts_current_step_only(store_path: Path) -> None:
    async def scenario(store: Store) -> list[bool]:
        module = make_module(store, ManualClock(59), window=0)
        results = []
        for code in SHA1_SIX_DIGIT_CODES[:3]:
            user = f"user-{code}"
            await module.mfa_setup_user(user, {"secret": base32(SEED_SHA1)})
            results.append(await module.mfa_validate(user, {"code": code}))
        return results

    assert run_with_store(store_path, scenario) == [False, True, False]


def test_replayed_and_older_codes_rejected(store_path: Path) -> None:
    clock = ManualClock(59)

    async def scenario(store: Store) -> None:
        module = make_module(store, clock, window=1)
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})

        assert await module.mfa_validate(USER, {"code": "287082"}) is True
        assert await module.mfa_validate(USER, {"code": "287082"}) is False
        assert await module.mfa_validate(USER, {"code": "755224"}) is False

        clock.now = 60
        assert await module.mfa_validate(USER, {"code": "359152"}) is True
        assert await module.mfa_validate(USER, {"code": "359152"}) is False

    run_with_store(store_path, scenario)


def test_upper_window_edge_blocks_lower_steps(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59), window=1)
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})

        assert await module.mfa_validate(USER, {"code": "359152"}) is True
        assert await module.mfa_validate(USER, {"code": "287082"}) is False

    run_with_store(store_path, scenario)


def test_several_matches_pick_highest_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two steps of a real secret share a 6-digit code with a chance of about 1e-6, so the test
    # makes every step's code equal.
    monkeypatch.setattr(mfa_totp.otp, "_code_from_key", lambda *_: "123456")
    settings = mfa_totp.TotpSettings(window=2)

    step = mfa_totp.otp.find_matching_step(base32(SEED_SHA1), "123456", 300, settings)

    assert step == 12


def test_modules_keep_separate_counters(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        clock = ManualClock(59)
        first = make_module(store, clock, module_id="totp_first")
        second = make_module(store, clock, module_id="totp_second")
        await first.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})

        assert await second.mfa_is_user_setup(USER) is False
        assert await second.mfa_validate(USER, {"code": "287082"}) is False

        await second.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})
        assert await first.mfa_validate(USER, {"code": "287082"}) is True
        assert await second.mfa_validate(USER, {"code": "287082"}) is True

    run_with_store(store_path, scenario)


def test_validate_without_enrolment_false(store_path: Path) -> None:
    async def scenario(store: Store) -> bool:
        module = make_module(store, ManualClock(59))
        return await module.mfa_validate(USER, {"code": "287082"})

    assert run_with_store(store_path, scenario) is False


def test_depose_user_removes_secret(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59))
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})
        await module.mfa_depose_user(USER)

        assert await module.mfa_is_user_setup(USER) is False
        assert await module.mfa_validate(USER, {"code": "287082"}) is False

    run_with_store(store_path, scenario)


# Time zone


@pytest.fixture
def kathmandu_time_zone() -> Iterator[None]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kathmandu"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


@pytest.mark.usefixtures("kathmandu_time_zone")
def test_process_time_zone_ignored(store_path: Path) -> None:
    # UTC+05:45: a local-time bug would shift the step by 20700 s (690 steps of 30 s).
    assert time.timezone == -(5 * 3600 + 45 * 60)

    async def scenario(store: Store) -> None:
        rfc_module = make_module(store, ManualClock(1234567890), module_id="rfc", digits=8)
        await rfc_module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})
        assert await rfc_module.mfa_validate(USER, {"code": "89005924"}) is True

        six_digit_module = make_module(store, ManualClock(59), module_id="six", window=1)
        await six_digit_module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})
        assert await six_digit_module.mfa_validate(USER, {"code": "287082"}) is True

    run_with_store(store_path, scenario)


# Secret import


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda s: s.lower(), id="lower-case"),
        pytest.param(lambda s: s, id="padding"),
        pytest.param(lambda s: s.rstrip("="), id="no-padding"),
        pytest.param(lambda s: " ".join(s[i : i + 4] for i in range(0, len(s), 4)), id="spaces"),
        pytest.param(lambda s: f"  {s.lower()}\n", id="surrounding-whitespace"),
    ],
)
def test_secret_variants_store_same_secret(store_path: Path, variant: Callable[[str], str]) -> None:
    # The SHA256 seed is 32 bytes, so its base32 form ends in four '=' padding characters.
    padded = base32(SEED_SHA256)
    assert padded.endswith("====")
    canonical = padded.rstrip("=")

    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59), digits=8, algorithm="SHA256")
        await module.mfa_setup_user(USER, {"secret": variant(padded)})

        assert await module.data.get(USER) == {
            "secret": canonical,
            "digits": 8,
            "period": 30,
            "algorithm": "SHA256",
        }
        assert await module.mfa_validate(USER, {"code": "46119246"}) is True

    run_with_store(store_path, scenario)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        pytest.param(base32(SEED_SHA1)[:-1] + "1", "A-Z", id="digit-1"),
        pytest.param(base32(SEED_SHA1)[:-1] + "8", "A-Z", id="digit-8"),
        pytest.param(base32(SEED_SHA1)[:8] + "=" + base32(SEED_SHA1)[8:], "A-Z", id="inner-pad"),
        pytest.param(base32(SEED_SHA1) + "A", "length", id="bad-length"),
        pytest.param(base32(b"1234567890123456789"), "160 bits", id="19-bytes"),
        pytest.param("", "160 bits", id="empty"),
    ],
)
def test_invalid_secret_rejected(store_path: Path, secret: str, problem: str) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59))
        with pytest.raises(ValueError, match=problem) as raised:
            await module.mfa_setup_user(USER, {"secret": secret})

        message = str(raised.value)
        if secret:
            assert secret not in message
            assert secret.rstrip("=") not in message
        assert await module.mfa_is_user_setup(USER) is False

    run_with_store(store_path, scenario)


@pytest.mark.parametrize(
    "setup_data",
    [
        pytest.param({}, id="missing"),
        pytest.param({"secret": None}, id="none"),
        pytest.param({"secret": b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}, id="bytes"),
    ],
)
def test_setup_data_without_secret_rejected(store_path: Path, setup_data: dict[str, Any]) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59))
        with pytest.raises(ValueError, match="'secret'"):
            await module.mfa_setup_user(USER, setup_data)

    run_with_store(store_path, scenario)


def test_setup_step_blocks_setup_code(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59), window=1)
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1), "step": 1})

        assert await module.mfa_validate(USER, {"code": "287082"}) is False
        assert await module.mfa_validate(USER, {"code": "359152"}) is True

    run_with_store(store_path, scenario)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        pytest.param(-1, "non-negative integer", id="negative"),
        pytest.param("1", "non-negative integer", id="string"),
        pytest.param(True, "non-negative integer", id="bool"),
        pytest.param(3, "latest valid step 2", id="beyond-window"),
    ],
)
def test_invalid_setup_step_rejected(store_path: Path, step: object, problem: str) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59), window=1)
        with pytest.raises(ValueError, match=problem):
            await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1), "step": step})
        assert await module.mfa_is_user_setup(USER) is False

    run_with_store(store_path, scenario)


# Code input normalisation


@pytest.mark.parametrize(
    ("code", "accepted"),
    [
        pytest.param("755224", True, id="ascii"),
        pytest.param(full_width("755224"), True, id="full-width"),
        pytest.param("755 224", True, id="inner-space"),
        pytest.param(" 755224\n", True, id="surrounding-whitespace"),
        pytest.param(full_width("755\u3000224"), True, id="ideographic-space"),
        pytest.param("+755224", False, id="plus-sign"),
        pytest.param("755_224", False, id="underscore"),
        pytest.param("-75522", False, id="minus-sign"),
        pytest.param("٧٥٥٢٢٤", False, id="arabic-indic"),
        pytest.param("۷۵۵۲۲۴", False, id="extended-arabic-indic"),
        pytest.param("75522", False, id="five-digits"),
        pytest.param("7552240", False, id="seven-digits"),
        pytest.param("755\u200b224", False, id="zero-width-space"),
        pytest.param("", False, id="empty"),
        pytest.param(" " * 100 + "755224", False, id="over-length-limit"),
    ],
)
def test_code_input_normalisation(store_path: Path, code: str, accepted: bool) -> None:
    async def scenario(store: Store) -> bool:
        module = make_module(store, ManualClock(15), window=0)
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})
        return await module.mfa_validate(USER, {"code": code})

    assert run_with_store(store_path, scenario) is accepted


def test_non_string_code_rejected(store_path: Path) -> None:
    async def scenario(store: Store) -> bool:
        module = make_module(store, ManualClock(15), window=0)
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})
        return await module.mfa_validate(USER, {"code": 755224})

    assert run_with_store(store_path, scenario) is False


def test_input_schema_requires_code_string(store_path: Path) -> None:
    async def scenario(store: Store) -> vol.Schema:
        return make_module(store, ManualClock(0)).mfa_input_schema()

    schema = run_with_store(store_path, scenario)

    assert schema({"code": "755224"}) == {"code": "755224"}
    with pytest.raises(vol.Invalid):
        schema({})
    with pytest.raises(vol.Invalid):
        schema({"code": 755224})


# Replay across processes


def submit_code_in_process(
    db_path: str,
    barrier: Any,
    results: Any,
    code: str,
    now: float,
) -> None:
    """Run in a spawned process: wait for the others, then submit ``code`` once."""

    async def submit() -> bool:
        store = SQLiteStore(Path(db_path))
        try:
            module = make_module(store, ManualClock(now))
            barrier.wait(timeout=60)
            return await module.mfa_validate(USER, {"code": code})
        finally:
            await store.close()

    results.put(asyncio.run(submit()))


def test_replay_across_processes_single_success(store_path: Path) -> None:
    process_count = 6

    async def enrol(store: Store) -> None:
        module = make_module(store, ManualClock(59))
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})

    run_with_store(store_path, enrol)

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(process_count)
    results = context.Queue()
    processes = [
        context.Process(
            target=submit_code_in_process,
            args=(str(store_path), barrier, results, "287082", 59.0),
        )
        for _ in range(process_count)
    ]
    for process in processes:
        process.start()

    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0] * process_count
    assert outcomes.count(True) == 1
    assert outcomes.count(False) == process_count - 1


# Setup flow


async def run_init_step(
    module: TotpModule,
    flow_data: dict[str, Any],
    user_input: dict[str, Any] | None,
    context: Mapping[str, str],
) -> tuple[FlowResult, dict[str, Any]]:
    """Run the ``init`` step the way the core does: with flow state restored from JSON."""
    restored = json.loads(json.dumps(flow_data))
    result = await module.mfa_setup_step(USER, "init", user_input, restored, context)
    return result, restored


def wrong_code(module: TotpModule, secret: str, now: float) -> str:
    """Return a code that matches no step in the window around ``now``."""
    current = time_step(now, module.settings.period)
    window_codes = {
        code_at_step(secret, step, module.settings)
        for step in range(current - module.settings.window, current + module.settings.window + 1)
    }
    candidates = ("0" * module.settings.digits, "1" * module.settings.digits)
    return next(code for code in candidates if code not in window_codes)


def test_setup_flow_form_placeholders(store_path: Path) -> None:
    async def scenario(store: Store) -> FlowResult:
        module = make_module(store, ManualClock(1_700_000_000))
        result, flow_data = await run_init_step(module, {}, None, {"display_name": "Alice"})
        assert result.description_placeholders["secret"].replace(" ", "") == flow_data["secret"]
        return result

    result = run_with_store(store_path, scenario)
    placeholders = result.description_placeholders

    assert result.type == "form"
    assert result.step_id == "init"
    assert result.errors == {}
    assert set(placeholders) == PLACEHOLDER_KEYS
    assert placeholders["issuer"] == "mfa-core"
    assert placeholders["account"] == "Alice"
    assert placeholders["digits"] == "6"
    assert placeholders["algorithm"] == "SHA1"
    assert placeholders["period"] == "30"

    groups = placeholders["secret"].split(" ")
    assert all(len(group) == 4 for group in groups)
    assert len("".join(groups)) == 32

    assert base64.b64decode(placeholders["qr_code_png"]).startswith(PNG_SIGNATURE)
    assert "<svg" in base64.b64decode(placeholders["qr_code_svg"]).decode("utf-8")
    assert "\u2588" in placeholders["qr_code_text"]


@pytest.mark.parametrize(
    ("config", "expected_parameters"),
    [
        pytest.param({}, {}, id="defaults"),
        pytest.param(
            {"issuer": "Example Corp", "digits": 8, "algorithm": "sha512", "period": 60},
            {"digits": ["8"], "algorithm": ["SHA512"], "period": ["60"]},
            id="non-defaults",
        ),
    ],
)
def test_setup_flow_uri_round_trip(
    store_path: Path, config: dict[str, Any], expected_parameters: dict[str, list[str]]
) -> None:
    async def scenario(store: Store) -> tuple[FlowResult, str, TotpModule]:
        module = make_module(store, ManualClock(1_700_000_000), **config)
        result, flow_data = await run_init_step(module, {}, None, {"display_name": "Alice"})
        return result, flow_data["secret"], module

    result, secret, module = run_with_store(store_path, scenario)
    issuer = module.settings.issuer
    uri = urlsplit(result.description_placeholders["otpauth_uri"])
    parameters = parse_qs(uri.query, strict_parsing=True)

    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert unquote(uri.path) == f"/{issuer}:Alice"
    assert parameters.pop("secret") == [secret]
    assert parameters.pop("issuer") == [issuer]
    assert parameters == expected_parameters


def test_setup_flow_secret_length_per_algorithm(store_path: Path) -> None:
    async def scenario(store: Store) -> dict[str, int]:
        lengths = {}
        for algorithm in ("SHA1", "SHA256", "SHA512"):
            module = make_module(store, ManualClock(0), algorithm=algorithm)
            _, flow_data = await run_init_step(module, {}, None, {})
            key = base64.b32decode(flow_data["secret"] + "=" * (-len(flow_data["secret"]) % 8))
            lengths[algorithm] = len(key)
        return lengths

    assert run_with_store(store_path, scenario) == {"SHA1": 20, "SHA256": 32, "SHA512": 64}


def test_setup_flow_confirms_code(store_path: Path) -> None:
    now = 1_700_000_000
    clock = ManualClock(now)

    async def scenario(store: Store) -> None:
        module = make_module(store, clock)
        context = {"display_name": "Alice"}
        first, flow_data = await run_init_step(module, {}, None, context)
        secret = flow_data["secret"]

        again, flow_data = await run_init_step(module, flow_data, None, context)
        assert flow_data["secret"] == secret
        assert again.description_placeholders["secret"] == first.description_placeholders["secret"]

        bad_code = wrong_code(module, secret, now)
        wrong, flow_data = await run_init_step(module, flow_data, {"code": bad_code}, context)
        assert wrong.type == "form"
        assert wrong.step_id == "init"
        assert wrong.errors == {"base": "invalid_code"}
        assert flow_data["secret"] == secret
        assert wrong.description_placeholders["secret"] == first.description_placeholders["secret"]

        assert await module.mfa_is_user_setup(USER) is False
        step = time_step(now, 30)
        code = code_at_step(secret, step, module.settings)
        done, _ = await run_init_step(module, flow_data, {"code": code}, context)
        assert done.type == "create_entry"
        assert done.data == {
            "secret": secret,
            "step": step,
            "digits": 6,
            "period": 30,
            "algorithm": "SHA1",
        }

        await module.mfa_setup_user(USER, done.data)
        assert await module.mfa_is_user_setup(USER) is True
        assert await module.mfa_validate(USER, {"code": code}) is False

        clock.now = now + 30
        next_code = code_at_step(secret, step + 1, module.settings)
        assert await module.mfa_validate(USER, {"code": next_code}) is True

    run_with_store(store_path, scenario)


def test_config_change_keeps_enrolled_parameters(store_path: Path) -> None:
    # RFC 6238 at t=59: the SHA1 seed's 8-digit code, and its 6-digit code at step 1.
    async def scenario(store: Store) -> None:
        enrolled = make_module(store, ManualClock(59), digits=8)
        await enrolled.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})

        reconfigured = make_module(store, ManualClock(59), digits=6, algorithm="SHA256")
        assert await reconfigured.mfa_validate(USER, {"code": "287082"}) is False
        assert await reconfigured.mfa_validate(USER, {"code": "94287082"}) is True

    run_with_store(store_path, scenario)


def test_corrupt_stored_parameters_rejected(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59))
        await module.data.put(USER, {"secret": base32(SEED_SHA1), "digits": 7})

        with pytest.raises(ValueError, match="enrol the user again") as raised:
            await module.mfa_validate(USER, {"code": "287082"})
        assert base32(SEED_SHA1) not in str(raised.value)

    run_with_store(store_path, scenario)


def test_setup_flow_window_matches_login(store_path: Path) -> None:
    now = 1_700_000_000

    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(now), window=2)
        _, flow_data = await run_init_step(module, {}, None, {})
        secret = flow_data["secret"]
        step = time_step(now, 30)

        late_code = code_at_step(secret, step - 2, module.settings)
        done, _ = await run_init_step(module, flow_data, {"code": late_code}, {})
        assert done.type == "create_entry"
        assert done.data["step"] == step - 2

        too_late = code_at_step(secret, step - 3, module.settings)
        window_codes = {code_at_step(secret, s, module.settings) for s in range(step - 2, step + 3)}
        if too_late in window_codes:
            pytest.skip("the step outside the window repeats a code inside it")
        rejected, _ = await run_init_step(module, flow_data, {"code": too_late}, {})
        assert rejected.errors == {"base": "invalid_code"}

    run_with_store(store_path, scenario)


def test_abandoned_reenrolment_keeps_secret(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(59))
        await module.mfa_setup_user(USER, {"secret": base32(SEED_SHA1)})

        _, flow_data = await run_init_step(module, {}, None, {})
        assert flow_data["secret"] != base32(SEED_SHA1)

        assert await module.mfa_validate(USER, {"code": "287082"}) is True

    run_with_store(store_path, scenario)


def test_setup_form_schema_is_code_schema(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        module = make_module(store, ManualClock(0))
        schema = await module.mfa_setup_form_schema(USER, "init", {}, {})

        assert schema is not None
        assert schema({"code": "123456"}) == {"code": "123456"}
        with pytest.raises(vol.Invalid):
            schema({"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"})

    run_with_store(store_path, scenario)


def test_setup_flow_account_label_encoded(store_path: Path) -> None:
    display_name = "Jürgen Ωmega: a/b +x"

    async def scenario(store: Store) -> FlowResult:
        module = make_module(store, ManualClock(0))
        result, _ = await run_init_step(module, {}, None, {"display_name": display_name})
        return result

    placeholders = run_with_store(store_path, scenario).description_placeholders
    label = placeholders["otpauth_uri"].removeprefix("otpauth://totp/").split("?")[0]

    assert label == "mfa-core:J%C3%BCrgen%20%CE%A9mega%3A%20a%2Fb%20%2Bx"
    assert placeholders["account"] == display_name


def test_setup_flow_account_defaults_to_user_id(store_path: Path) -> None:
    async def scenario(store: Store) -> FlowResult:
        module = make_module(store, ManualClock(0))
        result, _ = await run_init_step(module, {}, None, {})
        return result

    placeholders = run_with_store(store_path, scenario).description_placeholders

    assert placeholders["account"] == USER
    assert placeholders["otpauth_uri"].startswith(f"otpauth://totp/mfa-core:{USER}?")


def test_setup_flow_qr_png_decodes_to_uri(store_path: Path, tmp_path: Path) -> None:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        if os.environ.get("CI"):
            pytest.fail("zbarimg is required in CI; install the zbar-tools package")
        pytest.skip("zbarimg is not installed; install the zbar-tools package to run this test")

    async def scenario(store: Store) -> FlowResult:
        module = make_module(store, ManualClock(0), algorithm="SHA512", digits=8)
        result, _ = await run_init_step(module, {}, None, {"display_name": "Jürgen Ωmega"})
        return result

    placeholders = run_with_store(store_path, scenario).description_placeholders
    png_path = tmp_path / "qr.png"
    png_path.write_bytes(base64.b64decode(placeholders["qr_code_png"]))

    # Only QR codes are enabled: zbarimg also reads a Codabar symbol in some QR images.
    decoded = subprocess.run(
        [zbarimg, "--raw", "--quiet", "-Sdisable", "-Sqrcode.enable", str(png_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert decoded.stdout.rstrip("\n") == placeholders["otpauth_uri"]


def test_codes_match_oathtool(tmp_path: Path) -> None:
    # oathtool (oath-toolkit) is an independent RFC 6238 implementation, optional on this machine.
    oathtool = shutil.which("oathtool")
    if oathtool is None:
        pytest.skip("oathtool is not installed; install the oathtool package to run this test")

    settings = mfa_totp.TotpSettings(digits=8, period=60, algorithm="SHA256")
    secret = base32(SEED_SHA256).rstrip("=")
    now = 1_700_000_123

    generated = subprocess.run(
        [
            oathtool,
            "--totp=sha256",
            "--digits=8",
            "--time-step-size=60s",
            f"--now=@{now}",
            "--base32",
            secret,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert generated.stdout.strip() == code_at_step(secret, time_step(now, 60), settings)


# Repr and logging


def test_secrets_absent_from_logs_and_reprs(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    now = 1_700_000_000
    clock = ManualClock(now)
    context = {"display_name": "Alice"}

    async def scenario(store: Store) -> tuple[list[str], list[str]]:
        module = make_module(store, clock)
        first_form, flow_data = await run_init_step(module, {}, None, context)
        secret = flow_data["secret"]
        step = time_step(now, 30)
        bad_code = wrong_code(module, secret, now)
        code = code_at_step(secret, step, module.settings)

        wrong, flow_data = await run_init_step(module, flow_data, {"code": bad_code}, context)
        done, _ = await run_init_step(module, flow_data, {"code": code}, context)
        await module.mfa_setup_user(USER, done.data)
        replayed = await module.mfa_validate(USER, {"code": code})
        rejected = await module.mfa_validate(USER, {"code": bad_code})
        clock.now = now + 30
        next_code = code_at_step(secret, step + 1, module.settings)
        accepted = await module.mfa_validate(USER, {"code": next_code})
        assert (replayed, rejected, accepted) == (False, False, True)

        flow = TotpSetupFlow(module, USER, flow_data, context)
        reprs = [repr(module), repr(flow), repr(first_form), repr(wrong), repr(done), str(done)]
        sensitive = [
            secret,
            first_form.description_placeholders["secret"],
            first_form.description_placeholders["otpauth_uri"],
            code,
            bad_code,
            next_code,
        ]
        return reprs, sensitive

    reprs, sensitive = run_with_store(store_path, scenario)
    messages = [record.getMessage() for record in caplog.records]

    assert messages, "expected the module to log enrolment and the rejected replay"
    for value in sensitive:
        for message in messages:
            assert value not in message
        for text in reprs:
            assert value not in text


# Configuration and registration


def test_config_defaults() -> None:
    validated = vol.Schema(CONFIG_SCHEMA, extra=vol.PREVENT_EXTRA)({})

    assert validated == {
        "issuer": "mfa-core",
        "digits": 6,
        "period": 30,
        "algorithm": "SHA1",
        "window": 1,
    }


def test_config_algorithm_upper_cased() -> None:
    validated = vol.Schema(CONFIG_SCHEMA, extra=vol.PREVENT_EXTRA)({"algorithm": "sha256"})

    assert validated["algorithm"] == "SHA256"


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"digits": 7}, id="digits-7"),
        pytest.param({"digits": True}, id="digits-bool"),
        pytest.param({"digits": "6"}, id="digits-string"),
        pytest.param({"window": 3}, id="window-3"),
        pytest.param({"window": -1}, id="window-negative"),
        pytest.param({"algorithm": "MD5"}, id="algorithm-md5"),
        pytest.param({"period": 14}, id="period-14"),
        pytest.param({"period": 121}, id="period-121"),
        pytest.param({"period": 30.5}, id="period-float"),
        pytest.param({"issuer": ""}, id="issuer-empty"),
        pytest.param({"issuer": "  "}, id="issuer-blank"),
        pytest.param({"issuer": "Example:Corp"}, id="issuer-colon"),
        pytest.param({"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}, id="unknown-key"),
    ],
)
def test_config_invalid_rejected(config: dict[str, Any]) -> None:
    with pytest.raises(vol.Invalid):
        vol.Schema(CONFIG_SCHEMA, extra=vol.PREVENT_EXTRA)(config)


def test_module_rejects_invalid_config(store_path: Path) -> None:
    async def scenario(store: Store) -> None:
        context = ModuleContext(
            module_id=MODULE_ID,
            name="Authenticator app",
            type_name="totp",
            config={"type": "totp", "id": MODULE_ID, "digits": 7},
            data=ModuleData(store, MODULE_ID),
            clock=ManualClock(0),
        )
        with pytest.raises(vol.Invalid):
            TotpModule(context)

    run_with_store(store_path, scenario)


def test_module_fills_config_defaults(store_path: Path) -> None:
    async def scenario(store: Store) -> TotpModule:
        context = ModuleContext(
            module_id=MODULE_ID,
            name="Authenticator app",
            type_name="totp",
            config={"type": "totp", "id": MODULE_ID, "name": "Phone"},
            data=ModuleData(store, MODULE_ID),
            clock=ManualClock(0),
        )
        return TotpModule(context)

    assert run_with_store(store_path, scenario).settings == mfa_totp.TotpSettings()


def test_hook_registers_module_type() -> None:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(PluginSpec)
    manager.register(mfa_totp)
    manager.check_pending()
    registered: list[ModuleType] = []

    manager.hook.mfa_register_module_types(register=registered.append)

    assert len(registered) == 1
    module_type = registered[0]
    assert module_type.name == "totp"
    assert module_type.factory is TotpModule
    assert module_type.default_name == "Authenticator app"
    assert module_type.config_schema is CONFIG_SCHEMA
    assert module_type.max_retries == 5
    assert TotpModule.setup_flow_class is TotpSetupFlow


def test_entry_point_names_module() -> None:
    try:
        distribution = importlib.metadata.distribution("mfa-totp")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mfa-totp is not installed; run pip install -e plugins/totp")

    entry_points = distribution.entry_points.select(group="mfa_core.module_types")

    assert [(entry.name, entry.value) for entry in entry_points] == [("totp", "mfa_totp")]


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA512"])
@pytest.mark.parametrize("digits", [6, 8])
def test_codes_match_pyotp(algorithm: str, digits: int) -> None:
    # pyotp is an independent RFC 6238 implementation, used here as the reference.
    settings = TotpSettings(digits=digits, algorithm=algorithm, period=30)
    digest = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}[algorithm]
    for _ in range(50):
        secret = generate_secret(algorithm)
        step = secrets.randbelow(2**40)
        reference = pyotp.TOTP(secret, digits=digits, digest=digest, interval=30)

        assert code_at_step(secret, step, settings) == reference.generate_otp(step)

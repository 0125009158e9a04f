"""End-to-end tests of ``mfa`` with real clients: zbarimg reads the QR code, oathtool makes codes.

Each test enrols a user by answering the installed ``mfa setup`` command's prompt
the way a person does, then logs in with ``mfa login --code``. Without oathtool or
zbarimg (Debian's oathtool and zbar-tools packages) the tests are skipped, except
when the CI environment variable is set: there they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from mfa_core.cli import ExitStatus

PROMPT_TIMEOUT_SECONDS = 30.0
CODE_PROMPT = b"Enter code: "

DEFAULT_CONFIG = """\
modules:
  - type: totp
"""

EIGHT_DIGIT_CONFIG = """\
modules:
  - type: totp
    id: totp8
    digits: 8
    algorithm: SHA256
"""

DISPLAY_NAME = "Jürgen Ωmega: a/b +x"
ENCODED_DISPLAY_NAME = "J%C3%BCrgen%20%CE%A9mega%3A%20a%2Fb%20%2Bx"


@dataclass(frozen=True)
class OtpauthUri:
    """The parts of an otpauth URI decoded from a QR code."""

    raw_label: str
    secret: str = field(repr=False)
    digits: int
    algorithm: str
    period: int

    @classmethod
    def parse(cls, uri: str) -> OtpauthUri:
        parts = urlsplit(uri)
        assert parts.scheme == "otpauth"
        assert parts.netloc == "totp"
        query = parse_qs(parts.query)
        return cls(
            raw_label=parts.path.removeprefix("/"),
            secret=query["secret"][0],
            digits=int(query.get("digits", ["6"])[0]),
            algorithm=query.get("algorithm", ["SHA1"])[0],
            period=int(query.get("period", ["30"])[0]),
        )


class StreamReader:
    """Collects what a subprocess writes to one pipe, on a thread, so the test can wait for text."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def text(self) -> bytes:
        with self._lock:
            return b"".join(self._chunks)

    def join(self) -> bytes:
        self._thread.join(timeout=PROMPT_TIMEOUT_SECONDS)
        return self.text()

    def _read(self, stream: IO[bytes]) -> None:
        # os.read returns as soon as any bytes arrive, so a prompt without a line break shows.
        while chunk := os.read(stream.fileno(), 4096):
            with self._lock:
                self._chunks.append(chunk)


@dataclass
class Client:
    """The tools a person would use: the mfa command, an authenticator and a QR scanner."""

    root: Path
    mfa: str
    oathtool: str
    zbarimg: str

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MFA_CORE_")}
        env["MFA_CORE_STORE"] = str(self.root / "store.sqlite3")
        env["XDG_CONFIG_HOME"] = str(self.root)
        return env

    def config(self, text: str) -> str:
        path = self.root / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    def scan(self, image: Path) -> str:
        completed = subprocess.run(
            [self.zbarimg, "--raw", "-q", str(image)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return completed.stdout.strip()

    def code(self, uri: OtpauthUri, step: int) -> str:
        """Return the authenticator's code for time step ``step``."""
        completed = subprocess.run(
            [
                self.oathtool,
                f"--totp={uri.algorithm.lower()}",
                "-b",
                "-d",
                str(uri.digits),
                "-s",
                f"{uri.period}s",
                "-N",
                f"@{step * uri.period}",
                uri.secret,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return completed.stdout.strip()

    def login(self, user: str, code: str, config: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.mfa, "login", user, "--config", config, "--code", code],
            capture_output=True,
            text=True,
            env=self.environment(),
            timeout=60,
            check=False,
        )

    def enrol(
        self, config: str, module_id: str, user: str, name: str | None = None
    ) -> tuple[OtpauthUri, int]:
        """Run ``mfa setup`` interactively and answer its prompt with an oathtool code.

        Returns the scanned URI and the time step of the code that confirmed setup.
        """
        image = self.root / f"{user}.png"
        command = [self.mfa, "setup", module_id, user, "--config", config, "--qr-file", str(image)]
        if name is not None:
            command += ["--name", name]

        with subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.environment(),
        ) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            stdout = StreamReader(process.stdout)
            stderr = StreamReader(process.stderr)

            wait_for_prompt(process, stderr, image)
            uri = OtpauthUri.parse(self.scan(image))
            step = int(time.time()) // uri.period
            process.stdin.write(f"{self.code(uri, step)}\n".encode())
            process.stdin.close()
            status = process.wait(timeout=60)

            output = stdout.join().decode()
            errors = stderr.join().decode()
        assert status == ExitStatus.OK, errors
        assert output == f"{user} is now enrolled in module {module_id} (Authenticator app).\n"
        assert uri.secret not in output + errors
        return uri, step


def wait_for_prompt(process: subprocess.Popen[bytes], stderr: StreamReader, image: Path) -> None:
    deadline = time.monotonic() + PROMPT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if CODE_PROMPT in stderr.text() and image.exists():
            return
        if process.poll() is not None:
            pytest.fail(f"mfa setup exited with {process.returncode}: {stderr.join().decode()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"mfa setup showed no code prompt in {PROMPT_TIMEOUT_SECONDS} s: {stderr.text()!r}")


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed; install the Debian package {package}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def client(tmp_path: Path) -> Client:
    mfa = shutil.which("mfa")
    if mfa is None:
        pytest.fail("the mfa console script is not installed; run pip install -e .")
    return Client(
        root=tmp_path,
        mfa=mfa,
        oathtool=require_tool("oathtool", "oathtool"),
        zbarimg=require_tool("zbarimg", "zbar-tools"),
    )


def wrong_code(client: Client, uri: OtpauthUri, step: int) -> str:
    """Return a code of the right length that no step from ``step - 2`` to ``step + 3`` produces."""
    valid = {client.code(uri, candidate) for candidate in range(step - 2, step + 4)}
    for number in range(10):
        code = str(number) * uri.digits
        if code not in valid:
            return code
    raise AssertionError("every repeated-digit code is valid")


def check_login_codes(client: Client, config: str, user: str, uri: OtpauthUri, step: int) -> None:
    """Log in with the next step's code, then check that a replay and a wrong code fail.

    The code of the step after the one setup confirmed is later than the step setup
    recorded, and the ±1 step window accepts it for at least 60 seconds after setup.
    """
    login_code = client.code(uri, step + 1)

    passed = client.login(user, login_code, config)
    replayed = client.login(user, login_code, config)
    wrong = client.login(user, wrong_code(client, uri, step), config)

    assert passed.returncode == ExitStatus.OK, passed.stderr
    assert passed.stdout == f"MFA passed for {user}\n"
    assert replayed.returncode == ExitStatus.INVALID_CODE, replayed.stderr
    assert "The code is invalid" in replayed.stderr
    assert wrong.returncode == ExitStatus.INVALID_CODE, wrong.stderr
    assert login_code not in replayed.stderr + wrong.stderr


def test_default_totp_setup_and_login(client: Client) -> None:
    config = client.config(DEFAULT_CONFIG)

    uri, step = client.enrol(config, "totp", "alice")

    assert uri.raw_label == "mfa-core:alice"
    assert (uri.digits, uri.algorithm, uri.period) == (6, "SHA1", 30)
    check_login_codes(client, config, "alice", uri, step)


def test_eight_digit_sha256_setup_and_login(client: Client) -> None:
    config = client.config(EIGHT_DIGIT_CONFIG)

    uri, step = client.enrol(config, "totp8", "bob")

    assert (uri.digits, uri.algorithm, uri.period) == (8, "SHA256", 30)
    assert len(client.code(uri, step)) == 8
    check_login_codes(client, config, "bob", uri, step)


def test_display_name_survives_qr_round_trip(client: Client) -> None:
    config = client.config(DEFAULT_CONFIG)

    uri, step = client.enrol(config, "totp", "juergen", name=DISPLAY_NAME)

    assert uri.raw_label == f"mfa-core:{ENCODED_DISPLAY_NAME}"
    assert unquote(uri.raw_label) == f"mfa-core:{DISPLAY_NAME}"
    check_login_codes(client, config, "juergen", uri, step)

"""Fixtures and helpers shared by the tests of the core framework.

Tests import the helper classes and functions from here (``from conftest import ...``);
pytest puts this directory on ``sys.path``, and so do the processes that tests spawn.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml

from mfa_core import SyncMfaHost

BROKEN_PLUGINS = Path(__file__).parent / "data" / "broken_plugins"
BROKEN_MODULE_PREFIX = "mfa_broken_"

# A fixed start time keeps the tests that read times and expiries exact.
START_TIME = 1_750_000_000.0

USER = "alice"
OTHER_USER = "bob"
PIN = "482915"
WRONG_PIN = "615937"

# The default module name of the insecure_example type, and its PIN form as JSON.
PIN_TYPE_NAME = "Insecure personal identification number"
PIN_FORM_JSON = [
    {"type": "string", "lengthMin": 1, "lengthMax": 64, "name": "pin", "required": True}
]


class ManualClock:
    """A clock for ``clock=``: it returns the time the test set, in seconds since the epoch."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds``."""
        self.now += seconds


class HostFactory:
    """Builds ``SyncMfaHost`` objects on the test's clock and closes them after the test.

    ``environ`` defaults to an empty mapping, so the allow and block list variables of
    the environment that runs the tests never reach a host.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._hosts: list[SyncMfaHost] = []

    def __call__(
        self,
        config: Mapping[str, Any] | Path | None,
        *,
        plugins: Iterable[object] = (),
        environ: Mapping[str, str] | None = None,
    ) -> SyncMfaHost:
        host = SyncMfaHost.from_config(
            config,
            plugins=plugins,
            clock=self.clock,
            environ={} if environ is None else environ,
        )
        self._hosts.append(host)
        return host

    def close_all(self) -> None:
        """Close every host this factory built."""
        for host in self._hosts:
            host.close()
        self._hosts.clear()


def pin_module(
    module_id: str | None = None, users: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return an ``insecure_example`` module entry; ``users`` maps user ids to their PINs."""
    entry: dict[str, Any] = {"type": "insecure_example"}
    if module_id is not None:
        entry["id"] = module_id
    if users:
        entry["data"] = [{"user_id": user, "pin": pin} for user, pin in users.items()]
    return entry


def host_config(store_path: Path, *modules: Mapping[str, Any], **settings: Any) -> dict[str, Any]:
    """Return a configuration mapping with the store at ``store_path``."""
    return {"store": {"path": str(store_path)}, "modules": list(modules), **settings}


def write_yaml(path: Path, data: Any) -> Path:
    """Write ``data`` as YAML to ``path`` and return the path."""
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def read_rows(store_path: Path, sql: str, parameters: tuple[object, ...] = ()) -> list[Any]:
    """Run a query on the SQLite store file with a connection of its own."""
    with closing(sqlite3.connect(store_path)) as connection:
        return connection.execute(sql, parameters).fetchall()


def limiter_failures(store_path: Path, user_id: str, module_id: str) -> int | None:
    """Return the limiter's failure count in the store file, ``None`` when it has no row."""
    rows = read_rows(
        store_path,
        "SELECT failures FROM limiter WHERE user_id = ? AND module_id = ?",
        (user_id, module_id),
    )
    return int(rows[0][0]) if rows else None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def make_host(clock: ManualClock) -> Iterator[HostFactory]:
    factory = HostFactory(clock)
    yield factory
    factory.close_all()


@pytest.fixture(scope="session")
def broken_plugins_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the distributions of ``tests/data/broken_plugins`` into a directory of their own.

    pip builds copies of the sources, so no build files land in the repository, and
    ``--no-index`` with ``--no-deps`` keeps it off the network.
    """
    sources = tmp_path_factory.mktemp("broken_plugin_sources")
    target = tmp_path_factory.mktemp("broken_plugins")
    projects: list[str] = []
    for pyproject in sorted(BROKEN_PLUGINS.glob("*/pyproject.toml")):
        copy = sources / pyproject.parent.name
        shutil.copytree(pyproject.parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(BROKEN_PLUGINS / "wheel_backend.py", copy)
        projects.append(str(copy))

    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *projects,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"pip install of the broken plugins failed:\n{result.stdout}\n{result.stderr}")
    return target


@pytest.fixture
def broken_plugins(broken_plugins_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the broken plugins on ``sys.path``, where importlib.metadata finds their entry points.

    Their modules are removed from ``sys.modules`` before and after the test, so a
    test can tell whether the host imported one.
    """
    _forget_broken_modules()
    monkeypatch.syspath_prepend(str(broken_plugins_dir))
    yield broken_plugins_dir
    _forget_broken_modules()


def _forget_broken_modules() -> None:
    for name in [name for name in sys.modules if name.startswith(BROKEN_MODULE_PREFIX)]:
        del sys.modules[name]

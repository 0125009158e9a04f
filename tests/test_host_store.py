"""Tests of the store as the host opens it: default location, and errors that name the file."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from conftest import PIN, USER, HostFactory, host_config, pin_module

from mfa_core import StoreError

RESTORE_FIX = (
    "Restore the file from a backup, or move it aside to start an empty store in which no user "
    "has any factor enrolled. mfa-core never deletes or recreates it."
)
LOCATION_FIX = (
    "Set the MFA_CORE_STORE environment variable or store.path in the configuration to a "
    "writable location."
)


def write_random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(8192))


def write_empty_file(path: Path) -> None:
    path.touch()


def write_other_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.commit()


@pytest.mark.parametrize(
    ("write", "message"),
    [
        pytest.param(
            write_random_bytes,
            "cannot open SQLite store {path}: file is not a database. The file is damaged or "
            "is not an SQLite database. " + RESTORE_FIX,
            id="random_bytes",
        ),
        pytest.param(
            write_empty_file,
            "SQLite store {path} is empty, so it was truncated or not created by mfa-core. "
            + RESTORE_FIX,
            id="empty_file",
        ),
        pytest.param(
            write_other_database,
            "{path} is not an mfa-core store: it has no schema version. Set the MFA_CORE_STORE "
            "environment variable or store.path in the configuration to the mfa-core store.",
            id="other_database",
        ),
    ],
)
def test_unusable_store_file_untouched(
    make_host: HostFactory, tmp_path: Path, write: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / "store.sqlite3"
    write(path)
    content = path.read_bytes()
    modified = path.stat().st_mtime_ns

    with pytest.raises(StoreError) as caught:
        make_host(host_config(path, pin_module()))

    assert str(caught.value) == message.format(path=path)
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == modified
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["store.sqlite3"]


def test_config_dir_not_creatable(
    make_host: HostFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regular file where the configuration directory's parent should be.
    blocker = tmp_path / "xdg"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))

    with pytest.raises(StoreError) as caught:
        make_host({"modules": [pin_module()]})

    directory = blocker / "mfa-core"
    assert str(caught.value) == (
        f"cannot create the store directory {directory}: Not a directory. {LOCATION_FIX}"
    )


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root passes every permission check, so a read-only directory stays writable",
)
def test_config_dir_read_only(
    make_host: HostFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "xdg" / "mfa-core"
    directory.mkdir(parents=True)
    directory.chmod(0o500)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    try:
        with pytest.raises(StoreError) as caught:
            make_host({"modules": [pin_module()]})
    finally:
        directory.chmod(0o700)

    assert str(caught.value) == (
        f"the store directory {directory} is not writable by this user. Make it writable for "
        f"this user, or move the store. {LOCATION_FIX}"
    )


def test_missing_store_without_create(make_host: HostFactory, tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    config = host_config(path, pin_module())
    config["store"]["create"] = False

    with pytest.raises(StoreError) as caught:
        make_host(config)

    assert str(caught.value) == (
        f"SQLite store {path} not found, and creating a new store is disabled. Restore the "
        "file from a backup, or set the MFA_CORE_STORE environment variable or store.path in "
        "the configuration to the existing store."
    )
    assert not path.exists()


def test_existing_store_without_create(make_host: HostFactory, tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    make_host(host_config(path, pin_module())).close()
    config = host_config(path, pin_module(users={USER: PIN}))
    config["store"]["create"] = False

    host = make_host(config)
    form = host.begin_login(USER)
    assert form.session_id is not None

    assert host.continue_login(form.session_id, USER, {"pin": PIN}).type == "success"


def test_default_store_in_config_dir(
    make_host: HostFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    make_host({"modules": [pin_module()]})

    directory = tmp_path / "xdg" / "mfa-core"
    assert (directory / "store.sqlite3").is_file()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "store.sqlite3").stat().st_mode) == 0o600


def test_store_env_variable_used(
    make_host: HostFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "elsewhere" / "mfa.sqlite3"

    make_host({"modules": [pin_module()]}, environ={"MFA_CORE_STORE": str(path)})

    assert path.is_file()
    assert not (tmp_path / "xdg").exists()

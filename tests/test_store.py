"""Tests of the built-in stores.

Every protocol behaviour runs against both MemoryStore and SQLiteStore. The
SQLite tests use real files under tmp_path, and the race tests start real
processes that share one database file.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ParamSpec

import pytest

from mfa_core.errors import StoreError
from mfa_core.store.base import FlowRecord, LimiterState, Store, ValidationSession
from mfa_core.store.memory import MemoryStore
from mfa_core.store.sqlite import SCHEMA_VERSION, SQLiteStore

_P = ParamSpec("_P")


def run_async(test: Callable[_P, Coroutine[Any, Any, None]]) -> Callable[_P, None]:
    """Run an async test with asyncio.run, because pytest-asyncio is not installed."""

    @functools.wraps(test)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    created: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "db")
    yield created
    asyncio.run(created.close())


def make_session(session_id: str = "session-1", expires_at: float = 100.0) -> ValidationSession:
    return ValidationSession(
        session_id=session_id, user_id="alice", created_at=1.0, expires_at=expires_at
    )


def make_flow(flow_id: str = "flow-1", expires_at: float = 100.0) -> FlowRecord:
    return FlowRecord(
        flow_id=flow_id,
        module_id="totp",
        user_id="alice",
        step_id="init",
        expires_at=expires_at,
        data={"pending_secret": "JBSWY3DPEHPK3PXP", "digits": [6]},
        context={"ip": "192.0.2.1"},
    )


# Every protocol method with arguments that are valid on an empty store.
EVERY_METHOD: list[tuple[str, Callable[[Store], Coroutine[Any, Any, object]]]] = [
    ("set_user_data", lambda s: s.set_user_data("totp", "alice", {"secret": "x"})),
    ("set_user_data_many", lambda s: s.set_user_data_many("totp", [("bob", {"secret": "y"})])),
    ("get_user_data", lambda s: s.get_user_data("totp", "alice")),
    ("advance_counter", lambda s: s.advance_counter("totp", "alice", 5)),
    ("delete_user_data", lambda s: s.delete_user_data("totp", "alice")),
    ("create_session", lambda s: s.create_session(make_session())),
    ("get_session", lambda s: s.get_session("session-1")),
    ("select_session_module", lambda s: s.select_session_module("session-1", "totp")),
    ("mark_session_initialized", lambda s: s.mark_session_initialized("session-1")),
    ("add_session_failure", lambda s: s.add_session_failure("session-1")),
    ("consume_session", lambda s: s.consume_session("session-1")),
    ("delete_session", lambda s: s.delete_session("session-1")),
    ("create_flow", lambda s: s.create_flow(make_flow())),
    ("get_flow", lambda s: s.get_flow("flow-1")),
    ("save_flow", lambda s: s.save_flow(make_flow())),
    ("delete_flow", lambda s: s.delete_flow("flow-1")),
    ("get_limiter", lambda s: s.get_limiter("alice", "totp")),
    ("record_limiter_failure", lambda s: s.record_limiter_failure("alice", "totp", 1.0)),
    ("claim_limiter_attempt", lambda s: s.claim_limiter_attempt("alice", "totp", 0, 1.0)),
    ("release_limiter_attempt", lambda s: s.release_limiter_attempt("alice", "totp")),
    ("reset_limiter", lambda s: s.reset_limiter("alice", "totp")),
    ("purge_expired", lambda s: s.purge_expired(50.0)),
]


# Protocol behaviour, on both stores.


def test_store_implements_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_every_protocol_method_is_tested() -> None:
    protocol_methods = {
        name for name in vars(Store) if not name.startswith("_") and name != "close"
    }
    assert {name for name, _ in EVERY_METHOD} == protocol_methods


@run_async
async def test_user_data_roundtrip(store: Store) -> None:
    assert await store.get_user_data("totp", "alice") is None

    await store.set_user_data("totp", "alice", {"secret": "JBSWY3DP", "digits": 6})
    assert await store.get_user_data("totp", "alice") == {"secret": "JBSWY3DP", "digits": 6}

    await store.set_user_data("totp", "alice", {"secret": "NEW"})
    assert await store.get_user_data("totp", "alice") == {"secret": "NEW"}


@run_async
async def test_user_data_per_module_and_user(store: Store) -> None:
    await store.set_user_data("totp", "alice", {"secret": "A"})

    assert await store.get_user_data("hotp", "alice") is None
    assert await store.get_user_data("totp", "bob") is None

    await store.set_user_data("hotp", "alice", {"secret": "H"})
    assert await store.get_user_data("totp", "alice") == {"secret": "A"}
    assert await store.get_user_data("hotp", "alice") == {"secret": "H"}


@run_async
async def test_set_user_data_many_writes_all(store: Store) -> None:
    items = ((f"user-{index}", {"index": index}) for index in range(3))

    assert await store.set_user_data_many("totp", items) == 3

    for index in range(3):
        assert await store.get_user_data("totp", f"user-{index}") == {"index": index}
    assert await store.get_user_data("hotp", "user-0") is None


@run_async
async def test_set_user_data_many_empty(store: Store) -> None:
    assert await store.set_user_data_many("totp", []) == 0


@run_async
async def test_set_many_invalid_item_writes_nothing(store: Store) -> None:
    items: list[tuple[str, dict[str, Any]]] = [
        ("alice", {"secret": "A"}),
        ("bob", {"secret": b"bytes are not JSON"}),
    ]

    with pytest.raises(TypeError):
        await store.set_user_data_many("totp", items)

    assert await store.get_user_data("totp", "alice") is None


@run_async
async def test_set_user_data_rejects_non_json(store: Store) -> None:
    not_a_dict: Any = ["secret"]

    with pytest.raises(TypeError, match="must be a dict"):
        await store.set_user_data("totp", "alice", not_a_dict)
    with pytest.raises(TypeError):
        await store.set_user_data("totp", "alice", {"secret": {1, 2}})

    assert await store.get_user_data("totp", "alice") is None


@run_async
async def test_delete_user_data_removes_counter(store: Store) -> None:
    await store.set_user_data("totp", "alice", {"secret": "A"})
    await store.set_user_data("hotp", "alice", {"secret": "H"})
    await store.advance_counter("totp", "alice", 10)
    await store.advance_counter("hotp", "alice", 10)

    assert await store.delete_user_data("totp", "alice") is True
    assert await store.delete_user_data("totp", "alice") is False

    assert await store.get_user_data("totp", "alice") is None
    assert await store.advance_counter("totp", "alice", 1) is True
    assert await store.get_user_data("hotp", "alice") == {"secret": "H"}
    assert await store.advance_counter("hotp", "alice", 10) is False


@run_async
async def test_delete_user_data_without_data(store: Store) -> None:
    await store.advance_counter("totp", "alice", 10)

    assert await store.delete_user_data("totp", "alice") is False

    assert await store.advance_counter("totp", "alice", 1) is True


@run_async
async def test_advance_counter_only_increases(store: Store) -> None:
    assert await store.advance_counter("totp", "alice", 10) is True
    assert await store.advance_counter("totp", "alice", 10) is False
    assert await store.advance_counter("totp", "alice", 9) is False
    assert await store.advance_counter("totp", "alice", 11) is True
    assert await store.advance_counter("totp", "alice", 10) is False
    assert await store.advance_counter("totp", "alice", 11) is False


@run_async
async def test_advance_counter_per_module_and_user(store: Store) -> None:
    await store.advance_counter("totp", "alice", 10)

    assert await store.advance_counter("totp", "bob", 1) is True
    assert await store.advance_counter("hotp", "alice", 1) is True
    assert await store.advance_counter("totp", "alice", 2) is False


@run_async
async def test_advance_counter_accepts_zero_first(store: Store) -> None:
    assert await store.advance_counter("hotp", "alice", 0) is True
    assert await store.advance_counter("hotp", "alice", 0) is False


@run_async
async def test_user_data_returns_copies(store: Store) -> None:
    backup_codes = ["1111", "2222"]
    written = {"secret": "A", "backup_codes": backup_codes}
    await store.set_user_data("totp", "alice", written)
    backup_codes.append("changed by caller")

    first = await store.get_user_data("totp", "alice")
    assert first is not None
    first["backup_codes"].clear()
    first["secret"] = "changed by caller"

    assert await store.get_user_data("totp", "alice") == {
        "secret": "A",
        "backup_codes": ["1111", "2222"],
    }


@run_async
async def test_session_roundtrip(store: Store) -> None:
    session = make_session()

    await store.create_session(session)

    assert await store.get_session("session-1") == session
    assert await store.get_session("missing") is None


@run_async
async def test_create_session_twice_raises(store: Store) -> None:
    await store.create_session(make_session())

    with pytest.raises(StoreError):
        await store.create_session(make_session())


@run_async
async def test_select_session_module_only_once(store: Store) -> None:
    await store.create_session(make_session())

    assert await store.select_session_module("session-1", "totp") is True
    assert await store.select_session_module("session-1", "hotp") is False
    assert await store.select_session_module("missing", "totp") is False

    session = await store.get_session("session-1")
    assert session is not None
    assert session.module_id == "totp"


@run_async
async def test_mark_session_initialized_only_once(store: Store) -> None:
    await store.create_session(make_session())

    assert await store.mark_session_initialized("session-1") is True
    assert await store.mark_session_initialized("session-1") is False
    assert await store.mark_session_initialized("missing") is False

    session = await store.get_session("session-1")
    assert session is not None
    assert session.initialized is True


@run_async
async def test_add_session_failure_counts(store: Store) -> None:
    await store.create_session(make_session())

    assert await store.add_session_failure("session-1") == 1
    assert await store.add_session_failure("session-1") == 2
    assert await store.add_session_failure("missing") is None

    session = await store.get_session("session-1")
    assert session is not None
    assert session.failures == 2


@run_async
async def test_consume_session_once(store: Store) -> None:
    await store.create_session(make_session())
    await store.select_session_module("session-1", "totp")
    await store.mark_session_initialized("session-1")
    await store.add_session_failure("session-1")

    consumed = await store.consume_session("session-1")

    expected = replace(make_session(), module_id="totp", initialized=True, failures=1)
    assert consumed == expected
    assert await store.consume_session("session-1") is None
    assert await store.get_session("session-1") is None


@run_async
async def test_delete_session(store: Store) -> None:
    await store.create_session(make_session())

    await store.delete_session("session-1")
    await store.delete_session("session-1")

    assert await store.get_session("session-1") is None


@run_async
async def test_session_returns_copies(store: Store) -> None:
    session = make_session()
    await store.create_session(session)
    session.failures = 99

    first = await store.get_session("session-1")
    assert first is not None
    first.module_id = "changed by caller"

    assert await store.get_session("session-1") == make_session()


@run_async
async def test_flow_roundtrip(store: Store) -> None:
    await store.create_flow(make_flow())

    assert await store.get_flow("flow-1") == make_flow()
    assert await store.get_flow("missing") is None


@run_async
async def test_create_flow_twice_raises(store: Store) -> None:
    await store.create_flow(make_flow())

    with pytest.raises(StoreError):
        await store.create_flow(make_flow())


@run_async
async def test_save_flow_bumps_version(store: Store) -> None:
    await store.create_flow(make_flow())
    changed = replace(make_flow(), step_id="confirm", expires_at=200.0, data={"step": 2})

    assert await store.save_flow(changed) is True

    assert await store.get_flow("flow-1") == replace(changed, version=1)
    assert changed.version == 0


@run_async
async def test_save_flow_stale_version_conflicts(store: Store) -> None:
    await store.create_flow(make_flow())
    assert await store.save_flow(replace(make_flow(), data={"writer": "first"})) is True

    assert await store.save_flow(replace(make_flow(), data={"writer": "second"})) is False

    stored = await store.get_flow("flow-1")
    assert stored is not None
    assert stored.data == {"writer": "first"}
    assert stored.version == 1
    assert await store.save_flow(replace(stored, data={"writer": "third"})) is True


@run_async
async def test_save_flow_after_delete_fails(store: Store) -> None:
    await store.create_flow(make_flow())

    assert await store.delete_flow("flow-1") is True
    assert await store.delete_flow("flow-1") is False

    assert await store.save_flow(make_flow()) is False
    assert await store.get_flow("flow-1") is None


@run_async
async def test_flow_returns_copies(store: Store) -> None:
    record = make_flow()
    await store.create_flow(record)
    record.data["digits"].append(8)
    record.context["ip"] = "changed by caller"

    first = await store.get_flow("flow-1")
    assert first is not None
    first.data["digits"].append(8)
    first.context.clear()

    assert await store.get_flow("flow-1") == make_flow()


@run_async
async def test_limiter_counts_and_resets(store: Store) -> None:
    assert await store.get_limiter("alice", "totp") == LimiterState()

    assert await store.record_limiter_failure("alice", "totp", 10.0) == LimiterState(1, 10.0)
    assert await store.record_limiter_failure("alice", "totp", 11.5) == LimiterState(2, 11.5)
    assert await store.get_limiter("alice", "totp") == LimiterState(2, 11.5)

    await store.reset_limiter("alice", "totp")
    await store.reset_limiter("alice", "totp")

    assert await store.get_limiter("alice", "totp") == LimiterState()
    assert await store.record_limiter_failure("alice", "totp", 20.0) == LimiterState(1, 20.0)


@run_async
async def test_claim_limiter_attempt_compares_count(store: Store) -> None:
    assert await store.claim_limiter_attempt("alice", "totp", 1, 5.0) is False
    assert await store.get_limiter("alice", "totp") == LimiterState()

    assert await store.claim_limiter_attempt("alice", "totp", 0, 5.0) is True
    assert await store.claim_limiter_attempt("alice", "totp", 0, 6.0) is False
    assert await store.get_limiter("alice", "totp") == LimiterState(1, 5.0)

    assert await store.claim_limiter_attempt("alice", "totp", 1, 7.0) is True
    assert await store.get_limiter("alice", "totp") == LimiterState(2, 7.0)
    assert await store.get_limiter("alice", "hotp") == LimiterState()


@run_async
async def test_consume_session_resets_limiter(store: Store) -> None:
    session = make_session()
    session.module_id = "totp"
    await store.create_session(session)
    await store.record_limiter_failure(session.user_id, "totp", 1.0)
    await store.record_limiter_failure(session.user_id, "hotp", 1.0)

    assert await store.consume_session(session.session_id, reset_limiter=True) == session
    assert await store.get_limiter(session.user_id, "totp") == LimiterState()
    assert await store.get_limiter(session.user_id, "hotp") == LimiterState(1, 1.0)
    assert await store.consume_session(session.session_id, reset_limiter=True) is None


@run_async
async def test_consume_session_keeps_limiter_by_default(store: Store) -> None:
    session = make_session()
    session.module_id = "totp"
    await store.create_session(session)
    await store.record_limiter_failure(session.user_id, "totp", 1.0)

    assert await store.consume_session(session.session_id) == session
    assert await store.get_limiter(session.user_id, "totp") == LimiterState(1, 1.0)


@run_async
async def test_release_takes_back_one_claim(store: Store) -> None:
    await store.release_limiter_attempt("alice", "totp")
    assert await store.get_limiter("alice", "totp") == LimiterState()

    assert await store.claim_limiter_attempt("alice", "totp", 0, 5.0) is True
    assert await store.claim_limiter_attempt("alice", "totp", 1, 6.0) is True
    await store.release_limiter_attempt("alice", "totp")
    assert await store.get_limiter("alice", "totp") == LimiterState(1, 6.0)

    await store.release_limiter_attempt("alice", "totp")
    assert await store.get_limiter("alice", "totp") == LimiterState()
    assert await store.claim_limiter_attempt("alice", "totp", 0, 7.0) is True


@run_async
async def test_claim_after_reset_starts_at_zero(store: Store) -> None:
    await store.record_limiter_failure("alice", "totp", 1.0)
    await store.reset_limiter("alice", "totp")

    assert await store.claim_limiter_attempt("alice", "totp", 1, 2.0) is False
    assert await store.claim_limiter_attempt("alice", "totp", 0, 2.0) is True
    assert await store.get_limiter("alice", "totp") == LimiterState(1, 2.0)


@run_async
async def test_limiter_isolated_by_user_and_module(store: Store) -> None:
    await store.record_limiter_failure("alice", "totp", 10.0)

    assert await store.get_limiter("alice", "hotp") == LimiterState()
    assert await store.get_limiter("bob", "totp") == LimiterState()

    await store.reset_limiter("alice", "hotp")
    assert await store.get_limiter("alice", "totp") == LimiterState(1, 10.0)


@run_async
async def test_purge_expired_counts_exactly(store: Store) -> None:
    for session_id, expires_at in [("s10", 10.0), ("s20", 20.0), ("s30", 30.0)]:
        await store.create_session(make_session(session_id, expires_at))
    for flow_id, expires_at in [("f15", 15.0), ("f20", 20.0), ("f40", 40.0)]:
        await store.create_flow(make_flow(flow_id, expires_at))

    assert await store.purge_expired(20.0) == 4
    assert await store.purge_expired(20.0) == 0

    assert await store.get_session("s20") is None
    assert await store.get_session("s30") is not None
    assert await store.get_flow("f20") is None
    assert await store.get_flow("f40") is not None
    assert await store.purge_expired(40.0) == 2


@run_async
async def test_purge_expired_keeps_user_data(store: Store) -> None:
    await store.set_user_data("totp", "alice", {"secret": "A"})
    await store.record_limiter_failure("alice", "totp", 1.0)

    assert await store.purge_expired(1e12) == 0

    assert await store.get_user_data("totp", "alice") == {"secret": "A"}
    assert await store.get_limiter("alice", "totp") == LimiterState(1, 1.0)


@run_async
async def test_closed_store_raises(store: Store) -> None:
    await store.close()
    await store.close()

    not_raising = []
    messages = []
    for name, call in EVERY_METHOD:
        try:
            await call(store)
        except StoreError as error:
            messages.append(str(error))
        else:
            not_raising.append(name)

    assert not_raising == []
    assert [message for message in messages if "closed" not in message] == []


def test_store_shared_by_threads(store: Store) -> None:
    async def record_failures() -> None:
        for index in range(50):
            await store.record_limiter_failure("alice", "totp", float(index))
            await store.add_session_failure("session-1")

    asyncio.run(store.create_session(make_session()))
    threads = [threading.Thread(target=asyncio.run, args=(record_failures(),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    limiter = asyncio.run(store.get_limiter("alice", "totp"))
    session = asyncio.run(store.get_session("session-1"))
    assert limiter.failures == 400
    assert session is not None
    assert session.failures == 400


# SQLite files: creation, modes, persistence and damaged files.


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_new_store_modes_ignore_umask(tmp_path: Path) -> None:
    path = tmp_path / "outer" / "inner" / "store.db"
    previous_umask = os.umask(0)
    try:
        store = SQLiteStore(path)
        asyncio.run(store.set_user_data("totp", "alice", {"secret": "A"}))
    finally:
        os.umask(previous_umask)

    assert file_mode(tmp_path / "outer") == 0o700
    assert file_mode(tmp_path / "outer" / "inner") == 0o700
    assert file_mode(path) == 0o600
    assert file_mode(path.with_name("store.db-wal")) == 0o600
    assert file_mode(path.with_name("store.db-shm")) == 0o600
    asyncio.run(store.close())


def test_sqlite_recreated_wal_files_keep_mode(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    asyncio.run(SQLiteStore(path).close())
    assert not path.with_name("store.db-wal").exists()

    previous_umask = os.umask(0)
    try:
        store = SQLiteStore(path)
        asyncio.run(store.set_user_data("totp", "alice", {"secret": "A"}))
    finally:
        os.umask(previous_umask)

    assert file_mode(path.with_name("store.db-wal")) == 0o600
    assert file_mode(path.with_name("store.db-shm")) == 0o600
    asyncio.run(store.close())


def test_sqlite_create_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    asyncio.run(store.close())

    assert sorted(path.name for path in tmp_path.iterdir()) == ["store.db"]


def test_sqlite_keeps_existing_directory_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)

    asyncio.run(SQLiteStore(tmp_path / "store.db").close())

    assert file_mode(tmp_path) == 0o755


def test_sqlite_new_store_logs_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "store.db"

    with caplog.at_level(logging.WARNING, logger="mfa_core.store.sqlite"):
        asyncio.run(SQLiteStore(path).close())
        asyncio.run(SQLiteStore(path).close())

    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()


def test_sqlite_accepts_str_path(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "store.db"))

    assert store.path == tmp_path / "store.db"
    asyncio.run(store.close())


@run_async
async def test_sqlite_persists_across_store_objects(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SQLiteStore(path)
    await first.set_user_data("totp", "alice", {"secret": "A"})
    await first.advance_counter("totp", "alice", 7)
    await first.create_session(make_session())
    await first.mark_session_initialized("session-1")
    await first.create_flow(make_flow())
    await first.record_limiter_failure("alice", "totp", 3.0)
    await first.close()

    second = SQLiteStore(path, create=False)

    assert await second.get_user_data("totp", "alice") == {"secret": "A"}
    assert await second.advance_counter("totp", "alice", 7) is False
    assert await second.get_session("session-1") == replace(make_session(), initialized=True)
    assert await second.get_flow("flow-1") == make_flow()
    assert await second.get_limiter("alice", "totp") == LimiterState(1, 3.0)
    await second.close()


@run_async
async def test_sqlite_sees_other_connection_writes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SQLiteStore(path)
    second = SQLiteStore(path)

    await first.set_user_data("totp", "alice", {"secret": "A"})
    assert await second.get_user_data("totp", "alice") == {"secret": "A"}
    assert await first.advance_counter("totp", "alice", 5) is True
    assert await second.advance_counter("totp", "alice", 5) is False

    await first.close()
    await second.close()


def test_sqlite_create_false_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "store.db"

    with pytest.raises(StoreError, match="not found") as caught:
        SQLiteStore(path, create=False)

    assert str(path) in str(caught.value)
    assert "MFA_CORE_STORE" in str(caught.value)
    assert not (tmp_path / "missing").exists()


def test_sqlite_random_bytes_raise_and_stay(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    content = bytes(range(256)) * 32
    path.write_bytes(content)

    with pytest.raises(StoreError) as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)
    assert "backup" in str(caught.value)
    assert "move it aside" in str(caught.value)
    assert path.read_bytes() == content
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["store.db"]


def test_sqlite_truncated_file_raises_and_stays(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    items = [(f"user-{index}", {"secret": "S" * 64}) for index in range(500)]
    asyncio.run(store.set_user_data_many("totp", items))
    asyncio.run(store.close())
    os.truncate(path, path.stat().st_size // 2)
    content = path.read_bytes()

    with pytest.raises(StoreError, match="damaged") as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)
    assert "backup" in str(caught.value)
    assert path.read_bytes() == content


def test_sqlite_empty_file_raises_and_stays(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.touch()

    with pytest.raises(StoreError, match="empty") as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)
    assert "backup" in str(caught.value)
    assert path.stat().st_size == 0


def set_schema_version(path: Path, version: str) -> None:
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))


def test_sqlite_newer_schema_version_raises(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    asyncio.run(SQLiteStore(path).close())
    newer = str(SCHEMA_VERSION + 1)
    set_schema_version(path, newer)

    with pytest.raises(StoreError, match="Upgrade mfa-core") as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)
    assert f"schema version {newer}" in str(caught.value)


def test_sqlite_unknown_schema_version_raises(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    asyncio.run(SQLiteStore(path).close())
    set_schema_version(path, "beta")

    with pytest.raises(StoreError, match="unknown schema version 'beta'"):
        SQLiteStore(path)


def test_sqlite_other_database_raises(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    content = path.read_bytes()

    with pytest.raises(StoreError, match="not an mfa-core store") as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)
    assert path.read_bytes() == content


def test_sqlite_missing_table_raises(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    asyncio.run(SQLiteStore(path).close())
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("DROP TABLE limiter")

    with pytest.raises(StoreError, match="limiter") as caught:
        SQLiteStore(path)

    assert str(path) in str(caught.value)


def test_sqlite_directory_under_file_raises(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory")
    directory = tmp_path / "afile" / "sub"

    with pytest.raises(StoreError) as caught:
        SQLiteStore(directory / "store.db")

    assert str(directory) in str(caught.value)
    assert "MFA_CORE_STORE" in str(caught.value)
    assert "store.path" in str(caught.value)


def test_sqlite_read_only_directory_raises(tmp_path: Path) -> None:
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        if os.access(directory, os.W_OK):
            pytest.skip("this user (root) can write a mode 0500 directory")

        with pytest.raises(StoreError, match="not writable") as caught:
            SQLiteStore(directory / "store.db")
    finally:
        directory.chmod(0o700)

    assert str(directory) in str(caught.value)
    assert "MFA_CORE_STORE" in str(caught.value)


def test_sqlite_path_is_directory_raises(tmp_path: Path) -> None:
    (tmp_path / "store.db").mkdir()

    with pytest.raises(StoreError, match="is a directory"):
        SQLiteStore(tmp_path / "store.db")


@run_async
async def test_sqlite_invalid_user_data_hides_data(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    await store.set_user_data("totp", "alice", {"secret": "A"})
    await store.set_user_data("totp", "bob", {"secret": "B"})
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("UPDATE user_data SET data = 'SECRET-1 not json' WHERE user_id = 'alice'")
        database.execute("UPDATE user_data SET data = '[\"SECRET-2\"]' WHERE user_id = 'bob'")

    for user_id in ("alice", "bob"):
        with pytest.raises(StoreError) as caught:
            await store.get_user_data("totp", user_id)
        message = str(caught.value)
        assert "user_data" in message
        assert "'totp'" in message
        assert repr(user_id) in message
        assert "SECRET" not in message
    await store.close()


@run_async
async def test_sqlite_invalid_flow_data_hides_data(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    await store.create_flow(make_flow())
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("UPDATE flows SET data = 'SECRET not json'")

    with pytest.raises(StoreError) as caught:
        await store.get_flow("flow-1")

    message = str(caught.value)
    assert "flows" in message
    assert "'alice'" in message
    assert "SECRET" not in message
    await store.close()


@run_async
async def test_sqlite_error_is_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("DROP TABLE flows")

    with pytest.raises(StoreError) as caught:
        await store.get_flow("flow-1")

    assert str(path) in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    await store.close()


@run_async
async def test_sqlite_waits_for_other_writer(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, blocker.execute, args=("COMMIT",))
    release.start()

    started = time.monotonic()
    await store.set_user_data("totp", "alice", {"secret": "A"})
    waited = time.monotonic() - started

    release.join()
    blocker.close()
    assert waited >= 0.2
    assert await store.get_user_data("totp", "alice") == {"secret": "A"}
    await store.close()


def test_sqlite_queries_use_keys_or_indexes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    statements: list[str] = []
    # The private connection is traced so that every statement the store runs is checked.
    store._connection.set_trace_callback(statements.append)  # type: ignore[union-attr]

    async def call_every_method() -> None:
        for _, call in EVERY_METHOD:
            await call(store)

    asyncio.run(call_every_method())
    asyncio.run(store.close())

    checked = [sql for sql in statements if sql.split()[0] not in ("BEGIN", "COMMIT")]
    assert len(checked) >= len(EVERY_METHOD)
    with closing(sqlite3.connect(path)) as database:
        for sql in checked:
            plan = database.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            # "SCAN CONSTANT ROW" is the VALUES-like row of an INSERT ... SELECT, not a table.
            scans = [
                row[3]
                for row in plan
                if row[3].startswith("SCAN") and row[3] != "SCAN CONSTANT ROW"
            ]
            assert scans == [], sql


# Several processes on one SQLite file.

RACE_PROCESSES = 4
RACE_REPEATS = 25
RACE_TIMEOUT_SECONDS = 60.0


def race_worker(path: str, new_path: str, barrier: Any, results: Any) -> None:
    """Run every race in a spawned process and put the outcome or the error in ``results``."""
    try:
        results.put(asyncio.run(run_races(path, new_path, barrier)))
    except BaseException as error:
        barrier.abort()
        results.put({"error": repr(error)})


async def run_races(path: str, new_path: str, barrier: Any) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    barrier.wait(RACE_TIMEOUT_SECONDS)
    await SQLiteStore(new_path).close()

    store = SQLiteStore(path, create=False)

    barrier.wait(RACE_TIMEOUT_SECONDS)
    outcome["consumed"] = await store.consume_session("race-consume") is not None

    barrier.wait(RACE_TIMEOUT_SECONDS)
    outcome["inserted_counter"] = await store.advance_counter("totp", "alice", 42)

    barrier.wait(RACE_TIMEOUT_SECONDS)
    outcome["updated_counter"] = await store.advance_counter("totp", "alice", 43)

    barrier.wait(RACE_TIMEOUT_SECONDS)
    outcome["limiter_counts"] = [
        (await store.record_limiter_failure("alice", "totp", float(index))).failures
        for index in range(RACE_REPEATS)
    ]

    barrier.wait(RACE_TIMEOUT_SECONDS)
    outcome["claimed"] = await store.claim_limiter_attempt("carol", "totp", 0, 1.0)

    barrier.wait(RACE_TIMEOUT_SECONDS)
    outcome["session_counts"] = [
        await store.add_session_failure("race-failures") for _ in range(RACE_REPEATS)
    ]

    await store.close()
    return outcome


@dataclass
class RaceResult:
    directory: Path
    outcomes: list[dict[str, Any]]
    limiter: LimiterState
    failures_session: ValidationSession | None


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> RaceResult:
    directory = tmp_path_factory.mktemp("race")
    path = directory / "race.db"

    async def prepare() -> None:
        store = SQLiteStore(path)
        await store.create_session(make_session("race-consume"))
        await store.create_session(make_session("race-failures"))
        await store.close()

    asyncio.run(prepare())

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACE_PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(
            target=race_worker, args=(str(path), str(directory / "new.db"), barrier, results)
        )
        for _ in range(RACE_PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=RACE_TIMEOUT_SECONDS) for _ in processes]
    for process in processes:
        process.join(RACE_TIMEOUT_SECONDS)

    async def read_final_state() -> tuple[LimiterState, ValidationSession | None]:
        store = SQLiteStore(path, create=False)
        limiter = await store.get_limiter("alice", "totp")
        session = await store.get_session("race-failures")
        await store.close()
        return limiter, session

    limiter, session = asyncio.run(read_final_state())
    return RaceResult(directory, outcomes, limiter, session)


def test_race_workers_succeed(race: RaceResult) -> None:
    assert [outcome.get("error") for outcome in race.outcomes] == [None] * RACE_PROCESSES


def test_race_new_store_created_once(race: RaceResult) -> None:
    # SQLite may leave the -wal and -shm files behind when connections close at the same time.
    names = sorted(
        path.name
        for path in race.directory.iterdir()
        if "new.db" in path.name and not path.name.endswith(("-wal", "-shm"))
    )

    assert names == ["new.db"]


def test_race_consume_session_once(race: RaceResult) -> None:
    consumed = [outcome.get("consumed") for outcome in race.outcomes]

    assert consumed.count(True) == 1


def test_race_advance_counter_once(race: RaceResult) -> None:
    inserted = [outcome.get("inserted_counter") for outcome in race.outcomes]
    updated = [outcome.get("updated_counter") for outcome in race.outcomes]

    assert inserted.count(True) == 1
    assert updated.count(True) == 1


def test_race_limiter_counts_every_failure(race: RaceResult) -> None:
    returned = [count for outcome in race.outcomes for count in outcome.get("limiter_counts", [])]
    total = RACE_PROCESSES * RACE_REPEATS

    assert race.limiter.failures == total
    assert sorted(returned) == list(range(1, total + 1))


def test_race_limiter_claim_once(race: RaceResult) -> None:
    claimed = [outcome.get("claimed") for outcome in race.outcomes]

    assert claimed.count(True) == 1
    assert claimed.count(False) == RACE_PROCESSES - 1


def test_race_session_failures_all_counted(race: RaceResult) -> None:
    returned = [count for outcome in race.outcomes for count in outcome.get("session_counts", [])]
    total = RACE_PROCESSES * RACE_REPEATS

    assert race.failures_session is not None
    assert race.failures_session.failures == total
    assert sorted(returned) == list(range(1, total + 1))


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(sqlite3.SQLITE_BUSY, id="busy"),
        pytest.param(517, id="busy-snapshot"),
        pytest.param(261, id="busy-recovery"),
        pytest.param(sqlite3.SQLITE_LOCKED, id="locked"),
    ],
)
def test_busy_codes_retried(tmp_path: Path, code: int) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    attempts: list[int] = []

    def attempt() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = code
            raise error
        return 42

    assert store._retry_busy("test", attempt) == 42
    assert len(attempts) == 3
    asyncio.run(store.close())


def test_other_errors_not_retried(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    attempts: list[int] = []

    def attempt() -> int:
        attempts.append(1)
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorcode = 10
        raise error

    with pytest.raises(StoreError, match="test failed: disk I/O error"):
        store._retry_busy("test", attempt)
    assert len(attempts) == 1
    asyncio.run(store.close())

"""The default store: one SQLite file that several threads and processes can share.

Every check-and-update is one SQL statement or one ``BEGIN IMMEDIATE``
transaction, so concurrent callers in other processes see exactly one change
each. Every query looks rows up by primary key or by an ``expires_at`` index,
so its cost does not grow with the number of enrolled users.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final, TypeVar

from ..errors import StoreError
from .base import FlowRecord, LimiterState, ValidationSession

_LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")

SCHEMA_VERSION: Final = 1

# Maximum time in seconds that a call waits for another connection's lock before it fails.
BUSY_TIMEOUT_SECONDS: Final = 10.0

# SQLite's own busy handler sleeps at least 1 ms, then longer, while the write lock of
# another process is usually held for tens of microseconds. The store retries itself,
# with sleeps from 50 microseconds doubling up to 2 ms.
_FIRST_BUSY_SLEEP: Final = 0.00005
_MAX_BUSY_SLEEP: Final = 0.002
_BUSY_CODES: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

# In WAL mode, synchronous=NORMAL syncs the WAL to disk only at checkpoints, not at every
# commit. A commit is still durable when the process crashes, because its pages are already
# in the OS page cache. Only an OS crash or a power loss can lose the last commits, and the
# database stays consistent (SQLite documentation of PRAGMA synchronous).
SYNCHRONOUS_PRAGMA: Final = "PRAGMA synchronous = NORMAL"

_FILE_MODE: Final = 0o600
_DIRECTORY_MODE: Final = 0o700

# RETURNING, which the atomic operations use, was added in SQLite 3.35.0.
_MIN_SQLITE_VERSION: Final = (3, 35, 0)

_LOCATION_FIX: Final = (
    "Set the MFA_CORE_STORE environment variable or store.path in the configuration "
    "to a writable location."
)
_RESTORE_FIX: Final = (
    "Restore the file from a backup, or move it aside to start an empty store in which "
    "no user has any factor enrolled. mfa-core never deletes or recreates it."
)

_SCHEMA: Final = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE user_data (
        module_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (module_id, user_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE counters (
        module_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (module_id, user_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE sessions (
        session_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        module_id TEXT,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        failures INTEGER NOT NULL,
        initialized INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX sessions_expires_at ON sessions (expires_at)",
    """CREATE TABLE flows (
        flow_id TEXT PRIMARY KEY,
        module_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        expires_at REAL NOT NULL,
        data TEXT NOT NULL,
        context TEXT NOT NULL,
        version INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX flows_expires_at ON flows (expires_at)",
    """CREATE TABLE limiter (
        user_id TEXT NOT NULL,
        module_id TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_failure_at REAL,
        PRIMARY KEY (user_id, module_id)
    ) WITHOUT ROWID""",
)
_TABLES: Final = frozenset({"meta", "user_data", "counters", "sessions", "flows", "limiter"})

# The column order of the session statements matches _session_from_row.
_INSERT_SESSION: Final = """
    INSERT INTO sessions
        (session_id, user_id, created_at, expires_at, module_id, failures, initialized)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_SELECT_SESSION: Final = """
    SELECT session_id, user_id, created_at, expires_at, module_id, failures, initialized
    FROM sessions WHERE session_id = ?
"""
_CONSUME_SESSION: Final = """
    DELETE FROM sessions WHERE session_id = ?
    RETURNING session_id, user_id, created_at, expires_at, module_id, failures, initialized
"""

# The column order of the flow statements matches _flow_from_row.
_INSERT_FLOW: Final = """
    INSERT INTO flows
        (flow_id, module_id, user_id, step_id, expires_at, data, context, version)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_SELECT_FLOW: Final = """
    SELECT flow_id, module_id, user_id, step_id, expires_at, data, context, version
    FROM flows WHERE flow_id = ?
"""

_UPSERT_USER_DATA: Final = """
    INSERT INTO user_data (module_id, user_id, data) VALUES (?, ?, ?)
    ON CONFLICT (module_id, user_id) DO UPDATE SET data = excluded.data
"""
_ADVANCE_COUNTER: Final = """
    INSERT INTO counters (module_id, user_id, value) VALUES (?, ?, ?)
    ON CONFLICT (module_id, user_id) DO UPDATE SET value = excluded.value
    WHERE excluded.value > counters.value
"""
_RECORD_LIMITER_FAILURE: Final = """
    INSERT INTO limiter (user_id, module_id, failures, last_failure_at) VALUES (?, ?, 1, ?)
    ON CONFLICT (user_id, module_id) DO UPDATE
    SET failures = limiter.failures + 1, last_failure_at = excluded.last_failure_at
    RETURNING failures, last_failure_at
"""
# A missing row counts as zero failures; reset_limiter deletes rows instead of storing zero.
_CLAIM_LIMITER_ATTEMPT: Final = """
    INSERT INTO limiter (user_id, module_id, failures, last_failure_at)
    SELECT ?1, ?2, 1, ?4 WHERE ?3 = 0
    ON CONFLICT (user_id, module_id) DO UPDATE
    SET failures = limiter.failures + 1, last_failure_at = ?4
    WHERE limiter.failures = ?3
"""
_CLAIM_EXISTING_ATTEMPT: Final = """
    UPDATE limiter SET failures = failures + 1, last_failure_at = ?4
    WHERE user_id = ?1 AND module_id = ?2 AND failures = ?3
"""
_SAVE_FLOW: Final = """
    UPDATE flows
    SET module_id = ?, user_id = ?, step_id = ?, expires_at = ?, data = ?, context = ?,
        version = version + 1
    WHERE flow_id = ? AND version = ?
"""


class SQLiteStore:
    """Store in one SQLite file in WAL mode, shared safely by threads and processes.

    The constructor opens the file and checks its schema, and raises ``StoreError``
    when the file is missing (with ``create=False``), damaged, of another schema
    version or not writable. One connection is kept open until ``close()``.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self._path = Path(path).absolute()
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = _open_store(self._path, create=create)

    @property
    def path(self) -> Path:
        """Absolute path of the database file."""
        return self._path

    # Module user data.

    async def get_user_data(self, module_id: str, user_id: str) -> dict[str, Any] | None:
        rows = self._fetch_all(
            "read user data",
            "SELECT data FROM user_data WHERE module_id = ? AND user_id = ?",
            (module_id, user_id),
        )
        if not rows:
            return None
        fix = "Restore the row from a backup, or delete it so that the user enrolls again."
        return self._decode_object(rows[0][0], "user_data", module_id, user_id, fix)

    async def set_user_data(self, module_id: str, user_id: str, data: dict[str, Any]) -> None:
        self._count_changes(
            "write user data", _UPSERT_USER_DATA, (module_id, user_id, _encode_object(data))
        )

    async def set_user_data_many(
        self, module_id: str, items: Iterable[tuple[str, dict[str, Any]]]
    ) -> int:
        rows = [(module_id, user_id, _encode_object(data)) for user_id, data in items]

        def write(connection: sqlite3.Connection) -> int:
            connection.executemany(_UPSERT_USER_DATA, rows)
            return len(rows)

        return self._transaction("write user data", write)

    async def delete_user_data(self, module_id: str, user_id: str) -> bool:
        def delete(connection: sqlite3.Connection) -> bool:
            deleted = connection.execute(
                "DELETE FROM user_data WHERE module_id = ? AND user_id = ?", (module_id, user_id)
            ).rowcount
            connection.execute(
                "DELETE FROM counters WHERE module_id = ? AND user_id = ?", (module_id, user_id)
            )
            return deleted > 0

        return self._transaction("delete user data", delete)

    async def advance_counter(self, module_id: str, user_id: str, value: int) -> bool:
        changes = self._count_changes(
            "advance counter", _ADVANCE_COUNTER, (module_id, user_id, value)
        )
        return changes > 0

    # Validation sessions.

    async def create_session(self, session: ValidationSession) -> None:
        self._count_changes(
            "create session",
            _INSERT_SESSION,
            (
                session.session_id,
                session.user_id,
                session.created_at,
                session.expires_at,
                session.module_id,
                session.failures,
                int(session.initialized),
            ),
        )

    async def get_session(self, session_id: str) -> ValidationSession | None:
        rows = self._fetch_all(
            "read session",
            _SELECT_SESSION,
            (session_id,),
        )
        return _session_from_row(rows[0]) if rows else None

    async def select_session_module(self, session_id: str, module_id: str) -> bool:
        changes = self._count_changes(
            "select session module",
            "UPDATE sessions SET module_id = ? WHERE session_id = ? AND module_id IS NULL",
            (module_id, session_id),
        )
        return changes > 0

    async def mark_session_initialized(self, session_id: str) -> bool:
        changes = self._count_changes(
            "mark session initialized",
            "UPDATE sessions SET initialized = 1 WHERE session_id = ? AND initialized = 0",
            (session_id,),
        )
        return changes > 0

    async def add_session_failure(self, session_id: str) -> int | None:
        rows = self._fetch_all(
            "add session failure",
            "UPDATE sessions SET failures = failures + 1 WHERE session_id = ? RETURNING failures",
            (session_id,),
        )
        return int(rows[0][0]) if rows else None

    async def consume_session(
        self, session_id: str, *, reset_limiter: bool = False
    ) -> ValidationSession | None:
        if not reset_limiter:
            rows = self._fetch_all("consume session", _CONSUME_SESSION, (session_id,))
            return _session_from_row(rows[0]) if rows else None

        def consume(connection: sqlite3.Connection) -> ValidationSession | None:
            rows = connection.execute(_CONSUME_SESSION, (session_id,)).fetchall()
            if not rows:
                return None
            session = _session_from_row(rows[0])
            connection.execute(
                "DELETE FROM limiter WHERE user_id = ? AND module_id = ?",
                (session.user_id, session.module_id),
            )
            return session

        return self._transaction("consume session", consume)

    async def delete_session(self, session_id: str) -> None:
        self._count_changes(
            "delete session", "DELETE FROM sessions WHERE session_id = ?", (session_id,)
        )

    # Setup flows.

    async def create_flow(self, record: FlowRecord) -> None:
        self._count_changes(
            "create flow",
            _INSERT_FLOW,
            (
                record.flow_id,
                record.module_id,
                record.user_id,
                record.step_id,
                record.expires_at,
                _encode_object(record.data),
                _encode_object(record.context),
                record.version,
            ),
        )

    async def get_flow(self, flow_id: str) -> FlowRecord | None:
        rows = self._fetch_all(
            "read flow",
            _SELECT_FLOW,
            (flow_id,),
        )
        return self._flow_from_row(rows[0]) if rows else None

    async def save_flow(self, record: FlowRecord) -> bool:
        changes = self._count_changes(
            "save flow",
            _SAVE_FLOW,
            (
                record.module_id,
                record.user_id,
                record.step_id,
                record.expires_at,
                _encode_object(record.data),
                _encode_object(record.context),
                record.flow_id,
                record.version,
            ),
        )
        return changes > 0

    async def delete_flow(self, flow_id: str) -> bool:
        changes = self._count_changes(
            "delete flow", "DELETE FROM flows WHERE flow_id = ?", (flow_id,)
        )
        return changes > 0

    # Limiter state.

    async def get_limiter(self, user_id: str, module_id: str) -> LimiterState:
        rows = self._fetch_all(
            "read limiter state",
            "SELECT failures, last_failure_at FROM limiter WHERE user_id = ? AND module_id = ?",
            (user_id, module_id),
        )
        if not rows:
            return LimiterState()
        return LimiterState(failures=rows[0][0], last_failure_at=rows[0][1])

    async def record_limiter_failure(
        self, user_id: str, module_id: str, now: float
    ) -> LimiterState:
        rows = self._fetch_all(
            "record limiter failure", _RECORD_LIMITER_FAILURE, (user_id, module_id, now)
        )
        return LimiterState(failures=rows[0][0], last_failure_at=rows[0][1])

    async def claim_limiter_attempt(
        self, user_id: str, module_id: str, expected_failures: int, now: float
    ) -> bool:
        sql = _CLAIM_LIMITER_ATTEMPT if expected_failures == 0 else _CLAIM_EXISTING_ATTEMPT
        changes = self._count_changes(
            "claim limiter attempt", sql, (user_id, module_id, expected_failures, now)
        )
        return changes > 0

    async def release_limiter_attempt(self, user_id: str, module_id: str) -> None:
        def release(connection: sqlite3.Connection) -> None:
            key = (user_id, module_id)
            connection.execute(
                "UPDATE limiter SET failures = failures - 1 WHERE user_id = ? AND module_id = ?",
                key,
            )
            # A missing row means zero failures, as after reset_limiter.
            connection.execute(
                "DELETE FROM limiter WHERE user_id = ? AND module_id = ? AND failures <= 0", key
            )

        self._transaction("release limiter attempt", release)

    async def reset_limiter(self, user_id: str, module_id: str) -> None:
        self._count_changes(
            "reset limiter",
            "DELETE FROM limiter WHERE user_id = ? AND module_id = ?",
            (user_id, module_id),
        )

    # Maintenance.

    async def purge_expired(self, now: float) -> int:
        def purge(connection: sqlite3.Connection) -> int:
            sessions = connection.execute(
                "DELETE FROM sessions WHERE expires_at <= ?", (now,)
            ).rowcount
            flows = connection.execute("DELETE FROM flows WHERE expires_at <= ?", (now,)).rowcount
            return sessions + flows

        return self._transaction("purge expired sessions and flows", purge)

    async def close(self) -> None:
        """Close the connection. Later calls raise ``StoreError``, but closing twice is allowed."""
        with self._lock:
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                connection.close()
            except sqlite3.Error as exc:
                raise self._wrap_error("close", exc) from exc

    # Helpers. Each one holds the lock for the whole statement and reads all result rows,
    # so that SQLite finishes the statement and commits before another thread runs one.

    def _fetch_all(self, action: str, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        with self._lock:
            connection = self._open_connection()
            return self._retry_busy(action, lambda: connection.execute(sql, parameters).fetchall())

    def _count_changes(self, action: str, sql: str, parameters: tuple[object, ...]) -> int:
        """Run one data-changing statement and return the number of rows it changed."""
        with self._lock:
            connection = self._open_connection()
            return self._retry_busy(action, lambda: connection.execute(sql, parameters).rowcount)

    def _transaction(self, action: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction and commit it, or roll it back."""

        def attempt() -> _T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result

        with self._lock:
            connection = self._open_connection()
            return self._retry_busy(action, attempt)

    def _retry_busy(self, action: str, attempt: Callable[[], _T]) -> _T:
        """Run ``attempt`` until no other connection holds the lock it needs, or time runs out.

        A statement that fails with SQLITE_BUSY changed nothing, so running it again is safe.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        pause = _FIRST_BUSY_SLEEP
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                # The error code is an extended one, such as SQLITE_BUSY_SNAPSHOT (517).
                code = getattr(exc, "sqlite_errorcode", None)
                busy = code is not None and code & 0xFF in _BUSY_CODES
                if not busy or time.monotonic() >= deadline:
                    raise self._wrap_error(action, exc) from exc
            except sqlite3.Error as exc:
                raise self._wrap_error(action, exc) from exc
            time.sleep(pause)
            pause = min(pause * 2, _MAX_BUSY_SLEEP)

    def _open_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError(f"SQLite store {self._path} is closed")
        return self._connection

    def _wrap_error(self, action: str, error: sqlite3.Error) -> StoreError:
        return StoreError(f"SQLite store {self._path}: {action} failed: {_describe(error)}")

    def _decode_object(
        self, text: Any, table: str, module_id: str, user_id: str, fix: str
    ) -> dict[str, Any]:
        """Decode a JSON object read from ``table``. The error never contains the stored text."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            value = None
        if not isinstance(value, dict):
            raise StoreError(
                f"SQLite store {self._path}: invalid data in table {table} for module "
                f"{module_id!r} and user {user_id!r}: the stored value is not a JSON object. "
                f"{fix}"
            )
        return value

    def _flow_from_row(self, row: tuple[Any, ...]) -> FlowRecord:
        flow_id, module_id, user_id, step_id, expires_at, data, context, version = row
        fix = "Delete the flow so that the user starts the setup again."
        return FlowRecord(
            flow_id=flow_id,
            module_id=module_id,
            user_id=user_id,
            step_id=step_id,
            expires_at=expires_at,
            data=self._decode_object(data, "flows", module_id, user_id, fix),
            context=self._decode_object(context, "flows", module_id, user_id, fix),
            version=version,
        )


def _session_from_row(row: tuple[Any, ...]) -> ValidationSession:
    session_id, user_id, created_at, expires_at, module_id, failures, initialized = row
    return ValidationSession(
        session_id=session_id,
        user_id=user_id,
        created_at=created_at,
        expires_at=expires_at,
        module_id=module_id,
        failures=failures,
        initialized=bool(initialized),
    )


def _encode_object(data: dict[str, Any]) -> str:
    """Encode a dict as compact JSON, or raise ``TypeError`` when it is not a JSON object."""
    if not isinstance(data, dict):
        raise TypeError(f"store data must be a dict, not {type(data).__name__}")
    return json.dumps(data, separators=(",", ":"))


def _describe(error: sqlite3.Error) -> str:
    """Return the SQLite error message followed by what an admin can do about it."""
    code = getattr(error, "sqlite_errorcode", None)
    primary_code = None if code is None else code & 0xFF
    if primary_code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return f"{error}. The file is damaged or is not an SQLite database. {_RESTORE_FIX}"
    if primary_code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            f"{error}. Another connection held the database lock for more than "
            f"{BUSY_TIMEOUT_SECONDS:g} s."
        )
    if primary_code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return f"{error}. Check that this user can write the file and its directory."
    if primary_code == sqlite3.SQLITE_FULL:
        return f"{error}. Free space on the disk that contains the store."
    return str(error)


# Opening and creating the database file.


def _open_store(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open the store at ``path``, creating it first when it is missing and ``create`` is set."""
    _check_sqlite_version()
    exists = path.exists()
    if not exists and not create:
        raise StoreError(
            f"SQLite store {path} not found, and creating a new store is disabled. "
            "Restore the file from a backup, or set the MFA_CORE_STORE environment "
            "variable or store.path in the configuration to the existing store."
        )

    _ensure_directory(path.parent)
    created = _create_store_file(path) if not exists else False

    _check_file(path)
    connection = _connect(path)
    try:
        _check_schema(connection, path)
        _configure(connection, path)
    except BaseException:
        connection.close()
        raise

    if created:
        _restrict_wal_files(path)

    # From here on statements fail at once on a busy lock, and SQLiteStore._retry_busy waits.
    connection.execute("PRAGMA busy_timeout = 0")
    return connection


def _check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < _MIN_SQLITE_VERSION:
        required = ".".join(str(part) for part in _MIN_SQLITE_VERSION)
        raise StoreError(
            f"the SQLite store needs SQLite {required} or newer, but Python uses SQLite "
            f"{sqlite3.sqlite_version}. Use a Python built with a newer SQLite."
        )


def _ensure_directory(directory: Path) -> None:
    """Create ``directory`` and its missing parents with mode 0700, and check it is writable."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent

    for missing_directory in reversed(missing):
        try:
            os.mkdir(missing_directory, _DIRECTORY_MODE)
            os.chmod(missing_directory, _DIRECTORY_MODE)
        except FileExistsError:
            # Another process created it at the same time, which is fine.
            pass
        except OSError as exc:
            raise StoreError(
                f"cannot create the store directory {missing_directory}: {exc.strerror}. "
                f"{_LOCATION_FIX}"
            ) from exc

    if not directory.is_dir():
        raise StoreError(f"the store directory {directory} is not a directory. {_LOCATION_FIX}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(
            f"the store directory {directory} is not writable by this user. Make it writable "
            f"for this user, or move the store. {_LOCATION_FIX}"
        )


def _create_store_file(path: Path) -> bool:
    """Create a store with the full schema at ``path``, and return whether this call created it.

    The store is built under a temporary name and then hard-linked to ``path``, which
    fails when ``path`` exists. So an existing file at ``path`` always has the full
    schema, and an empty or schema-less file there is reported as damaged instead of
    being taken for a new store.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.new")
    try:
        _write_new_store(temporary, path)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as exc:
            raise StoreError(
                f"cannot create SQLite store {path}: hard-linking the new file failed "
                f"({exc.strerror}). Put the store on a local filesystem that supports hard links."
            ) from exc
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            _remove_if_present(Path(f"{temporary}{suffix}"))

    _LOGGER.warning("Created a new, empty MFA store at %s. No user has a factor enrolled.", path)
    return True


def _write_new_store(temporary: Path, path: Path) -> None:
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        os.close(descriptor)
        # os.open applies the umask, so set the mode explicitly.
        os.chmod(temporary, _FILE_MODE)
    except OSError as exc:
        raise StoreError(
            f"cannot create SQLite store {path}: {exc.strerror}. {_LOCATION_FIX}"
        ) from exc

    try:
        connection = _connect(temporary)
        try:
            connection.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            connection.execute("COMMIT")
            # The journal mode is stored in the file. Closing the only connection copies
            # the WAL into the database file and deletes it, so the file alone is complete.
            connection.execute("PRAGMA journal_mode = WAL")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot create SQLite store {path}: {_describe(exc)}") from exc


def _remove_if_present(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        _LOGGER.warning("Cannot remove the temporary file %s: %s", path, exc.strerror)


def _check_file(path: Path) -> None:
    try:
        status = path.stat()
    except OSError as exc:
        raise StoreError(f"cannot open SQLite store {path}: {exc.strerror}") from exc

    if stat.S_ISDIR(status.st_mode):
        raise StoreError(
            f"SQLite store {path} is a directory. Set the MFA_CORE_STORE environment variable "
            "or store.path in the configuration to a file path."
        )
    if status.st_size == 0:
        raise StoreError(
            f"SQLite store {path} is empty, so it was truncated or not created by mfa-core. "
            f"{_RESTORE_FIX}"
        )


def _connect(path: Path) -> sqlite3.Connection:
    # mode=rw stops SQLite from creating a missing file: only _write_new_store creates one.
    try:
        return sqlite3.connect(
            f"{path.as_uri()}?mode=rw",
            uri=True,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite store {path}: {_describe(exc)}") from exc


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Raise ``StoreError`` unless the database has the schema of this mfa-core version."""
    try:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        version_rows = (
            connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            if "meta" in tables
            else []
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite store {path}: {_describe(exc)}") from exc

    if not version_rows:
        raise StoreError(
            f"{path} is not an mfa-core store: it has no schema version. Set the MFA_CORE_STORE "
            "environment variable or store.path in the configuration to the mfa-core store."
        )

    version = version_rows[0][0]
    if version != str(SCHEMA_VERSION):
        raise _version_error(path, version)

    missing = sorted(_TABLES - tables)
    if missing:
        raise StoreError(
            f"SQLite store {path} is damaged: the tables {', '.join(missing)} are missing. "
            f"{_RESTORE_FIX}"
        )


def _version_error(path: Path, version: object) -> StoreError:
    if isinstance(version, str) and version.isdigit() and int(version) > SCHEMA_VERSION:
        return StoreError(
            f"SQLite store {path} has schema version {version}, but this mfa-core supports "
            f"version {SCHEMA_VERSION} only. Upgrade mfa-core, or restore a backup written by "
            "this version."
        )
    return StoreError(
        f"SQLite store {path} has the unknown schema version {version!r}, but this "
        f"mfa-core supports version {SCHEMA_VERSION} only. {_RESTORE_FIX}"
    )


def _configure(connection: sqlite3.Connection, path: Path) -> None:
    try:
        journal_mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        connection.execute(SYNCHRONOUS_PRAGMA)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite store {path}: {_describe(exc)}") from exc

    if journal_mode != "wal":
        raise StoreError(
            f"cannot switch SQLite store {path} to WAL journal mode (it stays in "
            f"{journal_mode!r} mode). Put the store on a local filesystem."
        )


def _restrict_wal_files(path: Path) -> None:
    """Set mode 0600 on the -wal and -shm files of a new store.

    SQLite 3.40 already gives them the mode of the database file, also when it
    recreates them later, so this only guards the first open against other builds.
    """
    for suffix in ("-wal", "-shm"):
        try:
            os.chmod(f"{path}{suffix}", _FILE_MODE)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot set mode 0600 on {path}{suffix}: {exc.strerror}") from exc

"""A store in process memory, for tests, benchmarks and hosts that need no persistence."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable
from typing import Any

from ..errors import StoreError
from .base import FlowRecord, LimiterState, ValidationSession


class MemoryStore:
    """Store in dicts of this process, lost when the process exits.

    It accepts and returns the same values as ``SQLiteStore``: data goes through
    a JSON round trip, so data that SQLite cannot store fails here too, and every
    call returns a copy that the caller may change without changing the store.
    A lock makes each call atomic across threads. ``purge_expired`` scans all
    sessions and flows, but no call touches the data of all users.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._user_data: dict[tuple[str, str], str] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._sessions: dict[str, ValidationSession] = {}
        self._flows: dict[str, FlowRecord] = {}
        self._limiter: dict[tuple[str, str], LimiterState] = {}

    # Module user data, stored as JSON text.

    async def get_user_data(self, module_id: str, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            self._check_open()
            text = self._user_data.get((module_id, user_id))
        return None if text is None else _decode_object(text)

    async def set_user_data(self, module_id: str, user_id: str, data: dict[str, Any]) -> None:
        text = _encode_object(data)
        with self._lock:
            self._check_open()
            self._user_data[(module_id, user_id)] = text

    async def set_user_data_many(
        self, module_id: str, items: Iterable[tuple[str, dict[str, Any]]]
    ) -> int:
        # Encode every item first, so that one invalid item leaves the store unchanged.
        encoded = [(user_id, _encode_object(data)) for user_id, data in items]
        with self._lock:
            self._check_open()
            for user_id, text in encoded:
                self._user_data[(module_id, user_id)] = text
        return len(encoded)

    async def delete_user_data(self, module_id: str, user_id: str) -> bool:
        with self._lock:
            self._check_open()
            self._counters.pop((module_id, user_id), None)
            return self._user_data.pop((module_id, user_id), None) is not None

    async def advance_counter(self, module_id: str, user_id: str, value: int) -> bool:
        with self._lock:
            self._check_open()
            stored = self._counters.get((module_id, user_id))
            if stored is not None and value <= stored:
                return False
            self._counters[(module_id, user_id)] = value
            return True

    # Validation sessions.

    async def create_session(self, session: ValidationSession) -> None:
        with self._lock:
            self._check_open()
            if session.session_id in self._sessions:
                raise StoreError(
                    "memory store: create session failed: a session with this id exists"
                )
            self._sessions[session.session_id] = dataclasses.replace(session)

    async def get_session(self, session_id: str) -> ValidationSession | None:
        with self._lock:
            self._check_open()
            session = self._sessions.get(session_id)
            return None if session is None else dataclasses.replace(session)

    async def select_session_module(self, session_id: str, module_id: str) -> bool:
        with self._lock:
            self._check_open()
            session = self._sessions.get(session_id)
            if session is None or session.module_id is not None:
                return False
            session.module_id = module_id
            return True

    async def mark_session_initialized(self, session_id: str) -> bool:
        with self._lock:
            self._check_open()
            session = self._sessions.get(session_id)
            if session is None or session.initialized:
                return False
            session.initialized = True
            return True

    async def add_session_failure(self, session_id: str) -> int | None:
        with self._lock:
            self._check_open()
            session = self._sessions.get(session_id)
            if session is None:
                return None
            session.failures += 1
            return session.failures

    async def consume_session(
        self, session_id: str, *, reset_limiter: bool = False
    ) -> ValidationSession | None:
        with self._lock:
            self._check_open()
            session = self._sessions.pop(session_id, None)
            if session is not None and reset_limiter and session.module_id is not None:
                self._limiter.pop((session.user_id, session.module_id), None)
            return session

    async def delete_session(self, session_id: str) -> None:
        with self._lock:
            self._check_open()
            self._sessions.pop(session_id, None)

    # Setup flows.

    async def create_flow(self, record: FlowRecord) -> None:
        stored = _copy_flow(record)
        with self._lock:
            self._check_open()
            if record.flow_id in self._flows:
                raise StoreError("memory store: create flow failed: a flow with this id exists")
            self._flows[record.flow_id] = stored

    async def get_flow(self, flow_id: str) -> FlowRecord | None:
        with self._lock:
            self._check_open()
            record = self._flows.get(flow_id)
            return None if record is None else _copy_flow(record)

    async def save_flow(self, record: FlowRecord) -> bool:
        stored = _copy_flow(record)
        stored.version += 1
        with self._lock:
            self._check_open()
            current = self._flows.get(record.flow_id)
            if current is None or current.version != record.version:
                return False
            self._flows[record.flow_id] = stored
            return True

    async def delete_flow(self, flow_id: str) -> bool:
        with self._lock:
            self._check_open()
            return self._flows.pop(flow_id, None) is not None

    # Limiter state. LimiterState is frozen, so it is stored and returned as is.

    async def get_limiter(self, user_id: str, module_id: str) -> LimiterState:
        with self._lock:
            self._check_open()
            return self._limiter.get((user_id, module_id), LimiterState())

    async def record_limiter_failure(
        self, user_id: str, module_id: str, now: float
    ) -> LimiterState:
        with self._lock:
            self._check_open()
            previous = self._limiter.get((user_id, module_id), LimiterState())
            state = LimiterState(failures=previous.failures + 1, last_failure_at=now)
            self._limiter[(user_id, module_id)] = state
            return state

    async def claim_limiter_attempt(
        self, user_id: str, module_id: str, expected_failures: int, now: float
    ) -> bool:
        with self._lock:
            self._check_open()
            previous = self._limiter.get((user_id, module_id), LimiterState())
            if previous.failures != expected_failures:
                return False
            self._limiter[(user_id, module_id)] = LimiterState(expected_failures + 1, now)
            return True

    async def release_limiter_attempt(self, user_id: str, module_id: str) -> None:
        with self._lock:
            self._check_open()
            state = self._limiter.get((user_id, module_id))
            if state is None:
                return
            if state.failures <= 1:
                del self._limiter[(user_id, module_id)]
            else:
                self._limiter[(user_id, module_id)] = dataclasses.replace(
                    state, failures=state.failures - 1
                )

    async def reset_limiter(self, user_id: str, module_id: str) -> None:
        with self._lock:
            self._check_open()
            self._limiter.pop((user_id, module_id), None)

    # Maintenance.

    async def purge_expired(self, now: float) -> int:
        with self._lock:
            self._check_open()
            expired_sessions = [
                session_id
                for session_id, session in self._sessions.items()
                if session.expires_at <= now
            ]
            expired_flows = [
                flow_id for flow_id, record in self._flows.items() if record.expires_at <= now
            ]
            for session_id in expired_sessions:
                del self._sessions[session_id]
            for flow_id in expired_flows:
                del self._flows[flow_id]
            return len(expired_sessions) + len(expired_flows)

    async def close(self) -> None:
        """Drop all stored state. Later calls raise ``StoreError``, but closing twice is allowed."""
        with self._lock:
            self._closed = True
            self._user_data.clear()
            self._counters.clear()
            self._sessions.clear()
            self._flows.clear()
            self._limiter.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory store is closed")


def _encode_object(data: dict[str, Any]) -> str:
    """Encode a dict as compact JSON, or raise ``TypeError`` when it is not a JSON object."""
    if not isinstance(data, dict):
        raise TypeError(f"store data must be a dict, not {type(data).__name__}")
    return json.dumps(data, separators=(",", ":"))


def _decode_object(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value


def _copy_flow(record: FlowRecord) -> FlowRecord:
    """Return a deep copy of ``record`` made by a JSON round trip, as SQLiteStore stores it."""
    return dataclasses.replace(
        record,
        data=_decode_object(_encode_object(record.data)),
        context=_decode_object(_encode_object(record.context)),
    )

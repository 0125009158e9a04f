"""The store interface: what mfa_core persists, and the atomic operations it needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class ValidationSession:
    """Stored state of one login MFA step. It never contains a password, a code or a secret."""

    session_id: str = field(repr=False)
    user_id: str
    created_at: float
    expires_at: float
    module_id: str | None = None
    failures: int = 0
    initialized: bool = False


@dataclass
class FlowRecord:
    """Stored state of one unfinished setup flow.

    ``data`` is the module's own flow state and may contain a pending secret, so
    it is kept out of ``repr``. ``version`` increases with every save.
    """

    flow_id: str = field(repr=False)
    module_id: str
    user_id: str
    step_id: str
    expires_at: float
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    context: dict[str, str] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class LimiterState:
    """Consecutive failed code checks of one user in one module."""

    failures: int = 0
    last_failure_at: float | None = None


@runtime_checkable
class Store(Protocol):
    """Persistence for validation sessions, setup flows, limiter state and module user data.

    Every method that returns ``bool`` or a new count is one atomic
    check-and-update: when several processes call it at once, each call returns the
    result of exactly one change. Implementations raise ``StoreError`` with the
    location and the fix when the backing database cannot be used.
    """

    # Module user data, one JSON object per (module id, user id).
    async def get_user_data(self, module_id: str, user_id: str) -> dict[str, Any] | None:
        """Return the data stored for the user in the module, or ``None``."""
        ...

    async def set_user_data(self, module_id: str, user_id: str, data: dict[str, Any]) -> None:
        """Insert or replace the data stored for the user in the module."""
        ...

    async def set_user_data_many(
        self, module_id: str, items: Iterable[tuple[str, dict[str, Any]]]
    ) -> int:
        """Insert or replace many users' data in one transaction; return how many were written."""
        ...

    async def delete_user_data(self, module_id: str, user_id: str) -> bool:
        """Delete the user's data and counter in the module; return whether data existed."""
        ...

    async def advance_counter(self, module_id: str, user_id: str, value: int) -> bool:
        """Store ``value`` as the user's counter if it is greater than the stored one.

        Returns ``True`` when the counter advanced. This is the replay guard:
        a time step or HOTP counter is accepted at most once.
        """
        ...

    # Validation sessions.
    async def create_session(self, session: ValidationSession) -> None:
        """Insert a new validation session."""
        ...

    async def get_session(self, session_id: str) -> ValidationSession | None:
        """Return the session, or ``None`` when it does not exist."""
        ...

    async def select_session_module(self, session_id: str, module_id: str) -> bool:
        """Set the session's module if none is selected yet; return whether it was set."""
        ...

    async def mark_session_initialized(self, session_id: str) -> bool:
        """Mark the session initialised; return ``True`` only for the call that changed it."""
        ...

    async def add_session_failure(self, session_id: str) -> int | None:
        """Increment the session's failure count; return the new count, or ``None`` if gone."""
        ...

    async def consume_session(
        self, session_id: str, *, reset_limiter: bool = False
    ) -> ValidationSession | None:
        """Delete the session and return it; ``None`` when another call consumed it first.

        With ``reset_limiter``, the same atomic step also deletes the consecutive
        failures of the session's user in the session's module, as after a success.
        """
        ...

    async def delete_session(self, session_id: str) -> None:
        """Delete the session if it exists."""
        ...

    # Setup flows.
    async def create_flow(self, record: FlowRecord) -> None:
        """Insert a new flow."""
        ...

    async def get_flow(self, flow_id: str) -> FlowRecord | None:
        """Return the flow, or ``None`` when it does not exist."""
        ...

    async def save_flow(self, record: FlowRecord) -> bool:
        """Replace the flow if its stored version equals ``record.version``, then bump the version.

        Returns ``False`` when another process saved or deleted the flow first.
        """
        ...

    async def delete_flow(self, flow_id: str) -> bool:
        """Delete the flow; return whether it existed."""
        ...

    # Limiter state, per (user id, module id).
    async def get_limiter(self, user_id: str, module_id: str) -> LimiterState:
        """Return the user's consecutive failures in the module."""
        ...

    async def record_limiter_failure(
        self, user_id: str, module_id: str, now: float
    ) -> LimiterState:
        """Add one consecutive failure at time ``now`` and return the new state."""
        ...

    async def claim_limiter_attempt(
        self, user_id: str, module_id: str, expected_failures: int, now: float
    ) -> bool:
        """Count one failure at ``now`` if the stored count still equals ``expected_failures``.

        Returns ``False`` when another call changed the count first. The login MFA
        step claims an attempt this way before it checks a code, so parallel
        requests cannot pass a back-off check that a concurrent failure closes.
        """
        ...

    async def release_limiter_attempt(self, user_id: str, module_id: str) -> None:
        """Take back one failure counted by a claim whose check turned out to check no code."""
        ...

    async def reset_limiter(self, user_id: str, module_id: str) -> None:
        """Forget the user's consecutive failures in the module."""
        ...

    # Maintenance.
    async def purge_expired(self, now: float) -> int:
        """Delete sessions and flows whose expiry is at or before ``now``; return how many."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...

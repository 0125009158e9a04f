"""The per-user, per-module limiter: exponential back-off, then lockout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from .clock import Clock
from .store.base import LimiterState, Store

_LOGGER = logging.getLogger(__name__)

MAX_LOCKOUT_AFTER: Final = 100


@dataclass(frozen=True)
class LimiterPolicy:
    """Throttling of consecutive failed code checks of one user in one module.

    The first ``free_failures`` failures cost nothing. After failure number
    ``free_failures + k`` (k >= 1), checks are rejected for
    ``min(backoff_base * 2 ** (k - 1), backoff_max)`` seconds. After
    ``lockout_after`` consecutive failures every check is rejected until an
    administrator unlocks the user or the user is enrolled again. A success resets
    the count.
    """

    free_failures: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 900.0
    lockout_after: int = MAX_LOCKOUT_AFTER

    def retry_after(self, state: LimiterState, now: float) -> float:
        """Return how many seconds a check must wait, ``0.0`` when it may run now."""
        excess = state.failures - self.free_failures
        if excess <= 0 or state.last_failure_at is None:
            return 0.0
        delay = min(self.backoff_base * 2.0 ** min(excess - 1, 64), self.backoff_max)
        return max(0.0, state.last_failure_at + delay - now)

    def is_locked_out(self, state: LimiterState) -> bool:
        """Return whether the user has reached the lockout."""
        return state.failures >= self.lockout_after


@dataclass(frozen=True)
class LimiterDecision:
    """Whether a code may be checked now."""

    locked_out: bool = False
    retry_after: float = 0.0
    failures: int = 0

    @property
    def allowed(self) -> bool:
        """Return whether the check may run."""
        return not self.locked_out and self.retry_after <= 0


class Limiter:
    """The policy applied to the store's failure counts; every code check goes through it."""

    def __init__(self, store: Store, policy: LimiterPolicy, clock: Clock) -> None:
        self._store = store
        self.policy = policy
        self._clock = clock

    async def check(self, user_id: str, module_id: str) -> LimiterDecision:
        """Return whether the user may have a code checked in the module now."""
        state = await self._store.get_limiter(user_id, module_id)
        if self.policy.is_locked_out(state):
            return LimiterDecision(locked_out=True, failures=state.failures)
        retry_after = self.policy.retry_after(state, self._clock())
        return LimiterDecision(retry_after=retry_after, failures=state.failures)

    async def claim(self, user_id: str, module_id: str) -> LimiterDecision:
        """Count a failure before a code is checked, if the policy allows a check now.

        The check and the count are one atomic step in the store, so concurrent
        requests cannot all pass a back-off that the first failure starts. A
        success then resets the count with ``reset``; a failure is already counted.
        """
        # Most users have no failures: one compare-and-set then does both the check and the count.
        if await self._store.claim_limiter_attempt(user_id, module_id, 0, self._clock()):
            return LimiterDecision(failures=1)

        while True:
            state = await self._store.get_limiter(user_id, module_id)
            if self.policy.is_locked_out(state):
                return LimiterDecision(locked_out=True, failures=state.failures)
            now = self._clock()
            retry_after = self.policy.retry_after(state, now)
            if retry_after > 0:
                return LimiterDecision(retry_after=retry_after, failures=state.failures)
            if await self._store.claim_limiter_attempt(user_id, module_id, state.failures, now):
                return LimiterDecision(failures=state.failures + 1)

    def after_failure(self, user_id: str, module_id: str, failures: int) -> LimiterDecision:
        """Return the decision after a claimed attempt failed, logging a new lockout."""
        state = LimiterState(failures=failures, last_failure_at=self._clock())
        if self.policy.is_locked_out(state):
            _LOGGER.warning(
                "user %r locked out of module %r after %d consecutive failures",
                user_id,
                module_id,
                failures,
            )
            return LimiterDecision(locked_out=True, failures=failures)
        return LimiterDecision(failures=failures)

    async def record_failure(self, user_id: str, module_id: str) -> LimiterDecision:
        """Count a failed check and return the decision for the next one."""
        state = await self._store.record_limiter_failure(user_id, module_id, self._clock())
        if self.policy.is_locked_out(state):
            _LOGGER.warning(
                "user %r locked out of module %r after %d consecutive failures",
                user_id,
                module_id,
                state.failures,
            )
            return LimiterDecision(locked_out=True, failures=state.failures)
        retry_after = self.policy.retry_after(state, self._clock())
        return LimiterDecision(retry_after=retry_after, failures=state.failures)

    async def release(self, user_id: str, module_id: str) -> None:
        """Take back a claimed attempt after a step that checked no code."""
        await self._store.release_limiter_attempt(user_id, module_id)

    async def reset(self, user_id: str, module_id: str) -> None:
        """Forget the user's consecutive failures in the module."""
        await self._store.reset_limiter(user_id, module_id)

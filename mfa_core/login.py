"""The login MFA step: validation sessions, module selection, code checks and limits."""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping

import voluptuous as vol

from .clock import Clock
from .configured import ConfiguredModule
from .errors import (
    INVALID_AUTH_MODULE,
    INVALID_CODE,
    LOCKED_OUT,
    LOGIN_EXPIRED,
    TOO_MANY_RETRY,
    TRY_AGAIN_LATER,
    UNKNOWN_ERROR,
)
from .failures import describe_exception
from .forms import serialize_schema, validate_input
from .limiter import Limiter
from .results import LoginResult
from .store.base import Store, ValidationSession

_LOGGER = logging.getLogger(__name__)

SELECT_STEP = "select_mfa_module"
CODE_STEP = "mfa"
MODULE_FIELD = "module_id"


class LoginMfaStep:
    """Begins and continues login MFA steps; every state change goes through the store."""

    def __init__(
        self,
        modules: Mapping[str, ConfiguredModule],
        store: Store,
        limiter: Limiter,
        clock: Clock,
        lifetime: float,
    ) -> None:
        self._modules = modules
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self._lifetime = lifetime

    async def begin(self, user_id: str) -> LoginResult:
        """Start the step for a user who passed primary authentication."""
        try:
            enrolled = await self.enrolled_modules(user_id)
        except Exception as error:  # noqa: BLE001 - module code; the step ends with unknown_error
            _LOGGER.error(
                "checking the enrolments of user %r failed: %s", user_id, describe_exception(error)
            )
            return _abort(UNKNOWN_ERROR)
        if not enrolled:
            return LoginResult(type="not_required", user_id=user_id)

        # With one module the session starts with it selected and its code form shown.
        module = enrolled[0] if len(enrolled) == 1 else None
        now = self._clock()
        session = ValidationSession(
            session_id=secrets.token_urlsafe(32),
            user_id=user_id,
            created_at=now,
            expires_at=now + self._lifetime,
            module_id=module.id if module else None,
            initialized=module is not None,
        )
        await self._store.create_session(session)
        if module is None:
            return self._selection_form(session, enrolled, {})
        return await self._code_form(session, module, {}, first_show=True)

    async def continue_(self, session_id: str, user_id: str, user_input: object) -> LoginResult:
        """Submit a module choice or a code to the session."""
        session = await self._store.get_session(session_id)
        if session is None:
            return _abort(LOGIN_EXPIRED)
        if session.user_id != user_id:
            _LOGGER.warning(
                "validation session submitted for another user than %r", session.user_id
            )
            await self._store.delete_session(session_id)
            return _abort(LOGIN_EXPIRED)
        if session.expires_at <= self._clock():
            await self._store.delete_session(session_id)
            return _abort(LOGIN_EXPIRED)

        if session.module_id is None:
            return await self._select(session, user_input)
        module = self._modules.get(session.module_id)
        if module is None:
            await self._store.delete_session(session_id)
            return _abort(INVALID_AUTH_MODULE)
        return await self._check_code(session, module, user_input)

    async def abort(self, session_id: str, user_id: str) -> bool:
        """Delete the user's validation session; return whether it existed."""
        session = await self._store.get_session(session_id)
        if session is None or session.user_id != user_id:
            return False
        return await self._store.consume_session(session_id) is not None

    async def enrolled_modules(self, user_id: str) -> list[ConfiguredModule]:
        """Return the configured modules the user is enrolled in, in configuration order."""
        return [module for module in self._modules.values() if await module.is_user_setup(user_id)]

    async def _select(self, session: ValidationSession, user_input: object) -> LoginResult:
        try:
            enrolled = await self.enrolled_modules(session.user_id)
        except Exception as error:  # noqa: BLE001 - module code; the session ends cleanly
            _LOGGER.error(
                "checking the enrolments of user %r failed: %s",
                session.user_id,
                describe_exception(error),
            )
            await self._store.delete_session(session.session_id)
            return _abort(UNKNOWN_ERROR)
        choice = user_input.get(MODULE_FIELD) if isinstance(user_input, dict) else None
        module = next((module for module in enrolled if module.id == choice), None)
        if module is None:
            return self._selection_form(session, enrolled, {"base": INVALID_AUTH_MODULE})

        if not await self._store.select_session_module(session.session_id, module.id):
            # Another request selected a module for this session first.
            return _abort(LOGIN_EXPIRED)
        session.module_id = module.id
        return await self._code_form(session, module, {})

    async def _check_code(
        self, session: ValidationSession, module: ConfiguredModule, user_input: object
    ) -> LoginResult:
        try:
            schema = await module.input_schema()
        except Exception as error:  # noqa: BLE001 - module code; the session ends with unknown_error
            return await self._fail(session, module, error)
        data, errors = validate_input(schema, user_input)
        if data is None:
            return await self._code_form(session, module, errors)

        decision = await self._limiter.claim(session.user_id, module.id)
        if decision.locked_out:
            await self._store.delete_session(session.session_id)
            return _abort(LOCKED_OUT, module.id)
        if not decision.allowed:
            placeholders = {"retry_after": str(math.ceil(decision.retry_after))}
            return await self._code_form(session, module, {"base": TRY_AGAIN_LATER}, placeholders)

        try:
            valid = await module.validate(session.user_id, data)
        except Exception as error:  # noqa: BLE001 - module code; the session ends with unknown_error
            return await self._fail(session, module, error)
        if valid:
            return await self._succeed(session, module)
        return await self._record_failure(session, module, decision.failures)

    async def _succeed(self, session: ValidationSession, module: ConfiguredModule) -> LoginResult:
        # One atomic step consumes the session and resets the limiter after the success.
        consumed = await self._store.consume_session(session.session_id, reset_limiter=True)
        if consumed is None or consumed.user_id != session.user_id:
            return _abort(LOGIN_EXPIRED, module.id)
        return LoginResult(type="success", user_id=session.user_id, module_id=module.id)

    async def _record_failure(
        self, session: ValidationSession, module: ConfiguredModule, limiter_failures: int
    ) -> LoginResult:
        decision = self._limiter.after_failure(session.user_id, module.id, limiter_failures)
        failures = await self._store.add_session_failure(session.session_id)
        if failures is None:
            return _abort(LOGIN_EXPIRED, module.id)
        if decision.locked_out:
            await self._store.delete_session(session.session_id)
            return _abort(LOCKED_OUT, module.id)
        if failures >= module.max_retries:
            await self._store.delete_session(session.session_id)
            _LOGGER.warning(
                "login MFA step of user %r in module %r aborted after %d wrong codes",
                session.user_id,
                module.id,
                failures,
            )
            return _abort(TOO_MANY_RETRY, module.id)
        return await self._code_form(session, module, {"base": INVALID_CODE})

    def _selection_form(
        self,
        session: ValidationSession,
        enrolled: list[ConfiguredModule],
        errors: dict[str, str],
    ) -> LoginResult:
        choices = {module.id: module.name for module in enrolled}
        schema = vol.Schema({vol.Required(MODULE_FIELD): vol.In(choices)})
        return LoginResult(
            type="form",
            session_id=session.session_id,
            step_id=SELECT_STEP,
            data_schema=schema,
            data_schema_json=serialize_schema(schema),
            errors=errors,
        )

    async def _code_form(
        self,
        session: ValidationSession,
        module: ConfiguredModule,
        errors: dict[str, str],
        placeholders: dict[str, str] | None = None,
        *,
        first_show: bool = False,
    ) -> LoginResult:
        # first_show: the session was created already marked initialised.
        try:
            if first_show or await self._store.mark_session_initialized(session.session_id):
                await module.initialize_login_mfa_step(session.user_id)
            schema = await module.input_schema()
            schema_json = module.serialize(schema)
        except Exception as error:  # noqa: BLE001 - module code; the session ends with unknown_error
            return await self._fail(session, module, error)
        return LoginResult(
            type="form",
            session_id=session.session_id,
            step_id=CODE_STEP,
            module_id=module.id,
            data_schema=schema,
            data_schema_json=schema_json,
            errors=errors,
            description_placeholders=dict(placeholders or {}),
        )

    async def _fail(
        self, session: ValidationSession, module: ConfiguredModule, error: Exception
    ) -> LoginResult:
        _LOGGER.error(
            "login MFA step of module %r failed for user %r: %s",
            module.id,
            session.user_id,
            describe_exception(error),
        )
        await self._store.delete_session(session.session_id)
        return _abort(UNKNOWN_ERROR, module.id)


def _abort(reason: str, module_id: str | None = None) -> LoginResult:
    return LoginResult(type="abort", reason=reason, module_id=module_id)

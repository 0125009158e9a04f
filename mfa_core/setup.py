"""The setup-flow engine: starts, continues and ends setup flows stored in the store."""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from .clock import Clock
from .configured import ConfiguredModule
from .errors import (
    INVALID_CODE,
    INVALID_INPUT,
    LOCKED_OUT,
    SETUP_EXPIRED,
    TRY_AGAIN_LATER,
    UNKNOWN_ERROR,
    UnknownModuleError,
)
from .failures import describe_exception
from .flow import FIRST_STEP
from .forms import serialize_schema, validate_input
from .limiter import Limiter
from .results import FlowResult
from .store.base import FlowRecord, Store

_LOGGER = logging.getLogger(__name__)


class SetupFlows:
    """Runs setup flows; their state lives in the store, so any process can continue one."""

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

    async def start(
        self, module_id: str, user_id: str, context: Mapping[str, str] | None = None
    ) -> FlowResult:
        """Start enrolling ``user_id`` in ``module_id``; raise ``UnknownModuleError`` if unknown."""
        module = self._modules.get(module_id)
        if module is None:
            raise UnknownModuleError(module_id, list(self._modules))
        record = FlowRecord(
            flow_id=secrets.token_urlsafe(32),
            module_id=module_id,
            user_id=user_id,
            step_id=FIRST_STEP,
            expires_at=self._clock() + self._lifetime,
            context=dict(context or {}),
        )
        return await self._run_step(module, record, None, is_new=True)

    async def continue_(self, flow_id: str, user_id: str, user_input: object) -> FlowResult:
        """Submit ``user_input`` to the flow's current step."""
        record = await self._store.get_flow(flow_id)
        if record is None or record.user_id != user_id:
            return _abort(SETUP_EXPIRED, flow_id)
        if record.expires_at <= self._clock():
            await self._store.delete_flow(flow_id)
            return _abort(SETUP_EXPIRED, flow_id, record.module_id)
        module = self._modules.get(record.module_id)
        if module is None:
            await self._store.delete_flow(flow_id)
            return _abort(UNKNOWN_ERROR, flow_id, record.module_id)

        try:
            schema = await module.setup_form_schema(
                user_id, record.step_id, record.data, record.context
            )
        except Exception as error:  # noqa: BLE001 - module code; the flow ends with unknown_error
            return await self._fail(module, record, error)
        # A step without a schema accepts a form with no fields.
        data, errors = validate_input(schema or vol.Schema({}), user_input)
        if data is None:
            return await self._rerender(module, record, errors or {"base": INVALID_INPUT})

        # As in the login MFA step, the attempt counts as a failure before the step runs,
        # so concurrent submissions cannot pass a back-off. A step that checked no code
        # gives the attempt back.
        decision = await self._limiter.claim(user_id, module.id)
        if decision.locked_out:
            await self._store.delete_flow(flow_id)
            return _abort(LOCKED_OUT, flow_id, module.id)
        if not decision.allowed:
            retry_after = {"retry_after": str(math.ceil(decision.retry_after))}
            return await self._rerender(module, record, {"base": TRY_AGAIN_LATER}, retry_after)

        return await self._run_step(module, record, data, is_new=False, claimed=decision.failures)

    async def abort(self, flow_id: str, user_id: str) -> bool:
        """Delete the user's unfinished flow; return whether it existed."""
        record = await self._store.get_flow(flow_id)
        if record is None or record.user_id != user_id:
            return False
        return await self._store.delete_flow(flow_id)

    async def _rerender(
        self,
        module: ConfiguredModule,
        record: FlowRecord,
        errors: dict[str, str],
        placeholders: dict[str, str] | None = None,
    ) -> FlowResult:
        result = await self._run_step(module, record, None, is_new=False)
        if result.type == "form":
            result.errors = errors
            result.description_placeholders.update(placeholders or {})
        return result

    async def _run_step(
        self,
        module: ConfiguredModule,
        record: FlowRecord,
        user_input: dict[str, Any] | None,
        *,
        is_new: bool,
        claimed: int | None = None,
    ) -> FlowResult:
        try:
            result = await module.setup_step(
                record.user_id, record.step_id, user_input, record.data, record.context
            )
            if result.type == "form":
                if result.step_id is None:
                    result.step_id = record.step_id
                schema = result.data_schema
                result.data_schema_json = serialize_schema(schema) if schema is not None else []
            elif result.type == "create_entry":
                await module.setup_user(record.user_id, result.data)
        except Exception as error:  # noqa: BLE001 - module code; the flow ends with unknown_error
            return await self._fail(module, record, error, is_new=is_new)

        result.flow_id = record.flow_id
        result.module_id = module.id
        code_rejected = result.type == "form" and INVALID_CODE in result.errors.values()
        if claimed is not None and result.type != "create_entry" and not code_rejected:
            await self._limiter.release(record.user_id, module.id)
        if result.type == "form":
            return await self._save_form(module, record, result, is_new=is_new, claimed=claimed)

        if not is_new:
            await self._store.delete_flow(record.flow_id)
        if result.type == "create_entry":
            await self._limiter.reset(record.user_id, module.id)
            _LOGGER.info("user %r enrolled in module %r", record.user_id, module.id)
            result.data = {}
        return result

    async def _save_form(
        self,
        module: ConfiguredModule,
        record: FlowRecord,
        result: FlowResult,
        *,
        is_new: bool,
        claimed: int | None,
    ) -> FlowResult:
        if INVALID_CODE in result.errors.values():
            if claimed is None:
                decision = await self._limiter.record_failure(record.user_id, module.id)
            else:
                decision = self._limiter.after_failure(record.user_id, module.id, claimed)
            if decision.locked_out:
                if not is_new:
                    await self._store.delete_flow(record.flow_id)
                return _abort(LOCKED_OUT, record.flow_id, module.id)

        assert result.step_id is not None
        record.step_id = result.step_id
        if is_new:
            await self._store.create_flow(record)
            return result
        if not await self._store.save_flow(record):
            # Another process ran a step of this flow at the same time.
            return _abort(SETUP_EXPIRED, record.flow_id, module.id)
        record.version += 1
        return result

    async def _fail(
        self,
        module: ConfiguredModule,
        record: FlowRecord,
        error: Exception,
        *,
        is_new: bool = False,
    ) -> FlowResult:
        _LOGGER.error(
            "setup step %r of module %r failed for user %r: %s",
            record.step_id,
            module.id,
            record.user_id,
            describe_exception(error),
        )
        if not is_new:
            await self._store.delete_flow(record.flow_id)
        return _abort(UNKNOWN_ERROR, record.flow_id, module.id)


def _abort(reason: str, flow_id: str | None, module_id: str | None = None) -> FlowResult:
    return FlowResult(type="abort", reason=reason, flow_id=flow_id, module_id=module_id)

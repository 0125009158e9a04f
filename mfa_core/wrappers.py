"""Helpers for cross-cutting plugins that wrap module hooks."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


def observe(result: _T | Awaitable[_T], callback: Callable[[_T], object]) -> Any:
    """Call ``callback`` with a module hook's value, also when the module is async.

    A hook wrapper receives what the module returned, which for an ``async`` module
    is an awaitable. Returning ``observe(result, callback)`` from the wrapper hands
    the core the same value, or a coroutine that awaits it, then calls ``callback``.
    """
    if inspect.isawaitable(result):
        return _observe_awaitable(result, callback)
    callback(result)
    return result


async def _observe_awaitable(result: Awaitable[_T], callback: Callable[[_T], object]) -> _T:
    value = await result
    callback(value)
    return value


__all__ = ["observe"]

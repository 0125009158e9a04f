"""Describing exceptions from module code without their messages, which may hold secrets."""

from __future__ import annotations

import traceback


def describe_exception(error: BaseException) -> str:
    """Return the exception type and the innermost frame, without the message."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    return f"{type(error).__name__} at {last.filename}:{last.lineno} in {last.name}"

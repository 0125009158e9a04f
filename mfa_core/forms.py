"""Form schemas: JSON serialisation for front ends and validation of user input."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
import voluptuous_serialize

from .errors import INVALID_INPUT


def serialize_schema(schema: vol.Schema) -> list[dict[str, Any]]:
    """Convert a form schema to the JSON list voluptuous-serialize produces.

    Raises ``ValueError`` when the schema contains a validator that has no JSON form.
    """
    converted = voluptuous_serialize.convert(schema)
    if not isinstance(converted, list):
        raise ValueError("a form schema must be a mapping of fields")
    return converted


def validate_input(
    schema: vol.Schema, user_input: object
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Validate and coerce ``user_input``; return the data, or ``None`` and form errors.

    Each error is keyed by the top-level field it belongs to (``base`` when the
    input as a whole is wrong) and valued ``invalid_input``.
    """
    if not isinstance(user_input, dict):
        return None, {"base": INVALID_INPUT}
    try:
        data: dict[str, Any] = schema(user_input)
    except vol.MultipleInvalid as error:
        errors: dict[str, str] = {}
        for invalid in error.errors:
            key = str(invalid.path[0]) if invalid.path else "base"
            errors.setdefault(key, INVALID_INPUT)
        return None, errors
    except vol.Invalid as error:
        key = str(error.path[0]) if error.path else "base"
        return None, {key: INVALID_INPUT}
    return data, {}

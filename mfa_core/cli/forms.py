"""Generic forms: prompting for each field of a ``data_schema_json`` from voluptuous-serialize."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .console import Console
from .errors import CommandError
from .exit_codes import ExitStatus

# Fields whose names contain one of these words are read without echo on a terminal.
_HIDDEN_NAME: Final = re.compile(
    r"(?:^|[_\-.])(?:pin|pincode|password|passphrase|passcode|secret)(?:$|[_\-.])", re.IGNORECASE
)
_TRUE_WORDS: Final = frozenset({"y", "yes", "true", "1", "on"})
_FALSE_WORDS: Final = frozenset({"n", "no", "false", "0", "off"})
# The field that --code fills when a form has several.
CODE_FIELD: Final = "code"


@dataclass(frozen=True)
class FormField:
    """One field of a form, as voluptuous-serialize describes it.

    ``kind`` is the serialised ``type``: ``string``, ``integer``, ``float``,
    ``boolean`` or ``select``. Other kinds, and fields without a type, are read as text.
    """

    name: str
    kind: str
    required: bool
    description: str | None = None
    default: Any = None
    has_default: bool = False
    options: tuple[tuple[Any, str], ...] = ()

    @property
    def label(self) -> str:
        """The text shown before the field's prompt."""
        return self.description or self.name

    @property
    def hidden(self) -> bool:
        """Whether the value is a PIN or password, read without echo on a terminal."""
        return bool(_HIDDEN_NAME.search(self.name))


def parse_fields(schema_json: Sequence[Mapping[str, Any]] | None) -> list[FormField]:
    """Return the fields of a serialised form schema, in order."""
    fields = []
    for entry in schema_json or []:
        options = tuple((value, str(label)) for value, label in entry.get("options", []))
        fields.append(
            FormField(
                name=str(entry["name"]),
                kind=str(entry.get("type", "string")),
                required=bool(entry.get("required", False)),
                description=entry.get("description"),
                default=entry.get("default"),
                has_default="default" in entry,
                options=options,
            )
        )
    return fields


def read_form(fields: Sequence[FormField], console: Console) -> dict[str, Any]:
    """Prompt for every field and return the input to submit.

    An empty reply takes the field's default, if it has one, and otherwise leaves an
    optional field out. Raises ``InputEndedError`` at the end of standard input.
    """
    user_input: dict[str, Any] = {}
    for field in fields:
        value = _read_field(field, console)
        if value is not _OMITTED:
            user_input[field.name] = value
    return user_input


def fill_single_field(fields: Sequence[FormField], value: str, *, option: str) -> dict[str, Any]:
    """Return the input that puts ``value`` into the form's only field, or its ``code`` field.

    Raises ``CommandError`` when the form has no such field; ``option`` names
    the command-line option in the message.
    """
    target: FormField | None
    if len(fields) == 1:
        target = fields[0]
    else:
        target = next((field for field in fields if field.name == CODE_FIELD), None)
    if target is None:
        names = ", ".join(field.name for field in fields) or "none"
        raise CommandError(
            f"{option} cannot fill this form because it has several fields ({names}) and none "
            f"is named {CODE_FIELD!r}. Run the command without {option} and answer the prompts.",
            ExitStatus.USAGE,
        )

    try:
        return {target.name: convert_value(target, value)}
    except ValueError as error:
        raise CommandError(f"{option}: {error}", ExitStatus.INVALID_CODE) from None


def convert_value(field: FormField, text: str) -> Any:
    """Convert typed text to the field's type; raise ``ValueError`` with a message that omits it."""
    if field.kind == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{field.name} must be a whole number") from None
    if field.kind == "float":
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError(f"{field.name} must be a number") from None
    if field.kind == "boolean":
        return _convert_boolean(field, text)
    if field.kind == "select" and field.options:
        return _convert_choice(field, text)
    return text


class _Omitted:
    pass


_OMITTED: Final = _Omitted()


def _read_field(field: FormField, console: Console) -> Any:
    if field.kind == "select" and field.options:
        _show_options(field, console)

    while True:
        text = console.prompt(_prompt_text(field), hidden=field.hidden)
        if not text.strip() and field.has_default:
            return field.default
        if not text.strip() and not field.required:
            return _OMITTED
        if not text.strip():
            console.message(f"{field.label} is required.")
            continue

        try:
            return convert_value(field, text)
        except ValueError as error:
            console.message(f"{error}.")


def _prompt_text(field: FormField) -> str:
    if field.kind == "select" and field.options:
        prompt = f"Choose {field.label} (1-{len(field.options)})"
    elif field.kind == "boolean":
        prompt = f"{field.label} (yes/no)"
    else:
        prompt = f"Enter {field.label}"

    if field.has_default:
        prompt += f" [{field.default}]"
    elif not field.required:
        prompt += " (optional)"
    return prompt + ": "


def _show_options(field: FormField, console: Console) -> None:
    console.message(f"{field.label}:")
    for number, (value, label) in enumerate(field.options, start=1):
        suffix = f" - {label}" if label != str(value) else ""
        console.message(f"  {number}) {value}{suffix}")


def _convert_boolean(field: FormField, text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"{field.name} must be yes or no")


def _convert_choice(field: FormField, text: str) -> Any:
    answer = text.strip()
    for value, _label in field.options:
        if answer == str(value):
            return value
    if answer.isdigit() and 1 <= int(answer) <= len(field.options):
        return field.options[int(answer) - 1][0]
    choices = ", ".join(str(value) for value, _label in field.options)
    raise ValueError(f"{field.name} must be a number from the list or one of: {choices}")

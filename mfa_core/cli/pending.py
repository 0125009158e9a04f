"""Setup flows left open by ``mfa setup`` when standard input ended, kept for ``--code``.

Each pending flow is one JSON file, mode 0600, in ``cli-pending`` next to the
store. It contains the flow id and the form fields, never a secret or a code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .errors import CommandError
from .exit_codes import ExitStatus
from .files import write_private_file

DIRECTORY_NAME: Final = "cli-pending"
_DIRECTORY_MODE: Final = 0o700


@dataclass(frozen=True)
class PendingSetup:
    """An open setup flow: its id, whom it enrols, and the fields of its current form."""

    flow_id: str = field(repr=False)
    module_id: str
    user_id: str
    fields: list[dict[str, Any]]


class PendingSetups:
    """The pending setup flows, one file per module id and user id."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def beside_store(cls, store_path: Path) -> PendingSetups:
        """Return the pending flows kept in ``cli-pending`` in the store's directory."""
        return cls(store_path.parent / DIRECTORY_NAME)

    def load(self, module_id: str, user_id: str) -> PendingSetup | None:
        """Return the pending flow, or ``None``; raise ``CommandError`` for a damaged file."""
        path = self._path(module_id, user_id)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            pending = PendingSetup(
                flow_id=str(document["flow_id"]),
                module_id=module_id,
                user_id=user_id,
                fields=list(document["fields"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(
                f"cannot read the pending setup file {path}: {type(error).__name__}. "
                "Delete it and run mfa setup again without --code.",
                ExitStatus.FAILURE,
            ) from None
        return pending

    def save(self, pending: PendingSetup) -> Path:
        """Write the pending flow atomically with mode 0600 and return the file's path."""
        path = self._path(pending.module_id, pending.user_id)
        document = {
            "flow_id": pending.flow_id,
            "module_id": pending.module_id,
            "user_id": pending.user_id,
            "fields": pending.fields,
        }
        try:
            self._make_directory()
            write_private_file(path, json.dumps(document, ensure_ascii=False).encode())
        except OSError as error:
            raise CommandError(
                f"cannot save the pending setup flow in {path}: {error.strerror}. "
                "Make the store directory writable, or finish the setup in one run.",
                ExitStatus.FAILURE,
            ) from None
        return path

    def remove(self, module_id: str, user_id: str) -> None:
        """Delete the pending flow's file if there is one."""
        with contextlib.suppress(FileNotFoundError):
            self._path(module_id, user_id).unlink()

    def _path(self, module_id: str, user_id: str) -> Path:
        # User ids may hold any character, so the file name is a hash of both ids.
        key = json.dumps([module_id, user_id], ensure_ascii=False).encode()
        return self.directory / f"setup-{hashlib.sha256(key).hexdigest()}.json"

    def _make_directory(self) -> None:
        self.directory.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
        os.chmod(self.directory, _DIRECTORY_MODE)

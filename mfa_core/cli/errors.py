"""The exception a command raises to stop with a message and an exit status."""

from __future__ import annotations

from .exit_codes import ExitStatus


class CommandError(Exception):
    """A failure the command reports in one message; the message never contains a secret."""

    def __init__(self, message: str, status: ExitStatus) -> None:
        super().__init__(message)
        self.status = status

"""The ``mfa`` command: modules, check-config, setup, login, status, depose and unlock.

``main`` is the console script. Run ``mfa --help`` for the commands and exit statuses.
"""

from __future__ import annotations

from .app import run_command
from .console import Console
from .exit_codes import ExitStatus
from .logs import configure_logging

__all__ = ["ExitStatus", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``mfa`` with ``argv`` (default: the process arguments) and return the exit status."""
    configure_logging()
    return run_command(argv, Console.from_sys())

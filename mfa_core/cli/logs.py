"""Logging for the command: warnings and errors of mfa_core and its plugins on stderr."""

from __future__ import annotations

import logging
import sys


class _StderrHandler(logging.Handler):
    """Writes each record to ``sys.stderr`` as it is at that moment, as tests replace it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging reports its own failures through handleError
            self.handleError(record)


def configure_logging() -> None:
    """Send WARNING and higher to stderr, unless the process already configured logging."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("mfa: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)

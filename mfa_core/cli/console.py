"""The command's standard streams: data on stdout, prompts and messages on stderr."""

from __future__ import annotations

import getpass
import io
import sys
from dataclasses import dataclass
from typing import TextIO


class InputEndedError(Exception):
    """Standard input ended before a prompt was answered."""


@dataclass
class Console:
    """Standard input, output and error of one command run."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO

    @classmethod
    def from_sys(cls) -> Console:
        """Return the process's streams; a closed standard input reads as empty."""
        stdin = sys.stdin if sys.stdin is not None else io.StringIO("")
        return cls(stdin, sys.stdout, sys.stderr)

    @property
    def stdin_is_terminal(self) -> bool:
        """Whether standard input is a terminal."""
        return _is_terminal(self.stdin)

    @property
    def stdout_is_terminal(self) -> bool:
        """Whether standard output is a terminal."""
        return _is_terminal(self.stdout)

    def output(self, text: str = "") -> None:
        """Write one line of data to standard output."""
        print(text, file=self.stdout, flush=True)

    def message(self, text: str) -> None:
        """Write one line for the person at the terminal to standard error."""
        print(text, file=self.stderr, flush=True)

    def error(self, text: str) -> None:
        """Write an error message to standard error."""
        self.message(f"mfa: error: {text}")

    def prompt(self, text: str, *, hidden: bool = False) -> str:
        """Show ``text`` on standard error and return the line read, without its line break.

        With ``hidden`` and a terminal on standard input, the typed text is not echoed.
        Raises ``InputEndedError`` at the end of standard input.
        """
        if hidden and self.stdin_is_terminal:
            try:
                return getpass.getpass(text, stream=self.stderr)
            except EOFError:
                raise InputEndedError from None

        self.stderr.write(text)
        self.stderr.flush()
        line = self.stdin.readline()

        # A terminal echoes the line break the user typed; input from a pipe or file does not.
        if not self.stdin_is_terminal:
            self.stderr.write("\n")
            self.stderr.flush()
        if not line:
            raise InputEndedError
        return line.rstrip("\r\n")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

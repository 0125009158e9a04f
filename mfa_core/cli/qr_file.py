"""Writing the QR code of a setup form to the file that ``--qr-file`` names."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .errors import CommandError
from .exit_codes import ExitStatus
from .files import write_private_file

# File suffix: the description placeholder holding that image as base64.
PLACEHOLDER_BY_SUFFIX: Final = {".png": "qr_code_png", ".svg": "qr_code_svg"}


@dataclass(frozen=True)
class QrFile:
    """The file to save the QR code to, and the placeholder its suffix selects."""

    path: Path
    placeholder: str

    @classmethod
    def from_option(cls, value: str) -> QrFile:
        """Check ``--qr-file``; raise ``CommandError`` unless the suffix is .png or .svg."""
        path = Path(value)
        placeholder = PLACEHOLDER_BY_SUFFIX.get(path.suffix.lower())
        if placeholder is None:
            raise CommandError(
                f"--qr-file {value}: unsupported file type {path.suffix or '(none)'!r}. "
                "Use a file name ending in .png or .svg.",
                ExitStatus.USAGE,
            )
        return cls(path, placeholder)

    def write(self, placeholders: Mapping[str, str], module_id: str) -> None:
        """Decode the image from the form's placeholders and write it with mode 0600.

        The image encodes the secret, so it is written only readable by this user,
        and it appears whole or not at all. Raises ``CommandError`` when the module
        gave no such image or the file cannot be written.
        """
        encoded = placeholders.get(self.placeholder)
        if encoded is None:
            kind = self.path.suffix.lower().lstrip(".").upper()
            raise CommandError(
                f"module {module_id} gives no QR code as {kind}, so --qr-file {self.path} "
                "cannot be written. Run the command without --qr-file.",
                ExitStatus.USAGE,
            )

        try:
            image = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CommandError(
                f"module {module_id} gave a QR code that is not valid base64",
                ExitStatus.FAILURE,
            ) from None

        try:
            write_private_file(self.path, image)
        except OSError as error:
            raise CommandError(
                f"cannot write the QR code to {self.path}: {error.strerror}. "
                "Choose a writable location for --qr-file.",
                ExitStatus.FAILURE,
            ) from None

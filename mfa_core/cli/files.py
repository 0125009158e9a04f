"""Writing files that only the current user may read."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private_file(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content``, mode 0600, so that readers see all of it or none.

    ``mkstemp`` creates the temporary file with mode 0600 in the same directory,
    and ``os.replace`` renames it over ``path`` in one step. Raises ``OSError``.
    """
    directory = path.parent if str(path.parent) else Path()
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise

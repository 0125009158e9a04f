"""Output helpers: JSON documents and aligned text tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .console import Console


def print_json(console: Console, document: Any) -> None:
    """Write ``document`` to standard output as one line of JSON."""
    console.output(json.dumps(document, ensure_ascii=False))


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return the header and rows as lines with left-aligned columns, indented by two spaces."""
    widths = [len(title) for title in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines

"""QR code renderings of an otpauth URI for web pages and terminals."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Final

import segno

# QR_SCALE is the size of one module in pixels (PNG) or user units (SVG). QR_BORDER is the quiet
# zone in modules, the size segno recommends for QR codes.
QR_SCALE: Final = 5
QR_BORDER: Final = 4


@dataclass(frozen=True)
class QrCodeImages:
    """One QR code as base64 SVG, base64 PNG and Unicode block text.

    Every field encodes the otpauth URI, which contains the secret, so ``repr`` shows none.
    """

    svg_base64: str
    png_base64: str
    text: str

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def render_qr_code(content: str) -> QrCodeImages:
    """Render ``content`` as a regular QR code; ``segno.make`` may pick Micro QR for short text."""
    code = segno.make_qr(content)
    return QrCodeImages(
        svg_base64=_save_base64(code, "svg"),
        png_base64=_save_base64(code, "png"),
        text=_render_text(code),
    )


def _save_base64(code: segno.QRCode, kind: str) -> str:
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=QR_SCALE, border=QR_BORDER)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _render_text(code: segno.QRCode) -> str:
    # Half-block characters put two module rows in one line of text.
    buffer = io.StringIO()
    code.terminal(out=buffer, border=QR_BORDER, compact=True)
    return buffer.getvalue()

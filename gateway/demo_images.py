"""Demo pass images (icon, logo, strip at @1x/@2x/@3x) drawn from a program's colors.

Pure Python: shapes are drawn as horizontal spans per row and written as RGBA PNGs with
zlib and struct, so the embedded default needs no imaging library.
"""

from __future__ import annotations

import math
import re
import struct
import zlib

Rgba = tuple[int, int, int, int]
Span = tuple[int, int, Rgba]

_HEX = re.compile(r"#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TRANSPARENT: Rgba = (0, 0, 0, 0)
_SCALES = ((1, ""), (2, "@2x"), (3, "@3x"))


def _rgba(color: str) -> Rgba:
    match = _HEX.fullmatch(color.strip())
    if match is None:
        raise ValueError(f"color {color!r} is not #rrggbb")
    red, green, blue = (int(part, 16) for part in match.groups())
    return red, green, blue, 255


def _mix(a: Rgba, b: Rgba, t: float) -> Rgba:
    """Linear blend from a (t=0) to b (t=1)."""
    r, g, bl, al = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return r, g, bl, al


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG from rows of width*4 bytes."""
    if len(rows) != height or any(len(row) != width * 4 for row in rows):
        raise ValueError("rows do not match the image size")
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 (None) on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _row(width: int, background: Rgba, spans: list[Span]) -> bytes:
    """One row: background with spans [start, end) painted in order (later spans on top)."""
    pixels = bytearray(bytes(background) * width)
    for start, end, color in spans:
        start, end = max(start, 0), min(end, width)
        if end > start:
            pixels[start * 4 : end * 4] = bytes(color) * (end - start)
    return bytes(pixels)


def _disc(cx: float, cy: float, radius: float, y: int, color: Rgba) -> list[Span]:
    """The span a filled circle covers on row y (sampled at the pixel centre)."""
    dy = y + 0.5 - cy
    if abs(dy) >= radius:
        return []
    half = math.sqrt(radius * radius - dy * dy)
    return [(round(cx - half), round(cx + half), color)]


def _icon(size: int, background: Rgba, foreground: Rgba, label: Rgba) -> bytes:
    """A disc with a ring on the program background."""
    centre = size / 2
    rows = [
        _row(
            size,
            background,
            _disc(centre, centre, size * 0.42, y, foreground)
            + _disc(centre, centre, size * 0.30, y, background)
            + _disc(centre, centre, size * 0.20, y, label),
        )
        for y in range(size)
    ]
    return png(size, size, rows)


def _logo(width: int, height: int, foreground: Rgba, label: Rgba) -> bytes:
    """A transparent wordmark: a disc and three bars in the foreground and label colors."""
    radius = height * 0.4
    bar_left = round(height * 1.05)
    bars = (
        (0.22, 0.40, width * 0.85, foreground),
        (0.50, 0.62, width * 0.70, label),
        (0.70, 0.80, width * 0.55, label),
    )
    rows = []
    for y in range(height):
        spans = _disc(height / 2, height / 2, radius, y, foreground)
        for top, bottom, right, color in bars:
            if top * height <= y < bottom * height:
                spans.append((bar_left, round(right), color))
        rows.append(_row(width, _TRANSPARENT, spans))
    return png(width, height, rows)


def _strip(width: int, height: int, background: Rgba, foreground: Rgba, label: Rgba) -> bytes:
    """A vertical gradient from the background towards the label color, with a diagonal band."""
    accent = _mix(background, foreground, 0.25)
    band = max(width // 6, 1)
    rows = []
    for y in range(height):
        shade = _mix(background, label, 0.35 * y / max(height - 1, 1))
        start = round(width * 0.55 + (height - y) * 0.6)
        rows.append(_row(width, shade, [(start, start + band, accent)]))
    return png(width, height, rows)


def demo_images(background: str, foreground: str, label: str) -> dict[str, bytes]:
    """icon/logo/strip PNGs at @1x, @2x and @3x for colors given as "#rrggbb"."""
    bg, fg, lb = _rgba(background), _rgba(foreground), _rgba(label)
    images: dict[str, bytes] = {}
    for scale, suffix in _SCALES:
        images[f"icon{suffix}.png"] = _icon(29 * scale, bg, fg, lb)
        images[f"logo{suffix}.png"] = _logo(160 * scale, 50 * scale, fg, lb)
        images[f"strip{suffix}.png"] = _strip(375 * scale, 123 * scale, bg, fg, lb)
    return images

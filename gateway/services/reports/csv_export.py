"""CSV of one chart's table, written a row at a time (a response streams it)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _safe(cell: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers (a
    negative one included) stay exactly as shown."""
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def csv_lines(rows: Iterable[tuple[str, ...]]) -> Iterator[str]:
    """One CSV line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()

"""Typed records read from joined SELECTs: columns named per field, rows split by name.

A `Record` ties a dataclass to the columns that fill it, field by field (checked when the module
loads), and a `RowLayout` splits a row of several records by their widths, so one more column in
a record can never shift what another record reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Record(Generic[T]):
    """A dataclass and its columns, in field order."""

    def __init__(self, kind: Callable[..., T], columns: Mapping[str, Any]) -> None:
        names = [field.name for field in fields(kind)]  # type: ignore[arg-type]
        if list(columns) != names:
            raise TypeError(f"{kind!r}: columns {list(columns)} do not match fields {names}")
        self.kind = kind
        self.names = tuple(names)
        self.columns = tuple(columns.values())

    @property
    def width(self) -> int:
        """How many columns the record takes in a row."""
        return len(self.columns)

    def labelled(self) -> tuple[Any, ...]:
        """The columns labelled with their field names (for a CTE read by name)."""
        pairs = zip(self.names, self.columns, strict=True)
        return tuple(column.label(name) for name, column in pairs)

    def build(self, values: Sequence[Any]) -> T:
        """The record of its slice of a row."""
        return self.kind(*values)


class RowLayout:
    """Consecutive named parts of a row, each as wide as its record (or one column)."""

    def __init__(self, *parts: tuple[str, Record[Any] | int]) -> None:
        self._slices: dict[str, slice] = {}
        start = 0
        for name, part in parts:
            width = part if isinstance(part, int) else part.width
            self._slices[name] = slice(start, start + width)
            start += width

    def part(self, row: Sequence[Any], name: str) -> Sequence[Any]:
        """The values of one part of a row."""
        return row[self._slices[name]]

    def value(self, row: Sequence[Any], name: str) -> Any:
        """The first (or only) value of one part of a row."""
        return row[self._slices[name].start]

    def build(self, row: Sequence[Any], name: str, record: Record[T]) -> T | None:
        """The part's record, or None when its first column is NULL (an outer join missed)."""
        values = self.part(row, name)
        return None if values[0] is None else record.build(values)

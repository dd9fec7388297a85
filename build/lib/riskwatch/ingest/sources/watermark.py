"""Watermark values: their kind, their stored text, and the start of a look-back window.

A watermark is stored as text with its kind (``int``, ``float``, ``decimal``, ``timestamp``,
``isotext`` for times kept as text, as SQLite does, or ``text``) so it can be turned back into
a query parameter of the right type.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any


def kind_of(value: Any) -> str:
    """The kind of a watermark value read from the database."""
    if isinstance(value, bool):
        return "text"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, datetime | date):
        return "timestamp"
    if isinstance(value, str) and _iso(value):
        return "isotext"  # a time stored as text (SQLite): compared as text, windowed as time
    return "text"


def as_text(value: Any) -> str:
    """The stored text of a watermark value."""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def as_value(text: str, kind: str) -> Any:
    """A stored watermark back as a query parameter."""
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "timestamp":
        return datetime.fromisoformat(text)
    return text


def window_start(value: str, kind: str, *, seconds: float, rows: int) -> str:
    """The start of the look-back window below ``value``: ``seconds`` before a time, ``rows``
    below a number; a text watermark re-reads only the rows equal to its last value."""
    if kind == "int":
        return str(int(value) - rows)
    if kind == "float":
        return repr(float(value) - rows)
    if kind == "decimal":
        return str(Decimal(value) - rows)
    if kind in ("timestamp", "isotext"):
        start = datetime.fromisoformat(value) - timedelta(seconds=seconds)
        sep = value[10] if len(value) > 10 and value[10] in " T" else " "
        return start.isoformat(sep=sep)
    return value


def _iso(text: str) -> bool:
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True

"""Times kept the way the SQL stores give them back: aware, in UTC; naive datetimes are refused."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
    return value.astimezone(UTC)


def times_in_utc(record: T) -> T:
    """``record`` (a dataclass) with every datetime field converted to UTC."""
    changes = {
        f.name: as_utc(value)
        for f in fields(record)  # type: ignore[arg-type]
        if isinstance(value := getattr(record, f.name), datetime)
    }
    return replace(record, **changes) if changes else record  # type: ignore[type-var]

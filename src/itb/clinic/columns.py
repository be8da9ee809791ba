"""Column types for exact quantities and UTC times, the same on SQLite and PostgreSQL.

A dose or a volume is a `Decimal` in Python and an integer of millionths in the database
(mL → nL, the pump's own unit; mcg → 1e-6 mcg), so nothing passes through a binary float
and SQLite, which has no exact decimal type, stores it exactly too.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MICRO = Decimal(1_000_000)
T = TypeVar("T")


class _NullKept(TypeDecorator[T]):
    """A column type whose NULL is None both ways; a subclass converts the values (and
    sets `cache_ok` itself: SQLAlchemy reads it from each class's own namespace)."""

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.stored(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> T | None:
        return None if value is None else self.loaded(value)

    @abstractmethod
    def stored(self, value: Any) -> Any:
        """The value as the database holds it (each subclass says how)."""

    @abstractmethod
    def loaded(self, value: Any) -> T:
        """The value as the clinic's code holds it (each subclass says how)."""


class ExactDecimal(_NullKept[Decimal]):
    """A Decimal with at most 6 places, stored as an integer of millionths."""

    impl = BigInteger
    cache_ok = True

    def stored(self, value: Any) -> int:
        scaled = Decimal(value) * MICRO
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than 6 decimal places")
        return int(scaled)

    def loaded(self, value: Any) -> Decimal:
        exact = Decimal(int(value)) / MICRO
        # 300 mcg/day reads back as 300, not 3E+2; 1.500000 mL as 1.5
        whole = exact == exact.to_integral_value()
        return exact.quantize(Decimal(1)) if whole else exact.normalize()


class UTCDateTime(_NullKept[datetime]):
    """An aware UTC datetime; naive values are refused (a clock error is a hazard)."""

    impl = DateTime
    cache_ok = True

    def stored(self, value: Any) -> datetime:
        if value.tzinfo is None:
            raise ValueError("a naive datetime: the clinic stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def loaded(self, value: Any) -> datetime:
        return value.replace(tzinfo=UTC)

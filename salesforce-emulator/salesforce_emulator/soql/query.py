"""The parsed form of a SOQL query: plain dataclasses, no schema knowledge yet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .errors import Position


@dataclass(frozen=True, slots=True)
class FieldPath:
    """`Name`, `Owner.Name`, `Account.Owner.Name` as written (case not yet canonical)."""

    parts: tuple[str, ...]
    position: Position

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Literal:
    """A value in a condition. kind: string, number, boolean, null, date, datetime.

    `value` is ready to bind: decoded text, int/float, bool, None, 'YYYY-MM-DD', or a datetime already normalised to
    the stored UTC form. `like_pattern` (strings only) is the SQLite LIKE pattern with escape character '\\'.
    """

    kind: str
    value: object
    position: Position
    like_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class DateRange:
    """A date constant (TODAY, LAST_N_DAYS:30, ...) resolved to the half-open day range [start, end)."""

    name: str
    start: dt.date
    end: dt.date
    position: Position


Value = Literal | DateRange


@dataclass(frozen=True, slots=True)
class Comparison:
    field: FieldPath
    operator: str  # = != < <= > >= LIKE
    value: Value


@dataclass(frozen=True, slots=True)
class InList:
    field: FieldPath
    values: tuple[Value, ...]
    negated: bool  # NOT IN


@dataclass(frozen=True, slots=True)
class Includes:
    field: FieldPath
    values: tuple[Value, ...]
    negated: bool  # EXCLUDES


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Comparison | InList | Includes | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class Aliased:
    """A selected field with an alias (allowed in aggregate queries): `LeadSource source`."""

    field: FieldPath
    alias: str


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`COUNT(Id)`, `SUM(Amount) total`...; `field` is what the function reads."""

    function: str  # upper case: COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX
    field: FieldPath
    alias: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class TypeOf:
    """`TYPEOF Owner WHEN User THEN Name, Username ... ELSE Name END`: fields chosen by the referenced type."""

    relationship: str
    whens: tuple[tuple[str, tuple[FieldPath, ...]], ...]
    otherwise: tuple[FieldPath, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class SubQuery:
    """A parent-to-child subquery in the select list: `(SELECT Id FROM Contacts)`."""

    query: SoqlQuery
    position: Position


@dataclass(slots=True)
class SoqlQuery:
    text: str
    object_name: str
    object_position: Position
    select: list[FieldPath | Aliased | Aggregate | TypeOf | SubQuery] = field(default_factory=list)
    group_by: list[FieldPath] = field(default_factory=list)
    is_count: bool = False
    alias: str | None = None
    where: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None

"""SOQL text: identifier checks, literal formatting, keyset conditions and time windows."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from salesforce_api.soql import is_api_name as is_identifier
from salesforce_api.soql import string_literal  # noqa: F401 - part of this module's interface

_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


class SoqlError(ValueError):
    """A value that cannot be placed in a query safely."""


def is_record_id(value: object) -> bool:
    return isinstance(value, str) and _RECORD_ID.fullmatch(value) is not None


def identifier(name: str) -> str:
    """An object or field name, checked so that no text from outside can change the query's meaning."""
    if not is_identifier(name):
        raise SoqlError(f"{name!r} is not a valid Salesforce object or field name")
    return name


def field_path(path: str) -> str:
    """A field or a relationship path (`Account__r.External_Id__c`), each part checked as `identifier` does."""
    for part in path.split("."):
        identifier(part)
    return path


def id_literal(record_id: str) -> str:
    if not is_record_id(record_id):
        raise SoqlError(f"{record_id!r} is not a Salesforce record id")
    return f"'{record_id}'"


# The date-times Salesforce stores; outside them a query literal means nothing (and year 1 or 9999 with an offset
# does not even fit Python's datetime once moved to UTC).
EARLIEST = datetime(1700, 1, 1, tzinfo=UTC)
LATEST = datetime(4000, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


def parse_datetime(text: str) -> datetime:
    """Salesforce (`...000+0000`), ISO 8601 (`Z`, `+00:00`) or a bare date (midnight UTC) -> aware UTC datetime.

    ValueError for text that is no date-time, or one outside the years Salesforce stores (1700 to 4000).
    """
    value = text.strip()
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        else:
            if value.endswith(("Z", "z")):
                value = value[:-1] + "+00:00"
            elif len(value) >= 5 and value[-5] in "+-" and value[-4:].isdigit():
                value = f"{value[:-2]}:{value[-2:]}"  # +0000 -> +00:00
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the date-times Salesforce stores") from None
    if not EARLIEST <= parsed <= LATEST:
        raise ValueError(f"{text!r} is outside the date-times Salesforce stores (years 1700 to 4000)")
    return parsed


def format_datetime(moment: datetime) -> str:
    """The one text form used in queries and in state: UTC with milliseconds, e.g. 2024-01-31T12:00:00.000Z.

    The year has four digits whatever it is (strftime's %Y writes year 999 as `999`, which SOQL refuses)."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def truncate_to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Position:
    """Where a cursor-ordered read stands: every record before (cursor, last_id) has been delivered.

    With `last_id` empty, every record with cursor < `cursor` has been delivered and none at `cursor` itself.
    """

    cursor: datetime
    last_id: str = ""


def after_position(cursor_field: str, position: Position) -> str:
    """The condition selecting records strictly after `position` in (cursor, Id) order."""
    field = identifier(cursor_field)
    literal = format_datetime(position.cursor)
    if not position.last_id:
        return f"{field} >= {literal}"
    return f"({field} > {literal} OR ({field} = {literal} AND Id > {id_literal(position.last_id)}))"


def before(cursor_field: str, end: datetime) -> str:
    return f"{identifier(cursor_field)} < {format_datetime(end)}"


def select(
    sobject: str,
    fields: Sequence[str],
    where: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    parts = [f"SELECT {','.join(field_path(f) for f in fields)} FROM {identifier(sobject)}"]
    if where:
        parts.append("WHERE " + " AND ".join(where))
    if order_by:
        parts.append("ORDER BY " + ",".join(f"{identifier(f)} ASC" for f in order_by))
    if limit is not None:
        parts.append(f"LIMIT {int(limit)}")
    return " ".join(parts)


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive half-open [lower, upper) windows covering [start, end), each at most `size` long."""
    if size <= timedelta(0):
        raise ValueError("window size must be positive")
    lower = start
    while lower < end:
        upper = min(lower + size, end)
        yield lower, upper
        lower = upper


def midpoint(start: datetime, end: datetime) -> datetime:
    return truncate_to_millis(start + (end - start) / 2)

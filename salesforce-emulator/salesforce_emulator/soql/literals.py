"""Decoding SOQL literals: quoted strings with Salesforce escapes, dates, datetimes and date constants."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))\Z", re.IGNORECASE
)


class LiteralError(ValueError):
    """A literal that is well placed but not valid; the parser turns it into MALFORMED_QUERY at its position."""


def decode_string(quoted: str) -> tuple[str, str]:
    """Decode `'...'` into (value, SQLite LIKE pattern with escape '\\').

    In the value, \\% and \\_ keep their backslash (they only mean something to LIKE); in the pattern they match a
    literal % or _, and every other % or _ is a wildcard.
    """
    body = quoted[1:-1]
    value: list[str] = []
    pattern: list[str] = []
    last = 0
    for match in _ESCAPE.finditer(body):
        plain = body[last : match.start()]
        value.append(plain)
        pattern.append(plain.replace("\\", "\\\\"))
        char = match.group(1)
        if char in ("%", "_"):
            value.append("\\" + char)
            pattern.append("\\" + char)
        elif char in _SIMPLE_ESCAPES:
            decoded = _SIMPLE_ESCAPES[char]
            value.append(decoded)
            pattern.append(_escape_like(decoded))
        else:
            raise LiteralError(f"Illegal character sequence '\\{char}' in string literal.")
        last = match.end()
    plain = body[last:]
    value.append(plain)
    pattern.append(plain)
    return "".join(value), "".join(pattern)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def escape_like(text: str) -> str:
    """`text` as a LIKE pattern matching itself literally (escape character '\\')."""
    return _escape_like(text)


def parse_date(text: str) -> str:
    """Validate 'YYYY-MM-DD' and return it unchanged (the stored form)."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise LiteralError(f"line 1:0 no viable alternative at character '{text}'") from exc


def normalise_datetime(text: str) -> str:
    """A SOQL datetime literal as the stored UTC form 'YYYY-MM-DDTHH:MM:SS.mmm+0000'."""
    match = _DATETIME.match(text)
    if match is None:
        raise LiteralError(f"invalid datetime literal '{text}'")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise LiteralError(f"invalid datetime literal '{text}'") from exc
    millis = int((fraction or "0").ljust(3, "0")[:3])
    if not zulu:
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m))
        moment = moment - offset if sign == "+" else moment + offset
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}+0000"


def date_to_datetime(day: str | dt.date) -> str:
    """Midnight UTC of a day, in the stored datetime form."""
    return f"{day}T00:00:00.000+0000" if isinstance(day, str) else f"{day.isoformat()}T00:00:00.000+0000"


# Date constants -------------------------------------------------------------------------------------------------
# Each resolves to a half-open range of days [start, end) relative to today (UTC, weeks start on Sunday, calendar
# quarters and years).


def _month_start(day: dt.date, months: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: dt.date, quarters: int = 0) -> dt.date:
    first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return _month_start(first, 3 * quarters)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def _year_start(day: dt.date, years: int = 0) -> dt.date:
    return dt.date(day.year + years, 1, 1)


_DAY = dt.timedelta(days=1)
_WEEK = dt.timedelta(days=7)

_FIXED: dict[str, Callable[[dt.date], tuple[dt.date, dt.date]]] = {
    "YESTERDAY": lambda t: (t - _DAY, t),
    "TODAY": lambda t: (t, t + _DAY),
    "TOMORROW": lambda t: (t + _DAY, t + 2 * _DAY),
    "LAST_WEEK": lambda t: (_week_start(t) - _WEEK, _week_start(t)),
    "THIS_WEEK": lambda t: (_week_start(t), _week_start(t) + _WEEK),
    "NEXT_WEEK": lambda t: (_week_start(t) + _WEEK, _week_start(t) + 2 * _WEEK),
    "LAST_MONTH": lambda t: (_month_start(t, -1), _month_start(t)),
    "THIS_MONTH": lambda t: (_month_start(t), _month_start(t, 1)),
    "NEXT_MONTH": lambda t: (_month_start(t, 1), _month_start(t, 2)),
    "LAST_90_DAYS": lambda t: (t - 90 * _DAY, t + _DAY),
    "NEXT_90_DAYS": lambda t: (t + _DAY, t + 91 * _DAY),
    "LAST_QUARTER": lambda t: (_quarter_start(t, -1), _quarter_start(t)),
    "THIS_QUARTER": lambda t: (_quarter_start(t), _quarter_start(t, 1)),
    "NEXT_QUARTER": lambda t: (_quarter_start(t, 1), _quarter_start(t, 2)),
    "LAST_YEAR": lambda t: (_year_start(t, -1), _year_start(t)),
    "THIS_YEAR": lambda t: (_year_start(t), _year_start(t, 1)),
    "NEXT_YEAR": lambda t: (_year_start(t, 1), _year_start(t, 2)),
}

_WITH_N: dict[str, Callable[[dt.date, int], tuple[dt.date, dt.date]]] = {
    "LAST_N_DAYS": lambda t, n: (t - n * _DAY, t + _DAY),
    "NEXT_N_DAYS": lambda t, n: (t + _DAY, t + (n + 1) * _DAY),
    "N_DAYS_AGO": lambda t, n: (t - n * _DAY, t - (n - 1) * _DAY),
    "LAST_N_WEEKS": lambda t, n: (_week_start(t) - n * _WEEK, _week_start(t)),
    "NEXT_N_WEEKS": lambda t, n: (_week_start(t) + _WEEK, _week_start(t) + (n + 1) * _WEEK),
    "N_WEEKS_AGO": lambda t, n: (_week_start(t) - n * _WEEK, _week_start(t) - (n - 1) * _WEEK),
    "LAST_N_MONTHS": lambda t, n: (_month_start(t, -n), _month_start(t)),
    "NEXT_N_MONTHS": lambda t, n: (_month_start(t, 1), _month_start(t, n + 1)),
    "N_MONTHS_AGO": lambda t, n: (_month_start(t, -n), _month_start(t, -n + 1)),
    "LAST_N_QUARTERS": lambda t, n: (_quarter_start(t, -n), _quarter_start(t)),
    "NEXT_N_QUARTERS": lambda t, n: (_quarter_start(t, 1), _quarter_start(t, n + 1)),
    "N_QUARTERS_AGO": lambda t, n: (_quarter_start(t, -n), _quarter_start(t, -n + 1)),
    "LAST_N_YEARS": lambda t, n: (_year_start(t, -n), _year_start(t)),
    "NEXT_N_YEARS": lambda t, n: (_year_start(t, 1), _year_start(t, n + 1)),
    "N_YEARS_AGO": lambda t, n: (_year_start(t, -n), _year_start(t, -n + 1)),
}


def date_constant_range(name: str, n: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """Resolve a date constant; raises LiteralError for an unknown name or a missing/unexpected `:n`."""
    key = name.upper()
    if key in _FIXED and n is None:
        return _FIXED[key](today)
    if key in _WITH_N and n is not None:
        return _WITH_N[key](today, n)
    if key in _WITH_N:
        raise LiteralError(f"Date constant {key} requires a value such as {key}:1")
    raise LiteralError(f"unexpected token: '{name}'")

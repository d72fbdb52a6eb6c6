"""Field values: JSON or CSV input -> the stored SQLite encoding, with Salesforce's error codes and messages."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any

from salesforce_emulator.ids import ID_PATTERN, to18
from salesforce_emulator.schema import FieldDef

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$")
TRUE_TEXT = {"true", "1", "yes"}
FALSE_TEXT = {"false", "0", "no", ""}


class FieldError(ValueError):
    """A value a field does not accept; carries the Salesforce status code."""

    def __init__(self, status_code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = fields


def format_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def now_text() -> str:
    """The stamp of a write: whole seconds, as Salesforce's audit fields, so writes in one second share it."""
    return format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))


def seconds_of(text: str) -> float:
    """Any ISO-8601 datetime -> seconds since the epoch."""
    return dt.datetime.fromisoformat(parse_datetime(text).replace("+0000", "+00:00")).timestamp()


def parse_datetime(text: str) -> str:
    """Any ISO-8601 datetime -> the stored 'YYYY-MM-DDTHH:MM:SS.mmm+0000' UTC form."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", cleaned):
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    if DATE.match(cleaned):
        cleaned += "T00:00:00+00:00"
    parsed = dt.datetime.fromisoformat(cleaned)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return format_datetime(parsed)


def _bad_type(f: FieldDef, value: Any) -> FieldError:
    return FieldError(
        "JSON_PARSER_ERROR" if isinstance(value, (dict, list)) else "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {value}",
        [f.name],
    )


def coerce(f: FieldDef, value: Any) -> Any:
    """A JSON value (or CSV text) for field f -> the stored encoding; raises FieldError."""
    if value is None:
        return None
    t = f.type
    try:
        if t == "boolean":
            if isinstance(value, bool) or value in (0, 1):
                return int(value)
            if isinstance(value, str) and value.strip().lower() in TRUE_TEXT | FALSE_TEXT:
                return int(value.strip().lower() in TRUE_TEXT)
            raise _bad_type(f, value)
        if t in {"int", "long"}:
            if isinstance(value, bool):
                raise _bad_type(f, value)
            number = float(value) if isinstance(value, str) else value
            if not isinstance(number, (int, float)) or number != int(number):
                raise _bad_type(f, value)
            number = int(number)
            if f.digits and len(str(abs(number))) > f.digits:
                raise FieldError(
                    "NUMBER_OUTSIDE_VALID_RANGE", f"{f.label}: number outside valid range: {value}", [f.name]
                )
            return number
        if t in {"double", "currency", "percent"}:
            if isinstance(value, bool):
                raise _bad_type(f, value)
            number = float(value)
            if f.precision and abs(number) >= 10 ** (f.precision - f.scale):
                raise FieldError(
                    "NUMBER_OUTSIDE_VALID_RANGE", f"{f.label}: number outside valid range: {value}", [f.name]
                )
            return round(number, f.scale) if f.scale or f.precision else number
        if t == "date":
            text = str(value).strip()
            if "T" in text:
                text = text.split("T", 1)[0]
            dt.date.fromisoformat(text)
            if not DATE.match(text):
                raise _bad_type(f, value)
            return text
        if t == "datetime":
            if not isinstance(value, str):
                raise _bad_type(f, value)
            return parse_datetime(value)
        if t == "time":
            match = TIME.match(str(value).strip())
            if not match:
                raise _bad_type(f, value)
            hh, mm, ss, ms = match.groups()
            if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
                raise _bad_type(f, value)
            return f"{hh}:{mm}:{ss or '00'}.{(ms or '0').ljust(3, '0')}Z"
        if t in {"id", "reference"}:
            if not isinstance(value, str):
                raise _bad_type(f, value)
            if value == "":
                return None
            full = to18(value)
            if full is None:
                raise FieldError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
            return full
        if t == "base64":
            if not isinstance(value, str):
                raise _bad_type(f, value)
            base64.b64decode(value, validate=True)
            return value
        if isinstance(value, (dict, list)):
            raise _bad_type(f, value)
        text = value if isinstance(value, str) else _number_text(value)
    except FieldError:
        raise
    except (ValueError, TypeError, binascii.Error, OverflowError) as exc:
        raise _bad_type(f, value) from exc
    return _check_text(f, text)


def _number_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_text(f: FieldDef, text: str) -> str | None:
    if text == "":
        return None  # Salesforce stores an empty string as null
    if f.length and len(text) > f.length:
        raise FieldError(
            "STRING_TOO_LONG", f"{f.label}: data value too large: {text[:40]} (max length={f.length})", [f.name]
        )
    if f.type == "email" and not EMAIL.match(text):
        raise FieldError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {text}", [f.name])
    if f.restricted_picklist and f.type == "picklist" and text not in f.picklist_values:
        raise FieldError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.label}: bad value for restricted picklist field: {text}",
            [f.name],
        )
    if f.type == "multipicklist":
        # Salesforce drops duplicate choices and keeps them in the order given.
        parts = list(dict.fromkeys(p.strip() for p in text.split(";") if p.strip()))
        return ";".join(parts) or None
    return text


def coerce_csv(f: FieldDef, text: str) -> Any:
    """Bulk API CSV text -> the stored encoding; raises ValueError (a FieldError) with a Salesforce-like message."""
    if text == "" or text == "#N/A":
        return None
    if f.type == "boolean":
        lowered = text.strip().lower()
        if lowered not in TRUE_TEXT | FALSE_TEXT:
            raise _bad_type(f, text)
        return int(lowered in TRUE_TEXT)
    return coerce(f, text)


# --- per-field coercers ---------------------------------------------------------------------------------------------
# A write checks the same fields for every record; these functions answer exactly what `coerce` would, taking a
# short path for the common well-formed value and handing everything else (and every error) to `coerce` itself.

Coercer = Callable[[Any], Any]
TEXT_SHORT_PATH = {"string", "textarea", "picklist", "combobox", "email", "phone", "url", "encryptedstring"}
# ASCII digits and a four-digit year only: other forms take the general path.
UTC_DATETIME = re.compile(
    r"([1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{3})?(?:Z|\+0000|\+00:00)"
)


def coercer(f: FieldDef) -> Coercer:  # noqa: C901 - one short path per type
    """A function equal to `lambda value: coerce(f, value)`, faster for well-formed values."""
    t = f.type

    def slow(value: Any) -> Any:
        return coerce(f, value)

    if t in TEXT_SHORT_PATH:
        length, email = f.length, t == "email"
        allowed = set(f.picklist_values) if f.restricted_picklist and t == "picklist" else None

        def text(value: Any) -> Any:
            if (
                type(value) is str
                and value
                and not (length and len(value) > length)
                and not (email and not EMAIL.match(value))
                and not (allowed is not None and value not in allowed)
            ):
                return value
            return coerce(f, value)

        return text
    if t == "boolean":

        def boolean(value: Any) -> Any:
            if value is True or value is False:
                return int(value)
            return coerce(f, value)

        return boolean
    if t in {"double", "currency", "percent"}:
        limit = 10 ** (f.precision - f.scale) if f.precision else None
        scale, rounded = f.scale, bool(f.scale or f.precision)

        def number(value: Any) -> Any:
            if type(value) is float or type(value) is str or (type(value) is int and abs(value) < 1 << 53):
                try:
                    n = float(value)
                except ValueError:
                    return coerce(f, value)
                if limit is None or abs(n) < limit:
                    return round(n, scale) if rounded else n
            return coerce(f, value)

        return number
    if t in {"int", "long"}:
        digits = f.digits

        def integer(value: Any) -> Any:
            if type(value) is int and not (digits and len(str(abs(value))) > digits):
                return value
            return coerce(f, value)

        return integer
    if t == "datetime":

        def datetime_(value: Any) -> Any:
            if type(value) is str:
                short = _utc_datetime(value)
                if short is not None:
                    return short
            return coerce(f, value)

        return datetime_
    if t == "date":

        def date(value: Any) -> Any:
            if type(value) is str and len(value) == 10 and DATE.match(value):
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    return coerce(f, value)
                return value
            return coerce(f, value)

        return date
    if t in {"id", "reference"}:

        def identifier(value: Any) -> Any:
            if type(value) is str and len(value) == 18 and ID_PATTERN.match(value):
                return value
            return coerce(f, value)

        return identifier
    return slow


@functools.lru_cache(maxsize=4096)
def _utc_datetime(text: str) -> str | None:
    """The stored form of a UTC datetime in the usual shapes, or None to let `coerce` decide."""
    match = UTC_DATETIME.fullmatch(text)
    if match is None:
        return None
    try:
        dt.datetime.fromisoformat(match.group(1))
    except ValueError:
        return None
    return match.group(1) + (match.group(2) or ".000") + "+0000"


def csv_coercer(f: FieldDef) -> Coercer:
    """A function equal to `lambda text: coerce_csv(f, text)` for Bulk API CSV text."""
    if f.type == "boolean":
        return lambda text: coerce_csv(f, text)
    json_coercer = coercer(f)

    def from_csv(text: str) -> Any:
        if text == "" or text == "#N/A":
            return None
        return json_coercer(text)

    return from_csv

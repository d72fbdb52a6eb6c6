"""Turning an incoming record into Salesforce field values: filter, column mapping and value formatting.

Values are first formatted for JSON (sObject Collections); `csv_value` turns such a value into its Bulk API 2.0 CSV
text. Nothing here talks to Salesforce: the field types come from a describe the caller already has.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from destination_salesforce.lookups import ParentLookups
from destination_salesforce.spec import ColumnRule, Condition

MISSING = object()
CSV_NULL = "#N/A"  # Bulk API 2.0: an empty cell leaves the field unchanged, #N/A sets it to null

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null", "contains", "starts_with")
STRING_TYPES = {
    "string", "textarea", "email", "phone", "url", "picklist", "combobox", "id", "reference",
    "encryptedstring", "base64",
}  # fmt: skip


MAX_DIGITS = 18  # Salesforce numbers hold at most 18 digits, so every integer sent fits in 64 bits
LENGTH_TYPES = STRING_TYPES - {"id", "reference", "base64"} | {"multipicklist"}  # a length in characters
NUMBER_TYPES = {"int", "double", "currency", "percent"}


class ValueFormatError(ValueError):
    """A value the target field cannot take: the record is rejected (with a Salesforce-like `code`), not the sync."""

    def __init__(self, target: str, message: str, code: str = "INVALID_VALUE") -> None:
        super().__init__(f"{target}: {message}")
        self.target = target
        self.code = code


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at `path` (a key, or a dotted path into nested objects); MISSING when absent."""
    if path in data:
        return data[path]
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


# ---------------------------------------------------------------------------------------------------------------
# Filter


class RecordFilter:
    """All conditions must hold. Comparisons are numeric when both sides are numbers, textual otherwise."""

    def __init__(self, conditions: Sequence[Condition]) -> None:
        for c in conditions:
            if c.operator not in OPERATORS:
                raise ValueError(
                    f"filter on '{c.field}': unknown operator '{c.operator}' (one of {', '.join(OPERATORS)})"
                )
            if c.operator in ("in", "not_in") and not isinstance(c.value, list):
                raise ValueError(f"filter on '{c.field}': operator '{c.operator}' needs a list value")
        self.conditions = tuple(conditions)

    def matches(self, data: Mapping[str, Any]) -> bool:
        return all(self._holds(c, self._value(data, c.field)) for c in self.conditions)

    @staticmethod
    def _value(data: Mapping[str, Any], path: str) -> Any:
        """The value at `path`; its first part matches a field name case-insensitively when no name matches exactly
        (caches lower-case column names, while the catalog's schema keeps the source's spelling)."""
        value = get_path(data, path)
        if value is not MISSING:
            return value
        head, dot, rest = path.partition(".")
        spelt = next((name for name in data if name.casefold() == head.casefold()), None)
        if spelt is None:
            return MISSING
        if not dot:
            return data[spelt]
        return get_path(data[spelt], rest) if isinstance(data[spelt], Mapping) else MISSING

    @staticmethod
    def _holds(c: Condition, actual: Any) -> bool:
        is_null = actual is MISSING or actual is None
        if c.operator == "is_null":
            return is_null
        if c.operator == "not_null":
            return not is_null
        if c.operator == "in":
            return not is_null and any(_equal(actual, v) for v in c.value)
        if c.operator == "not_in":
            return is_null or not any(_equal(actual, v) for v in c.value)
        if c.operator == "!=":
            return is_null or not _equal(actual, c.value)
        if is_null:
            return False
        if c.operator == "=":
            return _equal(actual, c.value)
        if c.operator == "contains":
            return str(c.value) in _text(actual)
        if c.operator == "starts_with":
            return _text(actual).startswith(str(c.value))
        left, right = _comparable(actual, c.value)
        if left is None:
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[c.operator]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, default=str)
        if isinstance(value, (list, dict))
        else str(value)
    )


def _equal(actual: Any, expected: Any) -> bool:
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return a == b
    return _text(actual) == _text(expected)


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return a, b
    if expected is None:
        return None, None
    return _text(actual), _text(expected)


# ---------------------------------------------------------------------------------------------------------------
# Value formatting


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(" UTC"):
            text = text[:-4] + "+00:00"
        parsed = datetime.fromisoformat(text)
    else:
        raise ValueError(f"expected a date-time string, got {type(value).__name__}")
    # A datetime without an offset is taken as UTC, like Airbyte's timestamp_without_timezone.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def field_limits(fields: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """What each field of a describe takes at most: text fields their length in characters, number fields the digits
    before the decimal point (MAX_DIGITS when the describe does not say). A value beyond is rejected before upload:
    in a Bulk job, one such value can fail the whole job."""
    limits: dict[str, int] = {}
    for f in fields:
        if f.get("type") in LENGTH_TYPES and f.get("length"):
            limits[f["name"]] = int(f["length"])
        elif f.get("type") == "int":
            limits[f["name"]] = min(int(f.get("digits") or MAX_DIGITS), MAX_DIGITS)
        elif f.get("type") in NUMBER_TYPES:
            precision = int(f.get("precision") or 0)
            limits[f["name"]] = precision - int(f.get("scale") or 0) if precision else MAX_DIGITS
    return limits


def format_json(sf_type: str | None, value: Any, target: str = "value", limit: int = 0) -> Any:
    """`value` as Salesforce expects it in JSON for a field of describe type `sf_type` (None: as it is); `limit` is
    the field's entry in `field_limits` (0: none)."""
    if value is None:
        return None
    try:
        if sf_type in STRING_TYPES or sf_type == "multipicklist":
            if sf_type == "multipicklist" and isinstance(value, list):
                text = ";".join(_text(v) for v in value)
            else:
                text = _text(value)
            if limit and sf_type in LENGTH_TYPES and len(text) > limit:
                raise ValueFormatError(
                    target, f"{len(text)} characters, more than the field's length of {limit}", "STRING_TOO_LONG"
                )
            return text
        if sf_type == "boolean":
            return _boolean(value)
        if sf_type in NUMBER_TYPES:
            return _json_number(sf_type, value, target, limit or MAX_DIGITS)
        if sf_type == "date":
            if isinstance(value, str) and len(value.strip()) == 10:
                return date.fromisoformat(value.strip()).isoformat()
            return _datetime(value).date().isoformat()
        if sf_type == "datetime":
            moment = _datetime(value).astimezone(UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        if sf_type == "time":
            parsed = value if isinstance(value, time) else time.fromisoformat(str(value).strip().rstrip("Z"))
            return parsed.strftime("%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
    except ValueFormatError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueFormatError(target, str(exc)) from None
    if isinstance(value, Decimal) or (isinstance(value, int) and not -(2**63) <= value < 2**63):
        return _text(value)  # no field type to go by (a lookup's external id): exact text, which JSON can carry
    return value


def _json_number(sf_type: str, value: Any, target: str, digits: int) -> int | float:
    """A finite number with at most `digits` digits before the decimal point: an int when integral (and given without
    a decimal point), a float otherwise."""
    number = _number(value)
    kind = "an integer" if sf_type == "int" else "a number"
    if number is None or not number.is_finite():
        raise ValueError(f"expected {kind}, got {_text(value)[:40]!r}")
    integral = number == number.to_integral_value()
    if sf_type == "int" and not integral:
        raise ValueError(f"expected an integer, got {_text(value)[:40]!r}")
    if number and number.adjusted() + 1 > digits:
        found = f"{_text(value)[:40]} has {number.adjusted() + 1} digits before the decimal point"
        raise ValueFormatError(target, f"{found}; the field holds {digits}", "NUMBER_OUTSIDE_VALID_RANGE")
    if sf_type == "int" or (integral and "." not in str(value)):
        return int(number)
    return float(number)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise ValueError(f"expected a boolean, got {_text(value)[:40]!r}")


def csv_value(value: Any) -> str:
    """A JSON-formatted value as Bulk API 2.0 CSV text: null and the empty string are #N/A (an empty cell would leave
    the field unchanged, where Collections clears it); numbers never in exponent form."""
    if value is None or value == "":
        return CSV_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(str(value)), "f")
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


# ---------------------------------------------------------------------------------------------------------------
# Column mapping


@dataclass
class PreparedRecord:
    """One record ready to write: its number in the stream, a key for logs, and JSON-formatted field values."""

    position: int
    key: str
    values: dict[str, Any]
    data: Mapping[str, Any] = field(repr=False, default_factory=dict)


def json_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values as an sObject JSON body; `Rel.ExtId__c` becomes a nested lookup `{"Rel": {"ExtId__c": v}}`."""
    body: dict[str, Any] = {}
    for target, value in values.items():
        if "." in target:
            relationship, parent_field = target.split(".", 1)
            body.setdefault(relationship, {})[parent_field] = value
        else:
            body[target] = value
    return body


AIRBYTE_COLUMNS = "_airbyte_"  # columns warehouses and caches add (_airbyte_raw_id, _airbyte_meta...): never data
NAME_CACHE = 10_000  # incoming field names remembered with what they map to


class RecordMapper:
    """Source record -> Salesforce field values, typed by the object's describe.

    Incoming field names match case-insensitively (an exact match wins): warehouses and caches often lower-case
    column names. `_airbyte_*` columns are ignored; other names that map to nothing are kept in `unmapped`.
    """

    def __init__(
        self,
        rules: Sequence[ColumnRule],
        field_types: Mapping[str, str],
        key_fields: Iterable[str] = (),
        passthrough: Iterable[str] | None = None,
        lookups: ParentLookups | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        """Without rules, the record's fields named in `passthrough` (default: every typed field) are written, and
        parent external ids carried beside reference fields through `lookups`. `limits` (from `field_limits`) bounds
        text lengths and number digits."""
        self.rules = tuple(rules)
        self.lookups = lookups if not self.rules else None
        self.field_types = dict(field_types)
        self.limits = dict(limits or {})
        self.key_fields = tuple(key_fields)
        self.passthrough = set(self.field_types if passthrough is None else passthrough)
        # What an incoming name can stand for: a field to write, or (with rules) the first part of a rule's source.
        known = {rule.source.split(".", 1)[0] for rule in self.rules} if self.rules else self.passthrough
        if self.rules:
            known |= {rule.source for rule in self.rules}
        self.known = known
        self.folded: dict[str, str] = {}
        for name in sorted(known):
            self.folded.setdefault(name.casefold(), name)
        self.names: dict[str, str | None] = {}
        self.unmapped: set[str] = set()

    def target_of(self, name: str) -> str | None:
        """The known name an incoming field name stands for (exact, else case-insensitive); None when nothing."""
        target = self.names.get(name, MISSING)
        if target is not MISSING:
            return target  # type: ignore[return-value]
        if name in self.known:
            target = name
        elif name.startswith(AIRBYTE_COLUMNS):
            target = None
        else:
            target = self.folded.get(name.casefold())
            if target is None and self.lookups is not None:
                target = self.lookups.target_of(name)
            if target is None and len(self.unmapped) < NAME_CACHE:
                self.unmapped.add(name)
        if len(self.names) < NAME_CACHE:
            self.names[name] = target
        return target

    def maps_anything(self, data: Mapping[str, Any]) -> bool:
        return any(self.target_of(name) is not None for name in data)

    def map(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Raises ValueFormatError for a value its field cannot take."""
        values: dict[str, Any] = {}
        if self.rules:
            data = self._renamed(data)
            pairs = ((rule.target, get_path(data, rule.source)) for rule in self.rules)
            for target, value in pairs:
                if value is not MISSING:  # an absent column leaves the field untouched, unlike an explicit null
                    values[target] = self._format(target, value)
            return values
        for name, value in data.items():
            target = self.target_of(name)
            if target is None or (target != name and target in values):
                continue  # nothing to write, or a case-insensitive match where the exact one was already written
            if self.lookups is not None and target not in self.field_types:
                self.lookups.add(values, target, value)
                continue
            values[target] = self._format(target, value)
        if self.lookups is not None:
            self.lookups.finish(values)
        return values

    def _format(self, target: str, value: Any) -> Any:
        return format_json(self.field_types.get(target), value, target, self.limits.get(target, 0))

    def _renamed(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record with its field names as the rules spell them (the same record when they already do)."""
        if all(self.target_of(name) in (name, None) for name in data):
            return data
        renamed: dict[str, Any] = {}
        for name, value in data.items():
            target = self.target_of(name) or name
            if target == name or target not in renamed:
                renamed[target] = value
        return renamed

    def prepare(self, position: int, data: Mapping[str, Any]) -> PreparedRecord:
        values = self.map(data)
        return PreparedRecord(position, self.key_of(position, values), values, data)

    def key_of(self, position: int, values: Mapping[str, Any]) -> str:
        for name in self.key_fields:
            if values.get(name) not in (None, ""):
                return f"{name}={values[name]}"
        return f"record #{position}"


def dedupe_last_wins(
    records: Sequence[PreparedRecord], key_field: str
) -> tuple[list[PreparedRecord], list[PreparedRecord]]:
    """(kept, superseded): one record per key value, the last one, in the order the kept records arrived.

    Records without a key value are all kept: the write rejects them for the missing key.
    """
    last: dict[Any, int] = {}
    for i, record in enumerate(records):
        value = record.values.get(key_field)
        if value not in (None, ""):
            last[value] = i
    kept, superseded = [], []
    for i, record in enumerate(records):
        value = record.values.get(key_field)
        (kept if value in (None, "") or last[value] == i else superseded).append(record)
    return kept, superseded


def split_rounds(records: Sequence[PreparedRecord], key_field: str) -> list[list[PreparedRecord]]:
    """Batches in which no key value repeats, so that records sharing a key are applied one after the other.

    A Collections upsert (and a Bulk job) refuses the same external id twice in one request.
    """
    rounds: list[list[PreparedRecord]] = []
    seen: list[set[Any]] = []
    for record in records:
        value = record.values.get(key_field)
        n = 0
        if value not in (None, ""):
            while n < len(seen) and value in seen[n]:
                n += 1
        if n == len(rounds):
            rounds.append([])
            seen.append(set())
        rounds[n].append(record)
        if value not in (None, ""):
            seen[n].add(value)
    return rounds

"""QueryPlan: the compiled SQL plus the per-column converters that turn SQLite rows into REST records and CSV cells.

Everything type-dependent is decided at compile time; record() and csv_values() only index into the row and call
precomputed converters, because they run once per row for up to a million rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from .schema import ObjectInfo

# Stored booleans are INTEGER 0/1 (or NULL); a dict lookup is the cheapest exact mapping.
_BOOL_JSON: dict[object, bool | None] = {None: None, 0: False, 1: True}
_BOOL_CSV: dict[object, str] = {None: "", 0: "false", 1: "true"}

# Describe types whose stored form is not already the REST JSON value.
BOOLEAN_TYPES = frozenset({"boolean"})
INTEGER_TYPES = frozenset({"int", "long"})
REAL_TYPES = frozenset({"double", "currency", "percent"})

Fixup = Callable[[tuple, str], object]  # (row, "/services/data/vNN.N/sobjects/") -> JSON value


def _csv_number(value: object) -> str:
    return "" if value is None else str(value)


def _csv_bool(value: object) -> str:
    return _BOOL_CSV[value]


def csv_converter(field_type: str) -> Callable[[object], str] | None:
    """The CSV converter for a stored value of this type, or None when the stored text (or "") is already right."""
    if field_type in BOOLEAN_TYPES:
        return _csv_bool
    if field_type in INTEGER_TYPES or field_type in REAL_TYPES:
        return _csv_number
    return None


def _bool_fixup(index: int) -> Fixup:
    def fixup(row: tuple, _base: str) -> object:
        return _BOOL_JSON[row[index]]

    return fixup


def _float_fixup(index: int) -> Fixup:
    # REAL columns hold whatever was stored; JSON wants a number, and a whole number stored as INTEGER stays an int.
    def fixup(row: tuple, _base: str) -> object:
        value = row[index]
        return value if value is None or isinstance(value, int | float) else float(value)

    return fixup


@dataclass
class Shape:
    """How one JSON object (the record, or a nested parent) is assembled from a row.

    `keys[i]` takes `row[indexes[i]]` as is; `fixups` then overwrite the keys whose value needs converting or
    building (booleans, parents, compounds). Overwriting keeps a key's position, so select order is preserved.
    """

    keys: list[str] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    fixups: list[tuple[str, Fixup]] = field(default_factory=list)

    def add_value(self, key: str, index: int, field_type: str) -> None:
        self.keys.append(key)
        self.indexes.append(index)
        if field_type in BOOLEAN_TYPES:
            self.fixups.append((key, _bool_fixup(index)))

    def add_built(self, key: str, index: int, build: Fixup) -> None:
        self.keys.append(key)
        self.indexes.append(index)
        self.fixups.append((key, build))

    def getter(self) -> Callable[[tuple], Sequence[object]]:
        if not self.indexes:
            return lambda _row: ()
        if self.indexes == list(range(len(self.indexes))):
            return lambda row: row  # zip() stops at the last key, so the hidden columns after it are ignored
        if len(self.indexes) == 1:
            only = self.indexes[0]
            return lambda row: (row[only],)
        return itemgetter(*self.indexes)


def parent_builder(type_name: str, id_index: int, shape: Shape) -> Fixup:
    """A nested parent record, or None when the reference is empty (or points at nothing)."""
    keys = tuple(shape.keys)
    get = shape.getter()
    fixups = tuple(shape.fixups)
    url_type = type_name + "/"

    def build(row: tuple, base: str) -> object:
        parent_id = row[id_index]
        if parent_id is None:
            return None
        record: dict[str, object] = {"attributes": {"type": type_name, "url": base + url_type + parent_id}}
        record.update(zip(keys, get(row), strict=False))
        for key, fixup in fixups:
            record[key] = fixup(row, base)
        return record

    return build


def compound_builder(parts: list[tuple[str, int | None, str]]) -> Fixup:
    """An address/location object from its component columns: (key, row index or None if absent, type)."""
    keys = tuple(key for key, _index, _type in parts)
    present = [(position, index) for position, (_k, index, _t) in enumerate(parts) if index is not None]
    size = len(parts)

    def build(row: tuple, _base: str) -> object:
        values: list[object] = [None] * size
        empty = True
        for position, index in present:
            value = row[index]
            if value is not None:
                values[position] = value
                empty = False
        return None if empty else dict(zip(keys, values, strict=True))

    return build


class QueryPlan:
    """A compiled query: run `sql` with `params`, then shape each row with record() or csv_values()."""

    def __init__(
        self,
        *,
        object_info: ObjectInfo,
        sql: str,
        params: tuple,
        count_sql: str,
        count_params: tuple,
        is_count: bool,
        columns: list[str],
        id_index: int,
        shape: Shape,
        csv_converters: list[tuple[int, Callable[[object], str]]],
        bulk_error: str | None,
    ) -> None:
        self.object = object_info
        self.sql = sql
        self.params = params
        self.count_sql = count_sql
        self.count_params = count_params
        self.is_count = is_count
        self.columns = columns
        self._bulk_error = bulk_error
        self._type = object_info.name
        self._url_type = object_info.name + "/"
        self._id_index = id_index
        self._keys = tuple(shape.keys)
        self._get = shape.getter()
        self._fixups = tuple(shape.fixups)
        self._width = len(columns)
        self._csv_converters = tuple(csv_converters)
        self._bases: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"QueryPlan(object={self._type!r}, columns={self.columns!r})"

    def _base(self, api_version: str) -> str:
        base = self._bases.get(api_version)
        if base is None:
            version = api_version[1:] if api_version[:1] in ("v", "V") else api_version
            base = self._bases[api_version] = f"/services/data/v{version}/sobjects/"
        return base

    def record(self, row: tuple, api_version: str) -> dict:
        """The REST JSON record for one row of `sql`."""
        base = self._bases.get(api_version) or self._base(api_version)
        record: dict[str, object] = {"attributes": {"type": self._type, "url": base + self._url_type + row[self._id_index]}}
        record.update(zip(self._keys, self._get(row), strict=False))
        for key, fixup in self._fixups:
            record[key] = fixup(row, base)
        return record

    def csv_header(self) -> list[str]:
        return list(self.columns)

    def csv_values(self, row: tuple) -> list[str]:
        """The Bulk API 2.0 CSV cells for one row of `sql`: null -> "", booleans true/false, the rest as stored."""
        values = ["" if value is None else value for value in row[: self._width]]
        for index, convert in self._csv_converters:
            values[index] = convert(row[index])
        return values

    def bulk_error(self) -> str | None:
        return self._bulk_error

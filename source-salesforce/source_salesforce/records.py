"""Give a record the same shape whichever API served it.

REST returns typed JSON, Bulk returns CSV strings. Both become: the selected fields only, values typed by the
schema, empty -> null (but the text "NA" stays "NA"), datetimes in RFC 3339 with milliseconds
(`2024-01-31T12:00:00.000Z`, as Bulk writes them; REST's `+0000` is not RFC 3339), and compound fields (address,
location) assembled from their components, because Bulk cannot select compound fields. A parent external id read
by relationship query (`Account__r.External_Id__c`) comes nested as REST returns it, `{"Account__r":
{"External_Id__c": "A-1"}}`, whether REST nested it or Bulk gave it as a flat column; null when the record has no
parent or its parent has no external id value (Bulk cannot tell these apart). Converters are computed once per
stream so the per-record work stays small.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from source_salesforce.schema import COMPOUND_TYPES, ObjectSchema

Converter = Callable[[str], Any]


def _boolean(text: str) -> bool:
    return text.lower() == "true"


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return int(float(text))


def _datetime(text: str) -> str:
    """RFC 3339: Bulk's 2024-01-31T12:00:00.000Z as it is; REST's offset without a colon (+0000) -> Z or +hh:mm."""
    if text.endswith("+0000"):
        return text[:-5] + "Z"
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        return f"{text[:-2]}:{text[-2:]}"
    return text


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


_CSV_CONVERTERS: dict[str, Converter] = {
    "boolean": _boolean,
    "int": _integer,
    "long": _integer,
    "double": float,
    "currency": float,
    "percent": float,
    "datetime": _datetime,
    "complexvalue": _json,
    "json": _json,
}

# The same conversions as Python expressions over a non-empty cell `{0}`, for generated row shapers.
_CSV_EXPRESSIONS: dict[Converter, str] = {
    _boolean: "{0}.lower() == 'true'",
    _integer: "_integer({0})",
    float: "float({0})",
    _datetime: "({0} if {0}[-1] == 'Z' else _datetime({0}))",
    _json: "_json({0})",
}


def _rest_number(value: Any) -> Any:
    return float(value) if type(value) is int else value


def _rest_integer(value: Any) -> Any:
    return int(value) if type(value) is float else value


def _rest_text(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict | list) else str(value)


def _rest_datetime(value: Any) -> Any:
    return _datetime(value) if isinstance(value, str) else value


_REST_FIXERS: dict[str, Callable[[Any], Any]] = {
    "double": _rest_number,
    "currency": _rest_number,
    "percent": _rest_number,
    "int": _rest_integer,
    "long": _rest_integer,
    "anyType": _rest_text,
    "datetime": _rest_datetime,
}


class RecordShaper:
    """Query columns for a set of wanted fields, and the functions that turn REST / Bulk rows into records."""

    def __init__(self, schema: ObjectSchema, wanted: Iterable[str]):
        wanted_set = set(wanted)
        self.output_fields: list[str] = []
        compounds: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        columns: list[str] = []
        for name, info in schema.fields.items():
            if name not in wanted_set:
                continue
            if info.type in COMPOUND_TYPES:
                parts = schema.compounds.get(name, ())
                if parts:  # without known components the value cannot be built the same way from both APIs
                    compounds.append((name, parts))
                    self.output_fields.append(name)
                continue
            columns.append(name)
            self.output_fields.append(name)
        hidden: list[str] = []
        for _, parts in compounds:
            for component, _key in parts:
                if component not in columns:
                    columns.append(component)
                    hidden.append(component)
        self.field_columns = columns  # the object's own fields among the query columns
        # (relationship, external id field, query column) of each followed reference the record carries
        parents = [p for name, p in schema.parents.items() if name in wanted_set]
        self._parents = [(p.relationship, p.key, p.path) for p in parents]
        self.output_fields += [p.relationship for p in parents]
        self.columns = columns + [p.path for p in parents]
        self._compounds = compounds
        self._hidden = hidden
        self._csv_converters = [
            (name, _CSV_CONVERTERS[schema.fields[name].type])
            for name in columns
            if schema.fields[name].type in _CSV_CONVERTERS
        ]
        types = {name: schema.fields[name].type for name in columns}
        self._rest_fixers = [(name, _REST_FIXERS[types[name]]) for name in columns if types[name] in _REST_FIXERS]
        self._parent_rest_fixers = [_REST_FIXERS.get(p.key_type) for p in parents]
        self._parent_csv_converters = {p.path: _CSV_CONVERTERS.get(p.key_type) for p in parents}

    def _finish(self, record: dict[str, Any]) -> dict[str, Any]:
        for name, parts in self._compounds:
            value = {key: record[component] for component, key in parts}
            record[name] = value if any(v is not None for v in value.values()) else None
        for name in self._hidden:
            del record[name]
        return record

    def from_rest(self, record: Mapping[str, Any]) -> dict[str, Any]:
        get = record.get
        shaped = {name: get(name) for name in self.field_columns}
        for name, fix in self._rest_fixers:
            value = shaped[name]
            if value is not None:
                shaped[name] = fix(value)
        if self._parents:
            self._add_parents(shaped, get)
        return self._finish(shaped) if self._compounds else shaped

    def _add_parents(self, shaped: dict[str, Any], get: Callable[[str], Any]) -> None:
        """REST nests a parent's fields under the relationship (with `attributes`): keep only the external id."""
        for (relationship, key, _), fix in zip(self._parents, self._parent_rest_fixers, strict=True):
            parent = get(relationship)
            value = parent.get(key) if isinstance(parent, dict) else None  # JSON objects decode to dicts
            if value is not None and fix is not None:
                value = fix(value)
            shaped[relationship] = None if value is None else {key: value}

    def csv_row_shaper(self, header: list[str]) -> Callable[[list[str]], dict[str, Any]]:
        """The function that shapes one Bulk CSV row (a list in `header` order) into a record.

        Runs once per Bulk row, so it is generated for the header: one function whose body is a single dict display
        with each column's conversion inlined (see _csv_row_source). It gives the same dict, key order included, as
        the generic path (_generic_csv_row_shaper), which it falls back on for a header it cannot handle or a row
        of the wrong length.
        """
        generic = self._generic_csv_row_shaper(header)
        source = self._csv_row_source(header)
        if source is None:
            return generic
        namespace: dict[str, Any] = {"_integer": _integer, "_json": _json, "_datetime": _datetime, "_generic": generic}
        exec(source, namespace)  # noqa: S102 - our own code; header names enter it only as repr() literals
        return namespace["shape"]

    def _csv_row_source(self, header: list[str]) -> str | None:
        """Python source of `shape(row)` for this header, or None when the generic path must serve it."""
        if not header or len(set(header)) != len(header):
            return None
        cell = {name: f"c{i}" for i, name in enumerate(header)}
        if any(name not in cell or convert not in _CSV_EXPRESSIONS for name, convert in self._csv_converters):
            return None
        converters = dict(self._csv_converters)
        hidden = set(self._hidden)

        def value(name: str) -> str:
            text = cell[name]
            expression = _CSV_EXPRESSIONS[converters[name]] if name in converters else None
            return f"({expression.format(text)} if {text} else None)" if expression else f"({text} or None)"

        parents = {path: (relationship, key) for relationship, key, path in self._parents}
        for path, converter in self._parent_csv_converters.items():
            if path not in cell or (converter is not None and converter not in _CSV_EXPRESSIONS):
                return None
        converters.update((path, c) for path, c in self._parent_csv_converters.items() if c is not None)

        def entry(name: str) -> str:
            if name not in parents:
                return f"{name!r}: {value(name)}"
            relationship, key = parents[name]
            return f"{relationship!r}: ({{{key!r}: {value(name)}}} if {cell[name]} else None)"

        entries = [entry(name) for name in header if name not in hidden]
        for name, parts in self._compounds:
            components = [component for component, _ in parts]
            if name in cell or any(c not in cell or converters.get(c) is _json for c in components):
                return None  # built the generic way (a JSON component may convert to None)
            body = ", ".join(f"{key!r}: {value(component)}" for component, key in parts)
            present = " or ".join(cell[component] for component in components)
            entries.append(f"{name!r}: ({{{body}}} if {present} else None)")
        cells = ", ".join(cell[name] for name in header)
        return (
            "def shape(row):\n"
            f"    try:\n        {cells}, = row\n"
            "    except ValueError:\n        return _generic(row)\n"
            f"    return {{{', '.join(entries)}}}\n"
        )

    def _generic_csv_row_shaper(self, header: list[str]) -> Callable[[list[str]], dict[str, Any]]:
        converters = self._csv_converters
        parents = [(*names, self._parent_csv_converters[names[2]]) for names in self._parents]
        finish = self._finish if self._compounds else None

        def shape(row: list[str]) -> dict[str, Any]:
            shaped: dict[str, Any] = {name: text or None for name, text in zip(header, row, strict=False)}
            for name, convert in converters:
                text = shaped[name]
                if text is not None:
                    shaped[name] = convert(text)
            for relationship, key, path, convert in parents:
                text = shaped.pop(path, None)
                value = convert(text) if text is not None and convert is not None else text
                shaped[relationship] = None if value is None else {key: value}
            return finish(shaped) if finish else shaped

        return shape

"""SoqlQuery + schema -> QueryPlan: resolves names (canonical case, relationship joins), type-checks filter values,
and writes the SQLite SQL. Values only ever reach SQLite as bound parameters."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from . import literals, rows
from .errors import (
    INVALID_FIELD,
    INVALID_TYPE,
    MALFORMED_QUERY,
    Position,
    SoqlError,
    located_error,
    no_such_column,
    no_such_relationship,
    unsupported_object,
)
from .ids import to_18
from .parser import parse
from .plan import QueryPlan
from .polymorphic import TYPE_COLUMN, NameEntity
from .query import (
    Aggregate,
    Aliased,
    And,
    Comparison,
    Condition,
    DateRange,
    FieldPath,
    Includes,
    InList,
    Literal,
    Not,
    Or,
    SoqlQuery,
    SubQuery,
    TypeOf,
    Value,
)
from .schema import FieldInfo, ObjectInfo, SchemaInfo

COMPOUND_TYPES = frozenset({"address", "location"})
# Text compared the way Salesforce does: case-insensitively.
TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone", "url", "encryptedstring"}
)
ID_TYPES = frozenset({"id", "reference"})
STRING_LIKE_TYPES = TEXT_TYPES | ID_TYPES | {"anyType", "base64", "time"}
# The type name Salesforce puts in "must be of type X" messages.
_TYPE_LABEL = {"int": "integer", "long": "long", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "dateTime"}  # fmt: skip
# Compound sub-field keys, longest first so BillingCountryCode is countryCode, not country.
_ADDRESS_KEYS = ("geocodeAccuracy", "postalCode", "countryCode", "stateCode", "street", "city", "state", "country",
                 "latitude", "longitude")  # fmt: skip
_BASE_KEYS = {"address": ("city", "country", "geocodeAccuracy", "latitude", "longitude", "postalCode", "state",
                          "street"), "location": ("latitude", "longitude")}  # fmt: skip

BULK_COMPOUND = "Selecting compound data not supported in Bulk Query"
# Salesforce's own Data Loader recognises a Bulk 2.0 subquery refusal by this text.
BULK_SUBQUERY = "Aggregate Relationships not supported in Bulk Query"
BULK_COUNT = "Aggregate queries are not supported in Bulk Query"
BULK_OFFSET = "OFFSET is not supported in Bulk Query"
# The Bulk API 2.0 guide lists TYPEOF among the clauses it does not support; its exact wording is not documented.
BULK_TYPEOF = "TYPEOF is not supported in Bulk Query"
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Join:
    alias: str
    object: ObjectInfo
    on: str  # the LEFT JOIN condition
    parent_key: tuple[str, ...]  # the join this one hangs from (() for the root)
    source: str = ""  # what is joined when not the object's own table (the Name entity's view)


@dataclass
class _Resolved:
    alias: str
    field: FieldInfo
    relationships: tuple[str, ...]  # canonical relationship names walked
    join_key: tuple[str, ...]  # lower-cased relationship path, the key of the join holding the field
    objects: tuple[ObjectInfo, ...]  # the object at each step, root first

    @property
    def column(self) -> str:
        return f"{self.alias}.{quote(self.field.name)}"

    @property
    def path(self) -> str:
        return ".".join((*self.relationships, self.field.name))


@dataclass
class _Sql:
    """Select expressions and their bound parameters, in order."""

    columns: list[str] = field(default_factory=list)

    def add(self, expression: str) -> int:
        self.columns.append(expression)
        return len(self.columns) - 1


class _Compiler:
    def __init__(
        self, query: SoqlQuery, schema: SchemaInfo, include_deleted: bool, parent_field: str | None = None
    ) -> None:
        self.query = query
        # A child subquery's plan filters on its parent: `parent_field = ?`, the first parameter (filled per parent).
        self.parent_field = parent_field
        self.schema = schema
        self.include_deleted = include_deleted
        self.root = self._root_object()
        self.joins: dict[tuple[str, ...], _Join] = {}
        self._relationships: dict[int, dict[str, tuple[FieldInfo, ObjectInfo]]] = {}
        self._alias = (query.alias or "").lower()

    # --- errors ----------------------------------------------------------------------------------------------------

    def error(self, code: str, position: Position | None, detail: str) -> SoqlError:
        return located_error(code, self.query.text, position, detail)

    # --- names -----------------------------------------------------------------------------------------------------

    def _root_object(self) -> ObjectInfo:
        info = self.schema.object(self.query.object_name)
        if info is None or not info.queryable:
            raise self.error(INVALID_TYPE, self.query.object_position, unsupported_object(self.query.object_name))
        return info

    def _relationship_map(self, info: ObjectInfo) -> dict[str, tuple[FieldInfo, ObjectInfo]]:
        known = self._relationships.get(id(info))
        if known is None:
            known = {}
            for candidate in info.fields:
                if not candidate.relationship_name or not candidate.reference_to:
                    continue
                targets = [self.schema.object(name) for name in candidate.reference_to]
                queryable = tuple(t for t in targets if t is not None and t.queryable)
                if len(queryable) > 1:
                    # A polymorphic reference (Owner -> User or Group) reaches the Name entity: the record it
                    # actually points at, whichever object that is.
                    known[candidate.relationship_name.lower()] = (candidate, NameEntity(queryable))
                elif queryable:
                    known[candidate.relationship_name.lower()] = (candidate, queryable[0])
            self._relationships[id(info)] = known
        return known

    def resolve(self, path: FieldPath) -> _Resolved:
        parts = path.parts
        if len(parts) > 1 and parts[0].lower() == self._alias:
            parts = parts[1:]
        current = self.root
        alias = "t0"
        key: tuple[str, ...] = ()
        names: list[str] = []
        objects = [current]
        for part in parts[:-1]:
            found = self._relationship_map(current).get(part.lower())
            if found is None:
                raise self.error(INVALID_FIELD, path.position, no_such_relationship(part))
            reference, target = found
            parent_key = key
            key = (*key, part.lower())
            join = self.joins.get(key)
            if join is None:
                join = _Join(
                    f"t{len(self.joins) + 1}",
                    target,
                    f'{{alias}}."Id" = {alias}.{quote(reference.name)}',
                    parent_key,
                    target.source_sql() if isinstance(target, NameEntity) else "",
                )
                join.on = join.on.format(alias=join.alias)
                self.joins[key] = join
            alias = join.alias
            current = target
            names.append(reference.relationship_name or part)
            objects.append(current)
        resolved = current.field(parts[-1])
        if resolved is None:
            raise self.error(INVALID_FIELD, path.position, no_such_column(parts[-1], current.name))
        return _Resolved(alias, resolved, tuple(names), key, tuple(objects))

    def join_sql(self, keys: set[tuple[str, ...]]) -> str:
        needed: set[tuple[str, ...]] = set()
        for key in keys:
            while key:  # a join needs every join it hangs from
                needed.add(key)
                key = self.joins[key].parent_key
        return "".join(
            f" LEFT JOIN {join.source or quote(join.object.name)} {join.alias} ON {join.on}"
            for key, join in self.joins.items()
            if key in needed
        )

    # --- select ----------------------------------------------------------------------------------------------------

    def compile(self) -> QueryPlan:
        query = self.query
        if query.group_by or any(isinstance(item, Aggregate) for item in query.select):
            return self._compile_aggregate()
        sql = _Sql()
        columns: list[str] = []
        bulk_error: str | None = BULK_COUNT if query.is_count else None
        used_joins: set[tuple[str, ...]] = set()
        selected: list[tuple[_Resolved, int]] = []
        csv_columns: list[rows.Column | None] = []

        subqueries: list[SubQuery] = []
        typeofs: list[TypeOf] = []
        # The select list fills the first SQL columns, in order; what records also need (parent ids, compound
        # components, the record's own Id) follows.
        for item in query.select:
            if isinstance(item, SubQuery):
                subqueries.append(item)
                bulk_error = bulk_error or BULK_SUBQUERY
                continue
            if isinstance(item, TypeOf):
                typeofs.append(item)
                bulk_error = bulk_error or BULK_TYPEOF
                continue
            if isinstance(item, Aliased):
                raise self.error(MALFORMED_QUERY, item.field.position, f"unexpected token: '{item.alias}'")
            resolved = self.resolve(item)
            name = resolved.path
            if name.lower() in {column.lower() for column in columns}:
                raise self.error(MALFORMED_QUERY, item.position, f"duplicate field selected: {name}")
            columns.append(name)
            used_joins.add(resolved.join_key)
            if resolved.field.type in COMPOUND_TYPES:
                bulk_error = bulk_error or BULK_COMPOUND
                selected.append((resolved, -1))
                csv_columns.append(None)
            else:
                index = sql.add(resolved.column)
                selected.append((resolved, index))
                csv_columns.append(rows.Column(index, resolved.field.type))

        id_index = sql.columns.index('t0."Id"') if 't0."Id"' in sql.columns else sql.add('t0."Id"')
        root = rows.Parent(self.root.name, id_index)
        parents: dict[tuple[str, ...], rows.Parent] = {}
        for resolved, index in selected:
            target = root  # the record itself, or the nested parent object that holds this field
            for depth, relationship in enumerate(resolved.relationships):
                key = resolved.join_key[: depth + 1]
                parent = parents.get(key)
                if parent is None:
                    join = self.joins[key]
                    parent = parents[key] = rows.Parent(join.object.name, sql.add(f'{join.alias}."Id"'))
                    if isinstance(join.object, NameEntity):  # its url names the object the record belongs to
                        parent.url_type_index = sql.add(f"{join.alias}.{quote(TYPE_COLUMN)}")
                    target.children.append((relationship, parent))
                target = parent
            info = resolved.field
            node: rows.Node
            if info.type in COMPOUND_TYPES:
                node = self._compound(info, resolved.objects[-1], resolved.alias, sql)
            else:
                node = rows.Column(index, info.type)
            target.children.append((info.name, node))
        for item in typeofs:
            name, choice = self._typeof(item, sql, used_joins)
            columns.append(name)
            root.children.append((name, choice))
        children = [self._child_plan(item, id_index) for item in subqueries]
        columns += [name for name, _, _ in children]

        where_sql, where_params, where_joins = self.where()
        order_sql, order_joins = self.order_by()
        used_joins |= where_joins | order_joins
        table = f"{quote(self.root.name)} t0"
        limit_sql, limit_params = self.limit_offset()
        if query.offset is not None:
            bulk_error = bulk_error or BULK_OFFSET

        # totalSize counts every match; the caller applies LIMIT and OFFSET to it (the contract's count_sql).
        count_sql = f"SELECT COUNT(*) FROM {table}{self.join_sql(where_joins)}{where_sql}"
        count_params = tuple(where_params)
        if query.is_count:
            sql_text, params = count_sql, count_params
        else:
            select = ", ".join(sql.columns)
            sql_text = f"SELECT {select} FROM {table}{self.join_sql(used_joins)}{where_sql}{order_sql}{limit_sql}"
            params = (*where_params, *limit_params)
        return QueryPlan(
            object_info=self.root,
            sql=sql_text,
            params=params,
            count_sql=count_sql,
            count_params=count_params,
            is_count=query.is_count,
            columns=columns,
            record_function=rows.record_function(root),
            csv_function=rows.csv_function(csv_columns),
            bulk_error=bulk_error,
            csv_columns=csv_columns,
            width=len(sql.columns),
            children=children,
        )

    def _typeof(self, item: TypeOf, sql: _Sql, used_joins: set[tuple[str, ...]]) -> tuple[str, rows.Choice]:
        """The polymorphic reference as one nested record, its fields chosen by the type it points to."""
        reference = next(
            (
                f
                for f in self.root.fields
                if f.relationship_name and f.relationship_name.lower() == item.relationship.lower()
            ),
            None,
        )
        if reference is None:
            raise self.error(INVALID_FIELD, item.position, no_such_relationship(item.relationship))
        listed = {type_name.lower() for type_name, _ in item.whens}
        cases = list(item.whens)
        if item.otherwise:
            cases += [(t, item.otherwise) for t in reference.reference_to if t.lower() not in listed]
        options: list[rows.Parent] = []
        for type_name, fields in cases:
            target = self.schema.object(type_name)
            if target is None or target.name.lower() not in {t.lower() for t in reference.reference_to}:
                raise self.error(
                    INVALID_TYPE, item.position, f"{type_name} is not a valid type for {reference.relationship_name}"
                )
            key = (f"{reference.relationship_name.lower()}#{target.name.lower()}",)
            if key not in self.joins:
                alias = f"t{len(self.joins) + 1}"
                self.joins[key] = _Join(alias, target, f'{alias}."Id" = t0.{quote(reference.name)}', ())
            join = self.joins[key]
            used_joins.add(key)
            option = rows.Parent(target.name, sql.add(f'{join.alias}."Id"'))
            for path in fields:
                info = target.field(path.parts[-1]) if len(path.parts) == 1 else None
                if info is None or info.type in COMPOUND_TYPES:
                    raise self.error(INVALID_FIELD, path.position, no_such_column(path.text, target.name))
                option.children.append((info.name, rows.Column(sql.add(f"{join.alias}.{quote(info.name)}"), info.type)))
            options.append(option)
        return reference.relationship_name, rows.Choice(tuple(options))

    def _child_plan(self, item: SubQuery, parent_id_index: int) -> tuple[str, QueryPlan, int]:
        """A parent-to-child subquery: (its relationship name, its plan for one parent, the parent Id's index)."""
        relationships = getattr(self.schema, "child_relationships", lambda _name: [])(self.root.name)
        found = next(
            (
                r
                for r in relationships
                if r.get("relationshipName") and r["relationshipName"].lower() == item.query.object_name.lower()
            ),
            None,
        )
        if found is None:
            raise self.error(
                INVALID_TYPE,
                item.position,
                f"Didn't understand relationship '{item.query.object_name}' in FROM part of query call. If you "
                "are attempting to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the appropriate names.",
            )
        inner = dataclasses.replace(item.query, object_name=found["childSObject"])
        if inner.group_by or any(isinstance(i, Aggregate | SubQuery) for i in inner.select) or inner.is_count:
            raise self.error(MALFORMED_QUERY, item.position, "Nested aggregate or subquery not supported")
        plan = _Compiler(inner, self.schema, self.include_deleted, parent_field=found["field"]).compile()
        return found["relationshipName"], plan, parent_id_index

    def _compile_aggregate(self) -> QueryPlan:
        """GROUP BY and aggregate functions: AggregateResult records, keyed by alias, field name or exprN."""
        query = self.query
        sql = _Sql()
        used_joins: set[tuple[str, ...]] = set()
        groups: list[_Resolved] = []
        for path in query.group_by:
            resolved = self.resolve(path)
            if resolved.field.type in COMPOUND_TYPES or resolved.field.type in {"textarea", "multipicklist"}:
                raise self.error(INVALID_FIELD, path.position, f"field '{resolved.field.name}' can not be grouped")
            used_joins.add(resolved.join_key)
            groups.append(resolved)
        grouped = {g.path.lower() for g in groups}
        entries: list[tuple[str, rows.Column]] = []
        unnamed = 0
        for item in query.select:
            if isinstance(item, Aggregate):
                if item.function not in AGGREGATES:
                    raise self.error(MALFORMED_QUERY, item.position, f"Unknown function: {item.function}")
                resolved = self.resolve(item.field)
                used_joins.add(resolved.join_key)
                column = resolved.column
                expression = (
                    f"COUNT(DISTINCT {column})" if item.function == "COUNT_DISTINCT" else (f"{item.function}({column})")
                )
                kind = "int" if item.function.startswith("COUNT") else (
                    "double" if item.function in {"SUM", "AVG"} else resolved.field.type
                )  # fmt: skip
                name = item.alias
                if name is None:
                    name, unnamed = f"expr{unnamed}", unnamed + 1
            elif isinstance(item, FieldPath | Aliased):
                path = item.field if isinstance(item, Aliased) else item
                resolved = self.resolve(path)
                if resolved.path.lower() not in grouped:
                    raise self.error(
                        MALFORMED_QUERY, path.position, f"Field must be grouped or aggregated: {resolved.field.name}"
                    )
                expression, kind = resolved.column, resolved.field.type
                name = item.alias if isinstance(item, Aliased) else resolved.field.name
            else:
                raise self.error(MALFORMED_QUERY, None, "a subquery or TYPEOF cannot be selected with GROUP BY")
            entries.append((name, rows.Column(sql.add(expression), kind)))
        where_sql, where_params, where_joins = self.where()
        order_sql, order_joins = self.order_by()
        limit_sql, limit_params = self.limit_offset()
        group_sql = " GROUP BY " + ", ".join(g.column for g in groups) if groups else ""
        body = f"FROM {quote(self.root.name)} t0{self.join_sql(used_joins | where_joins | order_joins)}{where_sql}"
        # totalSize is the number of groups (one row when nothing is grouped).
        count_sql, count_params = (
            (f"SELECT COUNT(*) FROM (SELECT 1 {body}{group_sql})", tuple(where_params)) if groups else ("SELECT 1", ())
        )
        return QueryPlan(
            object_info=self.root,
            sql=f"SELECT {', '.join(sql.columns)} {body}{group_sql}{order_sql}{limit_sql}",
            params=(*where_params, *limit_params),
            count_sql=count_sql,
            count_params=count_params,
            is_count=False,
            columns=[name for name, _ in entries],
            record_function=rows.aggregate_function(entries),
            csv_function=rows.csv_function([column for _, column in entries]),
            bulk_error=BULK_COUNT,
            csv_columns=[column for _, column in entries],
            width=len(sql.columns),
        )

    def _compound(self, compound: FieldInfo, owner: ObjectInfo, alias: str, sql: _Sql) -> rows.Compound:
        components = [f for f in owner.fields if (f.compound_field_name or "").lower() == compound.name.lower()]
        by_key: dict[str, FieldInfo] = {}
        for component in components:
            bare = component.name.removesuffix("__s").lower()
            key = next((k for k in _ADDRESS_KEYS if bare.endswith(k.lower()) and k not in by_key), None)
            if key is not None:
                by_key[key] = component
        keys = sorted(set(_BASE_KEYS.get(compound.type, ())) | set(by_key))
        return rows.Compound(
            tuple((key, sql.add(f"{alias}.{quote(by_key[key].name)}") if key in by_key else None) for key in keys)
        )

    # --- where -----------------------------------------------------------------------------------------------------

    def where(self) -> tuple[str, list[object], set[tuple[str, ...]]]:
        params: list[object] = []
        joins: set[tuple[str, ...]] = set()
        clauses: list[str] = []
        if self.parent_field is not None:
            clauses.append(f"t0.{quote(self.parent_field)} = ?")
            params.append(None)  # the parent's Id, bound per parent record
        if not self.include_deleted:
            clauses.append('t0."IsDeleted" = 0')
        if self.query.where is not None:
            clauses.append(self.condition(self.query.where, params, joins))
        if not clauses:
            return "", params, joins
        return " WHERE " + " AND ".join(clauses), params, joins

    def condition(self, node: Condition, params: list[object], joins: set[tuple[str, ...]]) -> str:
        if isinstance(node, And | Or):
            glue = " AND " if isinstance(node, And) else " OR "
            return "(" + glue.join(self.condition(item, params, joins) for item in node.items) + ")"
        if isinstance(node, Not):
            # Two-valued like SOQL: a comparison with a null field is false, so its negation is true.
            return f"NOT COALESCE({self.condition(node.item, params, joins)}, 0)"
        resolved = self.filter_field(node.field)
        joins.add(resolved.join_key)
        if isinstance(node, Comparison):
            return self.comparison(resolved, node, params)
        if isinstance(node, InList):
            return self.in_list(resolved, node, params)
        return self.includes(resolved, node, params)

    def filter_field(self, path: FieldPath) -> _Resolved:
        resolved = self.resolve(path)
        if resolved.field.type in COMPOUND_TYPES or not resolved.field.filterable:
            raise self.error(
                INVALID_FIELD, path.position, f"field '{resolved.field.name}' can not be filtered in a query call"
            )
        return resolved

    def expression(self, resolved: _Resolved) -> str:
        column = resolved.column
        return f"{column} COLLATE NOCASE" if resolved.field.type in TEXT_TYPES else column

    def bind(self, resolved: _Resolved, value: Value) -> object:
        """The parameter for a point value, after checking it suits the field's type."""
        info = resolved.field
        kind = info.type
        if isinstance(value, DateRange):
            raise self._mismatch(resolved, value)  # callers handle ranges before binding
        if value.kind == "null":
            return None
        if kind in ID_TYPES:
            if value.kind != "string":
                raise self._mismatch(resolved, value)
            return to_18(value.value) if isinstance(value.value, str) else value.value
        if kind in STRING_LIKE_TYPES:
            if value.kind != "string":
                raise self._mismatch(resolved, value)
            return value.value
        if kind in rows.NUMBER_TYPES:
            if value.kind != "number":
                raise self._mismatch(resolved, value)
            return value.value
        if kind in rows.BOOLEAN_TYPES:
            if value.kind != "boolean":
                raise self._mismatch(resolved, value)
            return 1 if value.value else 0
        if kind == "date":
            if value.kind != "date":
                raise self._mismatch(resolved, value)
            return value.value
        if kind == "datetime":
            if value.kind == "datetime":
                return value.value
            if value.kind == "date":
                return literals.date_to_datetime(str(value.value))
            raise self._mismatch(resolved, value)
        return value.value

    def _mismatch(self, resolved: _Resolved, value: Value) -> SoqlError:
        name = resolved.field.name
        kind = resolved.field.type
        if isinstance(value, DateRange):
            detail = f"Date constant {value.name} can only be used with date and dateTime fields: '{name}'"
        elif kind in STRING_LIKE_TYPES:
            detail = (
                f"value of filter criterion for field '{name}' must be of type string and should be enclosed in quotes"
            )
        else:
            label = _TYPE_LABEL.get(kind, kind)
            detail = (
                f"value of filter criterion for field '{name}' must be of type {label} "
                "and should not be enclosed in quotes"
            )
        return self.error(INVALID_FIELD, value.position, detail)

    def date_range(self, resolved: _Resolved, value: DateRange) -> tuple[str, str]:
        if resolved.field.type == "date":
            return value.start.isoformat(), value.end.isoformat()
        if resolved.field.type == "datetime":
            return literals.date_to_datetime(value.start), literals.date_to_datetime(value.end)
        raise self._mismatch(resolved, value)

    def comparison(self, resolved: _Resolved, node: Comparison, params: list[object]) -> str:
        column = self.expression(resolved)
        value = node.value
        op = node.operator
        if op == "LIKE":
            if resolved.field.type not in STRING_LIKE_TYPES or not isinstance(value, Literal):
                raise self.error(
                    INVALID_FIELD, node.field.position, f"invalid operator on field '{resolved.field.name}': LIKE"
                )
            if value.kind == "null":
                return "0"
            self.bind(resolved, value)  # type check only; LIKE binds the pattern
            params.append(value.like_pattern)
            return f"{resolved.column} LIKE ? ESCAPE '\\'"
        if isinstance(value, DateRange):
            start, end = self.date_range(resolved, value)
            if op == "=":
                params.extend((start, end))
                return f"({column} >= ? AND {column} < ?)"
            if op == "!=":
                params.extend((start, end))
                return f"({column} IS NULL OR {column} < ? OR {column} >= ?)"
            bound, sql_op = {"<": (start, "<"), "<=": (end, "<"), ">": (end, ">="), ">=": (start, ">=")}[op]
            params.append(bound)
            return f"{column} {sql_op} ?"
        bound = self.bind(resolved, value)
        if bound is None:
            if op == "=":
                return f"{column} IS NULL"
            if op == "!=":
                return f"{column} IS NOT NULL"
            return "0"
        params.append(bound)
        if op == "!=":
            return f"{column} IS NOT ?"  # null-safe: SOQL's != keeps rows where the field is null
        return f"{column} {op} ?"

    def in_list(self, resolved: _Resolved, node: InList, params: list[object]) -> str:
        column = self.expression(resolved)
        points: list[object] = []
        ranges: list[tuple[str, str]] = []
        has_null = False
        for value in node.values:
            if isinstance(value, DateRange):
                ranges.append(self.date_range(resolved, value))
                continue
            bound = self.bind(resolved, value)
            if bound is None:
                has_null = True
            else:
                points.append(bound)
        parts: list[str] = []
        if points:
            parts.append(f"{column} IN ({', '.join('?' * len(points))})")
            params.extend(points)
        for start, end in ranges:
            parts.append(f"({column} >= ? AND {column} < ?)")
            params.extend((start, end))
        if has_null:
            parts.append(f"{column} IS NULL")
        matches = "(" + " OR ".join(parts) + ")" if parts else "0"
        if not node.negated:
            return matches
        return f"NOT COALESCE({matches}, 0)"

    def includes(self, resolved: _Resolved, node: Includes, params: list[object]) -> str:
        if resolved.field.type != "multipicklist":
            raise self.error(
                INVALID_FIELD,
                node.field.position,
                f"{'excludes' if node.negated else 'includes'} operator is only valid on multi-select picklist "
                f"fields: '{resolved.field.name}'",
            )
        column = resolved.column
        alternatives: list[str] = []
        for value in node.values:
            text = self.bind(resolved, value)
            if not isinstance(text, str):
                raise self._mismatch(resolved, value)
            terms = [term.strip() for term in text.split(";") if term.strip()]
            every = []
            for term in terms:
                every.append(f"(';' || {column} || ';') LIKE ? ESCAPE '\\'")
                params.append(f"%;{literals.escape_like(term)};%")
            alternatives.append("(" + " AND ".join(every) + ")" if every else "0")
        matches = "(" + " OR ".join(alternatives) + ")"
        return f"NOT COALESCE({matches}, 0)" if node.negated else matches

    # --- order / limit ---------------------------------------------------------------------------------------------

    def order_by(self) -> tuple[str, set[tuple[str, ...]]]:
        joins: set[tuple[str, ...]] = set()
        terms: list[str] = []
        for item in self.query.order_by:
            resolved = self.resolve(item.field)
            if resolved.field.type in COMPOUND_TYPES or not resolved.field.sortable:
                raise self.error(
                    INVALID_FIELD,
                    item.field.position,
                    f"field '{resolved.field.name}' can not be sorted in a query call",
                )
            joins.add(resolved.join_key)
            direction = "DESC" if item.descending else "ASC"
            nulls = "NULLS FIRST" if item.nulls_first else "NULLS LAST"
            terms.append(f"{self.expression(resolved)} {direction} {nulls}")
        return (" ORDER BY " + ", ".join(terms) if terms else ""), joins

    def limit_offset(self) -> tuple[str, tuple[int, ...]]:
        limit, offset = self.query.limit, self.query.offset
        if limit is None and offset is None:
            return "", ()
        if offset is None:
            return " LIMIT ?", (limit,)  # type: ignore[return-value]
        return " LIMIT ? OFFSET ?", (-1 if limit is None else limit, offset)


def compile_query(
    query: SoqlQuery | str, schema: SchemaInfo, *, include_deleted: bool = False, today: dt.date | None = None
) -> QueryPlan:
    """Compile SOQL (text or parsed) against `schema`; raises SoqlError like Salesforce would."""
    parsed = parse(query, today=today) if isinstance(query, str) else query
    return _Compiler(parsed, schema, include_deleted).compile()

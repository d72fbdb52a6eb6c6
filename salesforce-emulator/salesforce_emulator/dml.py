"""Record writes (insert, update, upsert, delete) with the validation a real org runs, one result per record.

Records are checked one after the other, each against the org as the earlier ones left it; the reads and writes go
through the call's `PendingWrites` (prefetched in bulk, written at the end), and what does not change between records
of one object (field lookups, coercers, defaults, the checks to run) is worked out once per call in `ObjectPlan`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from salesforce_emulator.ids import counter_of, to18
from salesforce_emulator.pending import PendingWrites, TableView
from salesforce_emulator.schema import FieldDef, ObjectDef, Schema
from salesforce_emulator.values import Coercer, FieldError, coerce, coercer, now_text

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}


class MultipleMatches(Exception):
    """An upsert's external id matched several records (REST answers 300)."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__("multiple matches")
        self.ids = ids


@dataclass
class WriteContext:
    user_id: str
    assignee_id: str
    auto_assign: bool = True
    now: str = field(default_factory=now_text)


def error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields or []}


def failure(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"success": False, "errors": [error(code, message, fields)]}


AUDIT_REFERENCES = {"CreatedById", "LastModifiedById"}  # never checked: the org sets them itself


@dataclass
class Check:
    """What `_check_row` verifies for one field, in field order."""

    field: FieldDef
    parents: list[tuple[str, ObjectDef]] | None  # (key prefix, object) of each reference target; None: no check
    unique: bool


class ObjectPlan:
    """Everything about writing one object that does not depend on the record."""

    def __init__(self, schema: Schema, obj: ObjectDef, ctx: WriteContext) -> None:
        self.obj = obj
        self.coercers: dict[str, Coercer] = {f.name: coercer(f) for f in obj.fields}
        self.columns = [f.name for f in obj.stored_fields]
        self._keys: dict[str, tuple[FieldDef | None, FieldDef | None]] = {}
        defaults: dict[str, Any] = {"Id": None, "IsDeleted": 0}
        for f in obj.stored_fields:
            if f.name in defaults:
                continue
            if f.name in {"CreatedDate", "LastModifiedDate", "SystemModstamp"}:
                defaults[f.name] = ctx.now
            elif f.name in {"CreatedById", "LastModifiedById", "OwnerId"}:
                defaults[f.name] = ctx.user_id
            elif f.type == "boolean":
                defaults[f.name] = int(bool(f.default_value))
            elif f.default_value is not None:
                defaults[f.name] = f.default_value
        self.defaults = defaults
        self.required = [
            f.name
            for f in obj.fields
            if f.stored and not f.nillable and (obj.field(f.name).createable or f.name == "Name")
        ]
        self.checks: list[Check] = []
        for f in obj.fields:
            parents = None
            if f.type == "reference" and f.name not in AUDIT_REFERENCES:
                parents = [(p.key_prefix, p) for p in map(schema.object, f.reference_to) if p is not None]
            if parents is not None or f.unique:
                self.checks.append(Check(f, parents, f.unique))
        self.checked = {check.field.name for check in self.checks}
        self.person_name = bool(obj.field("FirstName") and obj.field("LastName"))

    def field_for(self, key: str) -> tuple[FieldDef | None, FieldDef | None]:
        """(field, None) for a field name, (None, reference field) for a relationship name, else (None, None)."""
        found = self._keys.get(key)
        if found is None:
            f = self.obj.field(key)
            found = self._keys[key] = (f, None) if f is not None else (None, self.obj.relationship(key))
        return found


class RecordWriter:
    """Applies writes for one object to the call's pending writes."""

    def __init__(self, schema: Schema, pending: PendingWrites, obj: ObjectDef, ctx: WriteContext) -> None:
        self.schema = schema
        self.pending = pending
        self.view: TableView = pending.view(obj)
        self.obj = obj
        self.ctx = ctx
        self.plan = ObjectPlan(schema, obj, ctx)

    # --- public ----------------------------------------------------------------------------------------------------

    def apply(
        self,
        operation: str,
        record: dict[str, Any],
        *,
        external_id_field: str | None = None,
        new_id: str | None = None,
        raise_multiple: bool = False,
        coerced: bool = False,
    ) -> dict[str, Any]:
        """`coerced`: the values are already in the stored encoding (Bulk CSV rows, coerced as they were read)."""
        self._coerced = coerced
        try:
            if operation == "insert":
                return self._insert(record, new_id)
            if operation == "update":
                return self._update(record)
            if operation == "upsert":
                return self._upsert(record, external_id_field or "Id", new_id, raise_multiple)
            if operation in {"delete", "hardDelete"}:
                return self._delete(record.get("Id") or record.get("id"), hard=operation == "hardDelete")
        except FieldError as exc:
            return failure(exc.status_code, exc.message, exc.fields)
        return failure("INVALID_OPERATION", f"unknown operation: {operation}")

    def prefetch(self, operation: str, records: Iterable[dict[str, Any]], external_id_field: str | None) -> None:
        """Load in a few queries what checking these records will read; the checks stay correct without it."""
        records = list(records)
        view, plan = self.view, self.plan
        currents: list[dict[str, Any]] = []
        if operation in {"update", "delete", "hardDelete"}:
            ids = [_id18(r.get("Id") or r.get("id")) for r in records]
            view.prefetch_rows(i for i in ids if i)
            currents = [row for row in map(view.row, filter(None, ids)) if row is not None]
            if operation != "update":
                return
        elif operation == "upsert":
            key = self.obj.field(external_id_field or "Id")
            if key is None or not (key.external_id or key.id_lookup):
                return
            values = [_quietly(plan.coercers[key.name], _get_lower(r, key.name)) for r in records]
            view.prefetch_keys(key.name, values, rows=True)
            currents = [view.row(i) for v in values if v is not None for i in view.live_ids(key.name, v)]
        wanted: dict[tuple[str, str], set[Any]] = {}  # (object, field) -> values to look up
        by_key: dict[str, list[Any]] = {}
        for record in records:
            for key, raw in record.items():
                if key == "attributes":
                    continue
                f, rel = plan.field_for(key)
                if f is not None:
                    if f.name in plan.checked:
                        by_key.setdefault(f.name, []).append(_quietly(plan.coercers[f.name], raw))
                elif rel is not None and isinstance(raw, dict) and len(raw) == 1:
                    parent = self.schema.object(rel.reference_to[0])
                    (parent_key, value), *_ = raw.items()
                    key_field = parent.field(parent_key) if parent is not None else None
                    if key_field is not None:
                        wanted.setdefault((parent.name, key_field.name), set()).add(
                            _quietly(lambda v, k=key_field: coerce(k, v), value)
                        )
        for check in plan.checks:
            name = check.field.name
            values = {v for v in by_key.get(name, ()) if v is not None}
            values.update(row.get(name) for row in currents if row and row.get(name) is not None)
            if check.unique:
                wanted.setdefault((self.obj.name, name), set()).update(values)
            if check.parents:
                values.update((self.ctx.user_id, self.ctx.assignee_id))
                for value in values:
                    for prefix, parent in check.parents:
                        if isinstance(value, str) and value.startswith(prefix):
                            wanted.setdefault((parent.name, "Id"), set()).add(value)
                            break
        for (object_name, field_name), values in wanted.items():
            target = self.schema.object(object_name)
            if target is not None and target.queryable:
                self.pending.view(target).prefetch_keys(field_name, values)

    # --- operations ------------------------------------------------------------------------------------------------

    def _insert(self, record: dict[str, Any], new_id: str | None) -> dict[str, Any]:
        if any(k.lower() == "id" and v not in (None, "") for k, v in record.items()):
            return failure("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        values = self._values(record, creating=True)
        assert new_id is not None
        row = dict(self.plan.defaults)
        row["Id"] = new_id
        row.update(values)
        self._derive(row, creating=True)
        self._check_row(row, new_id)
        self.view.write(new_id, row)
        return {"id": new_id, "success": True, "errors": []}

    def _update(self, record: dict[str, Any]) -> dict[str, Any]:
        raw_id = record.get("Id") or record.get("id")
        if not raw_id:
            return failure("MISSING_ARGUMENT", "Id not specified in an update call", [])
        current = self._existing(raw_id)
        if "success" in current and "Id" not in current:
            return current
        values = self._values({k: v for k, v in record.items() if k.lower() != "id"}, creating=False)
        row = dict(current)
        row.update(values)
        row["LastModifiedDate"] = row["SystemModstamp"] = self.ctx.now
        row["LastModifiedById"] = self.ctx.user_id
        self._derive(row, creating=False)
        self._check_row(row, row["Id"])
        self.view.write(row["Id"], row)
        return {"id": row["Id"], "success": True, "errors": []}

    def _upsert(self, record: dict[str, Any], key: str, new_id: str | None, raise_multiple: bool) -> dict[str, Any]:
        key_field = self.obj.field(key)
        if key_field is None or not (key_field.external_id or key_field.id_lookup):
            return failure("INVALID_FIELD", f"Field {key} is not an external id or indexed field", [key])
        value = next((v for k, v in record.items() if k.lower() == key.lower()), None)
        if value in (None, ""):
            if key_field.type == "id":
                result = self._insert({k: v for k, v in record.items() if k.lower() != "id"}, new_id)
                return {**result, "created": True} if result["success"] else result
            return failure("MISSING_ARGUMENT", f"{key} not specified", [key_field.name])
        stored = self.plan.coercers[key_field.name](value)
        matches = self.view.live_ids(key_field.name, stored)
        if len(matches) > 1:
            if raise_multiple:
                raise MultipleMatches(matches)
            return failure(
                "DUPLICATE_EXTERNAL_ID",
                f"{key_field.label}: more than one record found for external id field: {matches}",
                [key_field.name],
            )
        body = {k: v for k, v in record.items() if k.lower() not in {"id"}}
        if matches:
            body.pop(key_field.name, None)
            result = self._update({**body, "Id": matches[0]})
            return {**result, "created": False} if result["success"] else result
        if key_field.type == "id":
            return failure("NOT_FOUND", "Provided external ID field does not exist or is not accessible: " + value)
        result = self._insert(body, new_id)
        return {**result, "created": True} if result["success"] else result

    def _delete(self, raw_id: Any, *, hard: bool) -> dict[str, Any]:
        if not raw_id:
            return failure("MISSING_ARGUMENT", "Id not specified in a delete call", [])
        current = self._existing(raw_id, allow_deleted=hard)
        if "success" in current and "Id" not in current:
            return current
        if hard:
            self.view.write(current["Id"], None)
        else:
            row = dict(current)
            row["IsDeleted"] = 1
            row["SystemModstamp"] = row["LastModifiedDate"] = self.ctx.now
            row["LastModifiedById"] = self.ctx.user_id
            self.view.write(current["Id"], row)
        return {"id": current["Id"], "success": True, "errors": []}

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _existing(self, raw_id: Any, allow_deleted: bool = False) -> dict[str, Any]:
        """The current row, or a failure result (which has no "Id" key)."""
        record_id = to18(str(raw_id))
        if record_id is None or not record_id.startswith(self.obj.key_prefix):
            return failure("MALFORMED_ID", f"{self.obj.label} ID: id value of incorrect type: {raw_id}", ["Id"])
        current = self.view.row(record_id)
        if current is None and not self.view.purged(record_id):
            return failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if current is None:
            return failure("ENTITY_IS_DELETED", "entity is deleted", [])
        if current.get("IsDeleted") and not allow_deleted:
            return failure("ENTITY_IS_DELETED", "entity is deleted", [])
        return current

    def _values(self, record: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[str] = []
        plan = self.plan
        coerced = self._coerced
        for key, raw in record.items():
            if key == "attributes":
                continue
            f, rel = plan.field_for(key)
            if f is None:
                if rel is not None and isinstance(raw, dict):
                    values[rel.name] = self._resolve_parent(rel.name, rel.reference_to[0], raw)
                    continue
                raise FieldError("INVALID_FIELD", f"No such column '{key}' on sobject of type {self.obj.name}", [key])
            if not (f.createable if creating else f.updateable):
                errors.append(f.name)
                continue
            # Stored encodings are coerce's fixed points, except that numbers are range-checked and rounded again.
            if coerced and f.type not in {"double", "currency", "percent"}:
                values[f.name] = raw
            else:
                values[f.name] = plan.coercers[f.name](raw)
        if errors:
            raise FieldError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(errors)}. Please check the security settings of this field"
                " and verify that it is read/write for your profile or permission set.",
                errors,
            )
        return values

    def _resolve_parent(self, field_name: str, parent_name: str, spec: dict[str, Any]) -> str:
        parent = self.schema.object(parent_name)
        keys = [(k, v) for k, v in spec.items() if k != "attributes"]
        key_field = parent.field(keys[0][0]) if parent and len(keys) == 1 else None
        if parent is None or key_field is None or not (key_field.external_id or key_field.id_lookup):
            raise FieldError("INVALID_FIELD", f"Invalid foreign key relationship for field {field_name}", [field_name])
        value = keys[0][1]
        rows = self.pending.view(parent).live_ids(key_field.name, coerce(key_field, value))
        if not rows:
            raise FieldError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {key_field.name} in entity {parent.name}",
                [field_name],
            )
        if len(rows) > 1:
            raise FieldError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} matched more than one record for field {key_field.name}"
                f" in entity {parent.name}",
                [field_name],
            )
        return rows[0]

    def _derive(self, row: dict[str, Any], *, creating: bool) -> None:
        name = self.obj.name
        if self.plan.person_name:
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p) or None
        if name == "X__c" and creating and not row.get("Name"):
            row["Name"] = row["Id"]
        if name == "Case":
            if creating:
                row["CaseNumber"] = f"{counter_of(row['Id']) % 10**8:08d}"
            row["IsClosed"] = int(row.get("Status") == "Closed")
        if name == "Opportunity":
            stage = row.get("StageName") or ""
            row["IsClosed"] = int(stage.startswith("Closed"))
            row["IsWon"] = int(stage == "Closed Won")
        if self.obj.auto_assign and self.ctx.auto_assign:
            # The org's one active assignment rule routes every Lead and Case to the assignment user.
            row["OwnerId"] = self.ctx.assignee_id

    def _check_row(self, row: dict[str, Any], record_id: str) -> None:
        missing = [m for m in self.plan.required if row.get(m) is None]
        if missing:
            raise FieldError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for check in self.plan.checks:
            f = check.field
            value = row.get(f.name)
            if value is None:
                continue
            if check.parents is not None:
                self._check_reference(f.name, check.parents, value, f.label)
            if check.unique:
                clash = next((i for i in self.view.live_ids(f.name, value) if i != record_id), None)
                if clash:
                    raise FieldError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {clash}",
                        [f.name],
                    )
        if self.obj.name == "X__c" and (row.get("Number__c") or 0) < 0:
            # The seeded validation rule of X__c.
            raise FieldError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Number must not be negative", ["Number__c"])

    def _check_reference(self, name: str, parents: list[tuple[str, ObjectDef]], value: str, label: str) -> None:
        for prefix, parent in parents:
            if value.startswith(prefix):
                view = self.pending.view(parent)
                if view.live_ids("Id", value):
                    return
                if view.row(value) is None and not view.purged(value):
                    raise FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
                raise FieldError("ENTITY_IS_DELETED", "entity is deleted", [name])
        raise FieldError("FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", [name])


def _id18(raw: Any) -> str | None:
    return to18(str(raw)) if raw else None


def _get_lower(record: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in record.items() if k.lower() == lowered), None)


def _quietly(convert: Coercer, value: Any) -> Any:
    """convert(value), or None when it refuses the value (prefetching only guesses what the checks will read)."""
    try:
        return convert(value)
    except (FieldError, TypeError, ValueError):
        return None

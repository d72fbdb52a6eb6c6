"""Record writes (insert, update, upsert, delete) with the validation a real org runs, one result per record."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from salesforce_emulator.ids import counter_of, to18
from salesforce_emulator.schema import ObjectDef, Schema
from salesforce_emulator.store import q
from salesforce_emulator.values import FieldError, coerce, now_text

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


class RecordWriter:
    """Applies writes for one object inside the caller's transaction."""

    def __init__(self, schema: Schema, conn: sqlite3.Connection, obj: ObjectDef, ctx: WriteContext) -> None:
        self.schema = schema
        self.conn = conn
        self.obj = obj
        self.ctx = ctx
        self.table = q(obj.name)

    # --- public ----------------------------------------------------------------------------------------------------

    def apply(
        self,
        operation: str,
        record: dict[str, Any],
        *,
        external_id_field: str | None = None,
        new_id: str | None = None,
        raise_multiple: bool = False,
    ) -> dict[str, Any]:
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

    # --- operations ------------------------------------------------------------------------------------------------

    def _insert(self, record: dict[str, Any], new_id: str | None) -> dict[str, Any]:
        if any(k.lower() == "id" and v not in (None, "") for k, v in record.items()):
            return failure("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        values = self._values(record, creating=True)
        assert new_id is not None
        row = self._defaults(new_id)
        row.update(values)
        self._derive(row, creating=True)
        self._check_row(row, new_id)
        columns = list(row)
        self.conn.execute(
            f"INSERT INTO {self.table} ({', '.join(q(c) for c in columns)}) VALUES ({', '.join('?' * len(columns))})",
            [row[c] for c in columns],
        )
        return {"id": new_id, "success": True, "errors": []}

    def _update(self, record: dict[str, Any]) -> dict[str, Any]:
        raw_id = record.get("Id") or record.get("id")
        if not raw_id:
            return failure("MISSING_ARGUMENT", "Id not specified in an update call", [])
        current = self._existing(raw_id)
        if isinstance(current, dict) and "success" in current:
            return current
        values = self._values({k: v for k, v in record.items() if k.lower() != "id"}, creating=False)
        row = dict(current)
        row.update(values)
        row["LastModifiedDate"] = row["SystemModstamp"] = self.ctx.now
        row["LastModifiedById"] = self.ctx.user_id
        self._derive(row, creating=False)
        self._check_row(row, row["Id"])
        changed = [c for c in row if c != "Id" and row[c] != current.get(c)]
        if changed:
            self.conn.execute(
                f"UPDATE {self.table} SET {', '.join(q(c) + ' = ?' for c in changed)} WHERE Id = ?",
                [row[c] for c in changed] + [row["Id"]],
            )
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
        stored = coerce(key_field, value)
        matches = [
            r[0]
            for r in self.conn.execute(
                f"SELECT Id FROM {self.table} WHERE {q(key_field.name)} = ? AND IsDeleted = 0", (stored,)
            ).fetchall()
        ]
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
        if isinstance(current, dict) and "success" in current:
            return current
        if hard:
            self.conn.execute(f"DELETE FROM {self.table} WHERE Id = ?", (current["Id"],))
        else:
            self.conn.execute(
                f"UPDATE {self.table} SET IsDeleted = 1, SystemModstamp = ?, LastModifiedDate = ?,"
                " LastModifiedById = ? WHERE Id = ?",
                (self.ctx.now, self.ctx.now, self.ctx.user_id, current["Id"]),
            )
        return {"id": current["Id"], "success": True, "errors": []}

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _existing(self, raw_id: Any, allow_deleted: bool = False) -> dict[str, Any]:
        record_id = to18(str(raw_id))
        if record_id is None or not record_id.startswith(self.obj.key_prefix):
            return failure("MALFORMED_ID", f"{self.obj.label} ID: id value of incorrect type: {raw_id}", ["Id"])
        cursor = self.conn.execute(f"SELECT * FROM {self.table} WHERE Id = ?", (record_id,))
        row = cursor.fetchone()
        if row is None:
            return failure("ENTITY_IS_DELETED", "entity is deleted", [])
        current = dict(zip([d[0] for d in cursor.description], row, strict=True))
        if current.get("IsDeleted") and not allow_deleted:
            return failure("ENTITY_IS_DELETED", "entity is deleted", [])
        return current

    def _defaults(self, new_id: str) -> dict[str, Any]:
        now, user = self.ctx.now, self.ctx.user_id
        row: dict[str, Any] = {"Id": new_id, "IsDeleted": 0}
        for f in self.obj.stored_fields:
            if f.name in row:
                continue
            if f.name in {"CreatedDate", "LastModifiedDate", "SystemModstamp"}:
                row[f.name] = now
            elif f.name in {"CreatedById", "LastModifiedById", "OwnerId"}:
                row[f.name] = user
            elif f.type == "boolean":
                row[f.name] = int(bool(f.default_value))
            elif f.default_value is not None:
                row[f.name] = f.default_value
        return row

    def _values(self, record: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[str] = []
        for key, raw in record.items():
            if key == "attributes":
                continue
            f = self.obj.field(key)
            if f is None:
                rel = self.obj.relationship(key)
                if rel is not None and isinstance(raw, dict):
                    values[rel.name] = self._resolve_parent(rel.name, rel.reference_to[0], raw)
                    continue
                raise FieldError("INVALID_FIELD", f"No such column '{key}' on sobject of type {self.obj.name}", [key])
            if not (f.createable if creating else f.updateable):
                errors.append(f.name)
                continue
            values[f.name] = coerce(f, raw)
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
        rows = self.conn.execute(
            f"SELECT Id FROM {q(parent.name)} WHERE {q(key_field.name)} = ? AND IsDeleted = 0",
            (coerce(key_field, value),),
        ).fetchall()
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
        return rows[0][0]

    def _derive(self, row: dict[str, Any], *, creating: bool) -> None:
        name = self.obj.name
        if self.obj.field("FirstName") and self.obj.field("LastName"):
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
        missing = [f.name for f in self.obj.fields if f.stored and not f.nillable and row.get(f.name) is None]
        missing = [m for m in missing if self.obj.field(m).createable or m == "Name"]
        if missing:
            raise FieldError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        for f in self.obj.fields:
            value = row.get(f.name)
            if value is None:
                continue
            if f.type == "reference" and f.name not in {"CreatedById", "LastModifiedById"}:
                self._check_reference(f.name, f.reference_to, value, f.label)
            if f.unique:
                clash = self.conn.execute(
                    f"SELECT Id FROM {self.table} WHERE {q(f.name)} = ? AND Id != ? AND IsDeleted = 0 LIMIT 1",
                    (value, record_id),
                ).fetchone()
                if clash:
                    raise FieldError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {clash[0]}",
                        [f.name],
                    )
        if self.obj.name == "X__c" and (row.get("Number__c") or 0) < 0:
            # The seeded validation rule of X__c.
            raise FieldError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Number must not be negative", ["Number__c"])

    def _check_reference(self, name: str, targets: list[str], value: str, label: str) -> None:
        for target in targets:
            parent = self.schema.object(target)
            if parent and value.startswith(parent.key_prefix):
                found = self.conn.execute(
                    f"SELECT 1 FROM {q(parent.name)} WHERE Id = ? AND IsDeleted = 0", (value,)
                ).fetchone()
                if found:
                    return
                raise FieldError("ENTITY_IS_DELETED", "entity is deleted", [name])
        raise FieldError("FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", [name])

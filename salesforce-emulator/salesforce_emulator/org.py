"""The emulated org: schema, data, sessions, faults, API usage and the platform event bus, behind one object.

Routes reach it as `request.app.state.org`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from salesforce_emulator.dml import ROLLED_BACK, RecordWriter, WriteContext, error, failure
from salesforce_emulator.faults import FaultRegistry
from salesforce_emulator.ids import make_id
from salesforce_emulator.latency import Latency
from salesforce_emulator.oauth import TokenStore
from salesforce_emulator.objects import seeded_schema
from salesforce_emulator.pending import PendingWrites
from salesforce_emulator.schema import KEY_PREFIXES, FieldDef, ObjectDef, Schema
from salesforce_emulator.store import Store, q
from salesforce_emulator.values import FieldError, coerce, coerce_csv, format_datetime, now_text

API_USER = 1  # id counter of admin@example.com, the user every session runs as
ASSIGNEE = 2  # id counter of the user the assignment rule routes Leads and Cases to
# The limits a real org reports at /limits (names as a v62+ org returns them; Max values of a Developer Edition org,
# or plausible ones where none was recorded); DailyApiRequests follows the config. Scratch-org limits appear in a
# Dev Hub org (a Developer Edition can be one).
ORG_LIMITS = {
    "ActiveScratchOrgs": 3,
    "AnalyticsExternalDataSizeMB": 40960,
    "BOZosCalloutHourlyLimit": 20000,
    "CdpAiInferenceApiMonthlyLimit": 0,
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentEinsteinDataInsightsStoryCreation": 5,
    "ConcurrentEinsteinDiscoveryStoryCreation": 2,
    "ConcurrentSyncReportRuns": 20,
    "ContentDistBandwidthLimitMB": 200,
    "ContentDistViewLimit": 50000,
    "ContentPublicationLimit": 200000,
    "DailyAnalyticsDataflowJobExecutions": 60,
    "DailyAnalyticsUploadedFilesSizeMB": 51200,
    "DailyApexCursorLimit": 10000,
    "DailyApexCursorRowsLimit": 100000000,
    "DailyApexPCursorLimit": 200000,
    "DailyApiRequests": 15000,
    "DailyAsyncApexExecutions": 250000,
    "DailyAsyncApexTests": 500,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyDataCloudCursorLimit": 0,
    "DailyDataCloudCursorRowsLimit": 0,
    "DailyDataCloudFlexCredits": 0,
    "DailyDeliveredPlatformEvents": 10000,
    "DailyDurableGenericStreamingApiEvents": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyEinsteinDataInsightsStoryCreation": 1000,
    "DailyEinsteinDiscoveryOptimizationJobRuns": 25,
    "DailyEinsteinDiscoveryPredictAPICalls": 50000,
    "DailyEinsteinDiscoveryPredictionsByCDC": 500000,
    "DailyEinsteinDiscoveryStoryCreation": 100,
    "DailyFunctionsApiCallLimit": 235000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyMetadataRetrievesWithDependencies": 50,
    "DailyScratchOrgs": 6,
    "DailyServiceEmailAgentforceCalls": 0,
    "DailyStandardVolumePlatformEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 15,
    "DataStorageMB": 5,
    "DurableStreamingApiConcurrentClients": 20,
    "ExternalServicesActiveObjects": 20000,
    "ExternalServicesActiveOperations": 20000,
    "ExternalServicesObjectProperties": 1000,
    "ExternalServicesObjects": 20000,
    "ExternalServicesOperations": 20000,
    "ExternalServicesRegistrations": 100,
    "FileStorageMB": 20,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlyElevateAsyncReportRuns": 0,
    "HourlyElevateSyncReportRuns": 0,
    "HourlyLongTermIdMapping": 100000,
    "HourlyManagedContentPublicRequests": 50000,
    "HourlyODataCallout": 20000,
    "HourlyPublishedPlatformEvents": 50000,
    "HourlyPublishedStandardVolumePlatformEvents": 1000,
    "HourlyShortTermIdMapping": 100000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 10,
    "MaxContentDocumentsLimit": 30000000,
    "MonthlyEinsteinDiscoveryStoryCreation": 500,
    "MonthlyPlatformEventsUsageEntitlement": 0,
    "Package2VersionCreates": 6,
    "Package2VersionCreatesWithoutValidation": 500,
    "PermissionSets": 1500,
    "PlatformEventTriggersWithParallelProcessing": 5,
    "PrivateConnectOutboundCalloutHourlyLimitMB": 0,
    "PublishCallbackUsageInApex": 5000000,
    "ScheduledFlowRunLimit": 250000,
    "ScheduledPathRunLimit": 250000,
    "SingleEmail": 15,
    "StreamingApiConcurrentClients": 20,
}
# Limits a real org breaks down further: PermissionSets carries the custom permission sets one may create.
ORG_SUB_LIMITS = {"PermissionSets": {"CreateCustom": 1000}}
PURGED_DAYS = 15  # getDeleted reports hard-deleted (purged) records for about this long


@dataclass
class Config:
    token_ttl_seconds: float = 7200
    daily_api_limit: int = 15000
    api_usage: int = 0
    query_timeout_rows: int | None = None
    jwt_public_key: str | None = None
    rest_page_size: int = 2000

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting {key!r}")
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["jwt_public_key"] = bool(self.jwt_public_key)
        return data


class CallCounter:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._counts.values()), "by_endpoint": dict(self._counts)}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class EventBus:
    def __init__(self) -> None:
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._replay = 0

    def publish(self, name: str, events: list[dict[str, Any]]) -> None:
        with self._lock:
            for event in events:
                self._replay += 1
                event["ReplayId"] = str(self._replay)
                self._events.setdefault(name.lower(), []).append(event)

    def read(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events.get(name.lower(), []))

    def all(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {k: list(v) for k, v in self._events.items()}

    def clear(self, name: str) -> None:
        with self._lock:
            self._events.pop(name.lower(), None)


class Org:
    def __init__(self, db_path: str | None = None, config: Config | None = None) -> None:
        self._tmpdir = None
        if db_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="sf-emulator-")
            db_path = os.path.join(self._tmpdir.name, "org.db")
        self.config = config or Config()
        self.store = Store(db_path)
        saved = self.store.saved_schema()
        self.schema: Schema = Schema([ObjectDef.from_json(o) for o in saved]) if saved else seeded_schema()
        for obj in self.schema.objects:
            self.store.create_table(obj)
        self.store.save_schema(self.schema)
        self.tokens = TokenStore()
        self.faults = FaultRegistry()
        self.calls = CallCounter()
        self.events = EventBus()
        self.latency = Latency()
        self.api_user_id = make_id(KEY_PREFIXES["User"], API_USER)
        self.assignee_id = make_id(KEY_PREFIXES["User"], ASSIGNEE)
        self.usage_lock = threading.Lock()
        self.seed = "demo"
        from salesforce_emulator.query import QueryCursors  # late: the query layer needs the SOQL engine

        self.cursors = QueryCursors(self)

    def seed_data(self, seed: str = "demo", records: int = 0) -> None:
        """Fixed users, then `records` deterministic rows per seeded object (none for seed 'empty')."""
        from salesforce_emulator.seed import seed_org

        self.seed = seed
        seed_org(self, seed, records)

    def close(self) -> None:
        self.cursors.close_all()
        self.store.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    # --- the internal contract with the Bulk API and SOQL code -----------------------------------------------------

    def read_connection(self):  # noqa: ANN201 - sqlite3.Connection
        return self.store.read_connection()

    @property
    def query_timeout_rows(self) -> int | None:
        return self.config.query_timeout_rows

    def take_fault(self, kind: str, path: str) -> dict[str, Any] | None:
        fault = self.faults.take(None, path, {kind})
        return fault.to_json() if fault else None

    def coerce_csv_value(self, field: FieldDef, text: str) -> Any:
        return coerce_csv(field, text)

    def dml(
        self,
        sobject: str,
        operation: str,
        records: list[dict[str, Any]],
        *,
        external_id_field: str | None = None,
        auto_assign: bool = True,
        all_or_none: bool = False,
        coerced: bool = False,
    ) -> list[dict[str, Any]]:
        """One Collections-shaped result per record, in order; never raises for a per-record failure."""
        return self.dml_mixed(
            [(sobject, r) for r in records],
            operation,
            external_id_field=external_id_field,
            auto_assign=auto_assign,
            all_or_none=all_or_none,
            coerced=coerced,
        )

    def dml_mixed(
        self,
        items: list[tuple[str, dict[str, Any]]],
        operation: str,
        *,
        external_id_field: str | None = None,
        auto_assign: bool = True,
        all_or_none: bool = False,
        raise_multiple: bool = False,
        coerced: bool = False,
    ) -> list[dict[str, Any]]:
        """Each record is checked against the org as the earlier ones left it; the writes land together at the end.

        `coerced`: the values are already in the stored encoding (Bulk CSV rows).
        """
        ctx = WriteContext(self.api_user_id, self.assignee_id, auto_assign, now_text())
        results: list[dict[str, Any]] = []
        events: list[tuple[str, dict[str, Any]]] = []
        with self.store.transaction() as conn:
            pending = PendingWrites(conn, ctx.now)
            writers = self._writers(items, operation, external_id_field, pending, ctx)
            new_ids = self._new_ids(items, operation)
            for sobject, record in items:
                obj = self.schema.object(sobject) if sobject else None
                if obj is None and operation in {"delete", "hardDelete"}:
                    results.append(failure("MALFORMED_ID", f"malformed id {record.get('Id')}", []))
                    continue
                if obj is None:
                    results.append(failure("INVALID_TYPE", f"sObject type '{sobject}' is not supported."))
                    continue
                if obj.is_event:
                    results.append(self._event(obj, operation, record, ctx, events))
                    continue
                if not obj.queryable:
                    results.append(failure("INVALID_TYPE", f"sObject type '{sobject}' is not supported."))
                    continue
                new_id = next(new_ids[obj.name]) if operation in {"insert", "upsert"} else None
                result = writers[obj.name].apply(
                    operation,
                    record,
                    external_id_field=external_id_field,
                    new_id=new_id,
                    raise_multiple=raise_multiple,
                    coerced=coerced,
                )
                results.append(result)
            if all_or_none and not all(r["success"] for r in results):
                events.clear()
                results = [
                    r if not r["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]} for r in results
                ]
            else:
                pending.flush()
        for name, event in events:
            self.events.publish(name, [event])
        return results

    def _writable(self, sobject: str) -> ObjectDef | None:
        obj = self.schema.object(sobject) if sobject else None
        return obj if obj is not None and obj.queryable and not obj.is_event else None

    def _writers(
        self,
        items: list[tuple[str, dict[str, Any]]],
        operation: str,
        external_id_field: str | None,
        pending: PendingWrites,
        ctx: WriteContext,
    ) -> dict[str, RecordWriter]:
        """One writer per object of the call, its lookups prefetched."""
        groups: dict[str, tuple[ObjectDef, list[dict[str, Any]]]] = {}
        for sobject, record in items:
            obj = self._writable(sobject)
            if obj is not None:
                groups.setdefault(obj.name, (obj, []))[1].append(record)
        writers = {name: RecordWriter(self.schema, pending, obj, ctx) for name, (obj, _) in groups.items()}
        for name, (_, records) in groups.items():
            writers[name].prefetch(operation, records, external_id_field)
        return writers

    def _new_ids(self, items: list[tuple[str, dict[str, Any]]], operation: str) -> dict[str, Iterator[str]]:
        """The ids an insert or upsert may use, one per record, drawn in one go per object."""
        if operation not in {"insert", "upsert"}:
            return {}
        counts: Counter[str] = Counter()
        objects: dict[str, ObjectDef] = {}
        for sobject, _ in items:
            obj = self._writable(sobject)
            if obj is not None:
                counts[obj.name] += 1
                objects[obj.name] = obj
        return {name: iter(self.store.next_ids(objects[name], n)) for name, n in counts.items()}

    def _event(
        self,
        obj: ObjectDef,
        operation: str,
        record: dict[str, Any],
        ctx: WriteContext,
        events: list[tuple[str, dict[str, Any]]],
    ) -> dict[str, Any]:
        if operation != "insert":
            return failure("INVALID_OPERATION", f"{operation} is not supported on platform events")
        event: dict[str, Any] = {}
        try:
            for key, value in record.items():
                if key == "attributes":
                    continue
                f = obj.field(key)
                if f is None:
                    raise FieldError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])
                if not f.createable:
                    raise FieldError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {f.name}.", [f.name]
                    )
                event[f.name] = coerce(f, value)
        except FieldError as exc:
            return failure(exc.status_code, exc.message, exc.fields)
        event_id = self.store.next_ids(obj, 1)[0]
        event.update({"EventUuid": str(uuid.uuid4()), "CreatedDate": ctx.now, "CreatedById": ctx.user_id})
        events.append((obj.name, event))
        # Publishing is queued: success with an OPERATION_ENQUEUED entry carrying the event's UUID.
        enqueued = {"statusCode": "OPERATION_ENQUEUED", "message": event["EventUuid"], "fields": []}
        return {"id": event_id, "success": True, "errors": [enqueued]}

    # --- API usage ----------------------------------------------------------------------------------------------

    def count_api_call(self) -> tuple[int, int]:
        """Count one data API call; (used, limit) afterwards (used > limit means refuse it)."""
        with self.usage_lock:
            self.config.api_usage += 1
            return self.config.api_usage, self.config.daily_api_limit

    def limits(self) -> dict[str, dict[str, Any]]:
        """GET /limits: the names and maximums a real org reports, with the API and event use."""
        used = {
            "DailyApiRequests": self.config.api_usage,
            "HourlyPublishedPlatformEvents": sum(len(v) for v in self.events.all().values()),
        }
        maximums = {**ORG_LIMITS, "DailyApiRequests": self.config.daily_api_limit}
        limits: dict[str, dict[str, Any]] = {}
        for name, maximum in sorted(maximums.items()):
            limits[name] = {"Max": maximum, "Remaining": max(0, maximum - used.get(name, 0))}
            for part, part_max in ORG_SUB_LIMITS.get(name, {}).items():
                limits[name][part] = {"Max": part_max, "Remaining": part_max}
        return limits

    def record_counts(self, names: list[str] | None) -> list[dict[str, Any]]:
        """GET /limits/recordCount: the live records of each object asked for (every queryable one by default)."""
        objects = [self._object(n) for n in names] if names else [o for o in self.schema.objects if o.queryable]
        conn = self.read_connection()
        return [
            {
                "count": conn.execute(f"SELECT COUNT(*) FROM {q(o.name)} WHERE IsDeleted = 0").fetchone()[0],
                "name": o.name,
            }
            for o in objects
            if o.queryable
        ]

    def object_name_for_id(self, record_id: str) -> str | None:
        for obj in self.schema.objects:
            if obj.queryable and record_id[:3] == obj.key_prefix:
                return obj.name
        return None

    def replication(self, sobject: str, kind: str, start: str, end: str) -> dict[str, Any]:
        """GET /sobjects/{O}/deleted/ or /updated/ for the window [start, end]."""
        obj = self._object(sobject)
        conn = self.read_connection()
        if kind == "deleted":
            # Soft-deleted rows, and hard-deleted ones for the PURGED_DAYS Salesforce keeps reporting them.
            kept_from = max(start, format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(days=PURGED_DAYS)))
            rows = conn.execute(
                f"SELECT Id, SystemModstamp FROM {q(obj.name)} WHERE IsDeleted = 1 AND SystemModstamp >= ?"
                " AND SystemModstamp <= ?"
                " UNION ALL SELECT Id, deletedDate FROM _emulator_purged WHERE object = ? AND deletedDate >= ?"
                " AND deletedDate <= ? ORDER BY 2",
                (start, end, obj.name, kept_from, end),
            ).fetchall()
            earliest = conn.execute(f"SELECT MIN(CreatedDate) FROM {q(obj.name)}").fetchone()[0]
            return {
                "deletedRecords": [{"deletedDate": d, "id": i} for i, d in rows],
                "earliestDateAvailable": earliest or start,
                "latestDateCovered": end,
            }
        rows = conn.execute(
            f"SELECT Id FROM {q(obj.name)} WHERE IsDeleted = 0 AND SystemModstamp >= ? AND SystemModstamp <= ?"
            " ORDER BY SystemModstamp",
            (start, end),
        ).fetchall()
        return {"ids": [r[0] for r in rows], "latestDateCovered": end}

    # --- schema changes at run time --------------------------------------------------------------------------------

    def add_field(self, sobject: str, spec: dict[str, Any]) -> FieldDef:
        obj = self._object(sobject)
        spec = dict(spec)
        spec.setdefault("custom", spec["name"].endswith("__c"))
        if spec.get("type") in {"string", "textarea", "email", "phone", "url", "picklist"}:
            spec.setdefault("length", 255)
        if spec.get("type") in {"double", "currency", "percent"}:
            spec.setdefault("precision", 18)
            spec.setdefault("scale", 2)
        f = FieldDef(**spec)
        if obj.field(f.name):
            raise ValueError(f"{obj.name}.{f.name} exists")
        if obj.queryable and f.stored:
            self.store.add_column(obj, f)
        system = [
            i for i, existing in enumerate(obj.fields) if existing.name == "OwnerId" or existing.name == "CreatedDate"
        ]
        obj.fields.insert(system[0] if system else len(obj.fields), f)
        obj.reindex()
        self.store.save_schema(self.schema)
        self.cursors.close_all()
        return f

    def remove_field(self, sobject: str, name: str) -> None:
        obj = self._object(sobject)
        f = obj.field(name)
        if f is None:
            raise KeyError(name)
        self.cursors.close_all()
        if obj.queryable and f.stored:
            self.store.drop_column(obj, f.name)
        obj.fields.remove(f)
        obj.reindex()
        self.store.save_schema(self.schema)

    def add_object(self, spec: dict[str, Any]) -> ObjectDef:
        from salesforce_emulator.objects import id_fields, name_field, system_fields

        name = spec["name"]
        if self.schema.object(name):
            raise ValueError(f"{name} exists")
        if not name.endswith(("__c", "__e")):
            raise ValueError("a custom object's name ends with __c (or __e for a platform event)")
        is_event = name.endswith("__e")
        prefix = spec.get("key_prefix") or f"a{len(self.schema.objects):02d}"
        extra = [FieldDef(**{"custom": True, **f}) for f in spec.get("fields", [])]
        fields = (
            extra
            if is_event
            else id_fields() + [name_field(80, nillable=True, defaulted_on_create=True)] + extra + system_fields()
        )
        obj = ObjectDef(
            name,
            label=spec.get("label", ""),
            custom=True,
            queryable=not is_event,
            is_event=is_event,
            key_prefix=prefix,
            fields=fields,
        )
        self.schema.add(obj)
        self.store.create_table(obj)
        self.store.save_schema(self.schema)
        return obj

    def _object(self, name: str) -> ObjectDef:
        obj = self.schema.object(name)
        if obj is None:
            raise KeyError(name)
        return obj

    # --- admin reads -----------------------------------------------------------------------------------------------

    def all_records(self, sobject: str) -> list[dict[str, Any]]:
        obj = self._object(sobject)
        cursor = self.store.new_connection()
        try:
            cur = cursor.execute(f"SELECT * FROM {q(obj.name)} ORDER BY Id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]
        finally:
            cursor.close()

    def error_entry(self, code: str, message: str) -> dict[str, Any]:
        return error(code, message)

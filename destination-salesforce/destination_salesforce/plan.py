"""What to do with one stream: the Salesforce operation its sync mode asks for, the mapper and the writer,
and the checks (against the object's describe) that the configuration can work."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from airbyte_cdk.models import DestinationSyncMode
from salesforce_api import BulkClient, RestClient
from salesforce_api.errors import ConfigError, NotFoundError

from destination_salesforce.bulk_jobs import BulkJobs, BulkWriter, Failures
from destination_salesforce.lookups import ParentLookups, Reference
from destination_salesforce.mapping import (
    CSV_NULL,
    PreparedRecord,
    RecordFilter,
    RecordMapper,
    dedupe_last_wins,
    field_limits,
    split_rounds,
)
from destination_salesforce.resolve import resolve_ids
from destination_salesforce.spec import WriterConfig
from destination_salesforce.stream_settings import StreamSettings
from destination_salesforce.writers import (
    RETRYABLE_CODES,
    CollectionsWriter,
    PlatformEventWriter,
    Writer,
    write_with_retries,
)

ASSIGNMENT_RULE_OBJECTS = {"Lead", "Case"}  # Bulk API 2.0's assignmentRuleId applies to these
RETRY_CHUNK = 10_000
RESCUE_MIN = 200  # records a failed Bulk job left unprocessed go through Collections from this many down
# With several jobs in flight, a job holds at most this many records (2 of Salesforce's internal batches of 10,000),
# so that a large load is spread over jobs that run in parallel instead of filling one 100 MB job after another, and
# the last job, which runs after the input ended, is short.
CONCURRENT_JOB_RECORDS = 20_000


def is_event(sobject: str) -> bool:
    return sobject.endswith("__e")


def holds_bulk_null(record: PreparedRecord) -> bool:
    """Whether a value of the record is the text #N/A, which a Bulk API 2.0 CSV cell can only mean as null."""
    return any(value == CSV_NULL for value in record.values.values())


def choose_operation(settings: StreamSettings) -> tuple[str, bool]:
    """(operation, dedupe) for a stream; ConfigError naming the setting for a combination that cannot work."""
    sync_mode, sobject, key = settings.sync_mode, settings.sobject, settings.external_id_field
    if sync_mode == DestinationSyncMode.overwrite:
        raise ConfigError(
            "The overwrite sync mode is not supported: emptying a Salesforce object is too dangerous. "
            "Use append, append_dedup (upsert), update or soft_delete.",
            setting="destination_sync_mode",
        )
    if is_event(sobject):
        if sync_mode != DestinationSyncMode.append or settings.operation not in (None, "insert"):
            raise ConfigError(
                f"{sobject} is a Platform Event: events can only be published (append sync mode, insert operation).",
                setting=settings.operation_setting if settings.operation else "destination_sync_mode",
            )
        return "insert", False
    if sync_mode == DestinationSyncMode.append_dedup:
        if not key:
            raise ConfigError(
                f"Stream {settings.stream}: the append_dedup sync mode upserts, which needs a matching key: set "
                f"{settings.key_setting}, or give the stream a primary key in the configured catalog.",
                setting=settings.key_setting,
            )
        return "upsert", True
    if sync_mode == DestinationSyncMode.update:
        return "update", False
    if sync_mode == DestinationSyncMode.soft_delete:
        return "delete", False
    operation = settings.operation or ("upsert" if key else "insert")
    if operation == "upsert" and not key:
        raise ConfigError(
            f"Stream {settings.stream}: the upsert operation ({settings.operation_setting}) needs "
            f"{settings.key_setting}.",
            setting=settings.key_setting,
        )
    return operation, False


def _relationship_fields(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["relationshipName"]: f for f in describe["fields"] if f.get("relationshipName")}


def field_named(describe: Mapping[str, Any], name: str) -> str | None:
    """The describe's spelling of field `name` (exact, else case-insensitive); None when the object has none."""
    names = [f["name"] for f in describe["fields"]]
    if name in names:
        return name
    return next((n for n in names if n.casefold() == name.casefold()), None)


Problem = tuple[str, str]  # (setting, what is wrong)


def problems(
    describe: Mapping[str, Any],
    settings: StreamSettings,
    config: WriterConfig,
    operation: str,
    describe_other: Callable[[str], Mapping[str, Any]],
) -> list[Problem]:
    """Everything in the settings that Salesforce would refuse for this object, each with the setting to change.

    `describe_other` describes the parent objects of relationship targets (`Account__r.External_Id__c`)."""
    sobject = describe["name"]
    found: list[Problem] = []
    need = {"insert": ("createable",), "update": ("updateable",), "upsert": ("createable", "updateable"),
            "delete": ()}[operation]  # fmt: skip
    for flag in need:
        if not describe.get(flag, False):
            found.append((settings.object_setting, f"object {sobject} is not {flag} for this user ({operation})"))
    if operation == "delete" and not describe.get("deletable", False):
        found.append((settings.object_setting, f"object {sobject} is not deletable for this user"))
    fields = {f["name"]: f for f in describe["fields"]}
    relationships = _relationship_fields(describe)
    key, key_setting = settings.external_id_field, settings.key_setting
    if key:
        ext = fields.get(key)
        if ext is None:
            found.append((key_setting, f"{key_setting} {key} is not a field of {sobject}"))
        elif not (ext.get("externalId") or ext["name"] == "Id"):
            found.append((key_setting, f"{key_setting} {key} of {sobject} is not an External ID field"))
    if operation == "delete":
        return found  # only the key is read: the other columns do not matter
    where = settings.mapping_setting
    for rule in settings.column_mapping:
        target = rule.target
        if "." in target:
            relationship, parent_field = target.split(".", 1)
            field = relationships.get(relationship)
            if field is None:
                found.append((where, f"{where} target {target}: {sobject} has no relationship {relationship}"))
                continue
            wrong = _parent_key_problem(field, parent_field, describe_other)
            if wrong:
                found.append((where, f"{where} target {target}: {wrong}"))
        else:
            field = fields.get(target)
            if field is None:
                found.append((where, f"{where} target {target} is not a field of {sobject}"))
                continue
            if target == "Id" and operation in ("update", "upsert"):
                continue
        for flag in need:
            if not field.get(flag, False):
                found.append((where, f"{where} target {target} of {sobject} is not {flag}"))
    if (
        operation != "delete"
        and config.api == "bulk"
        and config.auto_assign
        and not config.assignment_rule_id
        and sobject in ASSIGNMENT_RULE_OBJECTS
    ):
        found.append(("assignment_rule_id", "Bulk API 2.0 (api bulk) runs assignment rules only by id: set "
                      "assignment_rule_id, or use api collections"))  # fmt: skip
    return found


def _parent_key_problem(
    field: Mapping[str, Any], parent_field: str, describe_other: Callable[[str], Mapping[str, Any]]
) -> str | None:
    """Why `parent_field` cannot identify the parent of lookup `field` (None when it can: an external id field of
    the parent object, or of one of them for a polymorphic lookup)."""
    parents = list(field.get("referenceTo") or [])
    for parent in parents:
        try:
            parent_describe = describe_other(parent)
        except NotFoundError:
            continue
        match = next((f for f in parent_describe["fields"] if f["name"] == parent_field), None)
        if match is not None and match.get("externalId"):
            return None
    return f"{parent_field} is not an External ID field of {' or '.join(parents) or 'the parent object'}"


@dataclass
class StreamPlan:
    """How one stream's records reach Salesforce. Through Collections every write settles at once; through Bulk,
    records gather into jobs of up to 100 MB that settle later (`unsettled_from`, `settle`)."""

    stream: str
    sobject: str
    operation: str
    dedupe: bool
    mapper: RecordMapper
    rest: RestClient
    external_id_field: str | None
    logger: logging.Logger
    record_filter: RecordFilter = field(default_factory=lambda: RecordFilter(()))
    mapping_setting: str = "column_mapping"
    filter_setting: str = "filter"
    collections: Writer | None = None
    bulk: BulkClient | None = None
    bulk_options: dict[str, Any] = field(default_factory=dict)
    bulk_threshold: int | None = None  # api auto: smaller writes go through Collections; None: always Bulk

    def __post_init__(self) -> None:
        self.jobs: BulkJobs | None = None
        if self.bulk is not None:
            self.bulk_writer = BulkWriter(self.bulk, self.sobject, self.operation, **self.bulk_options)
            self.jobs = BulkJobs(self.bulk, self.sobject, self.operation, on_settled=self._retry, **self.bulk_options)

    def write(self, records: Sequence[PreparedRecord], *, gather: bool = False) -> Failures:
        """Write `records`; returns the records that failed for good, among them and among earlier gathered ones
        settled meanwhile. With `gather`, Bulk records may still be gathering or in flight afterwards."""
        failures: Failures = []
        batch = list(records)
        if self.dedupe and self.external_id_field:
            # A superseded record is merged into the later one with the same key: it is written through it.
            batch, _ = dedupe_last_wins(batch, self.external_id_field)
        if self.operation in ("update", "delete") and self.external_id_field:
            unresolved = resolve_ids(self.rest, self.sobject, self.external_id_field, batch)
            failures.extend((r, unresolved[r.position]) for r in batch if r.position in unresolved)
            batch = [r for r in batch if r.position not in unresolved]
            if self.operation == "update":
                for r in batch:
                    r.values.pop(self.external_id_field, None)
        use_bulk = self.jobs is not None and (
            self.bulk_threshold is None or len(batch) >= self.bulk_threshold or self.jobs.oldest_position() is not None
        )
        rounds = split_rounds(batch, self.external_id_field) if self.operation == "upsert" else [batch]
        for round_ in rounds:
            if use_bulk and self.jobs is not None:
                literal = [r for r in round_ if holds_bulk_null(r)] if self.operation != "delete" else []
                if literal:
                    # Bulk API 2.0 reads the text #N/A as null: these records go through Collections, once the
                    # jobs before them are settled (a later write must not overtake an earlier one of the same key).
                    failures.extend(self.jobs.settle())
                    failures.extend(self._write_collections(literal))
                    round_ = [r for r in round_ if not holds_bulk_null(r)]
                if round_:
                    failures.extend(self.jobs.add(round_))
            elif round_:
                failures.extend(self._write_collections(round_))
        if not gather:
            failures.extend(self.settle())
        return failures

    def _write_collections(self, records: Sequence[PreparedRecord]) -> Failures:
        if self.collections is None:
            raise RuntimeError(f"{self.sobject}: no Collections writer")  # a bug: every plan has one
        outcomes = write_with_retries(self.collections, records, self.logger)
        return [(r, o) for r, o in zip(records, outcomes, strict=True) if not o.success]

    def unsettled_from(self) -> int | None:
        """The smallest stream position written but without an outcome yet (None: every outcome is known)."""
        return self.jobs.oldest_position() if self.jobs is not None else None

    def settle(self) -> Failures:
        return self.jobs.settle() if self.jobs is not None else []

    def close(self) -> None:
        if self.jobs is not None:
            self.jobs.close()
        close_collections = getattr(self.collections, "close", None)
        if close_collections is not None:
            close_collections()

    def _retry(self, failures: Failures) -> Failures:
        """Failures of a settled Bulk job, after the retryable ones were written again (in chunks, so that a whole
        failed job does not come back into memory at once)."""
        unprocessed = [r for r, o in failures if o.code == "UNPROCESSED"]
        failures = [(r, o) for r, o in failures if o.code != "UNPROCESSED"]
        for start in range(0, len(unprocessed), RETRY_CHUNK):
            failures.extend(self._rescue(unprocessed[start : start + RETRY_CHUNK]))
        final = [(r, o) for r, o in failures if o.code not in RETRYABLE_CODES or o.code == "UNPROCESSED"]
        retry = [r for r, o in failures if o.code in RETRYABLE_CODES and o.code != "UNPROCESSED"]
        for start in range(0, len(retry), RETRY_CHUNK):
            chunk = retry[start : start + RETRY_CHUNK]
            outcomes = write_with_retries(self.bulk_writer, chunk, self.logger)
            final.extend((r, o) for r, o in zip(chunk, outcomes, strict=True) if not o.success)
        return final

    def _rescue(self, records: Sequence[PreparedRecord]) -> Failures:
        """Records a failed Bulk job left unprocessed, sent again in a job of their own; when that job fails as a
        whole too, in two halves, and so on down to RESCUE_MIN records, which go through Collections: it judges each
        record on its own, so a value that fails whole jobs costs only its own record, not futile retries of all."""
        if not records:
            return []
        if len(records) <= RESCUE_MIN:
            return self._write_collections(records)
        outcomes = self.bulk_writer.write(records)
        failures = [(r, o) for r, o in zip(records, outcomes, strict=True) if not o.success]
        again = [r for r, o in failures if o.code == "UNPROCESSED"]
        if len(again) == 1 and len(records) == 1:
            return failures  # nothing left to set apart: the record's own job failed
        failures = [(r, o) for r, o in failures if o.code != "UNPROCESSED"]
        if len(again) == len(records):
            half = len(again) // 2
            return failures + self._rescue(again[:half]) + self._rescue(again[half:])
        return failures + self._rescue(again)


def build_plan(
    settings: StreamSettings,
    describe: Mapping[str, Any],
    config: WriterConfig,
    rest: RestClient,
    bulk: BulkClient,
    logger: logging.Logger,
    describe_other: Callable[[str], Mapping[str, Any]],
) -> StreamPlan:
    """The plan of one stream; ConfigError naming the setting to change when the settings cannot work."""
    if settings.external_id_field:  # the describe's spelling: keys often arrive lower-cased
        settings = replace(
            settings, external_id_field=field_named(describe, settings.external_id_field) or settings.external_id_field
        )
    operation, dedupe = choose_operation(settings)
    found = problems(describe, settings, config, operation, describe_other)
    if found:
        raise ConfigError(
            f"Stream {settings.stream} -> {settings.sobject}: " + "; ".join(message for _, message in found),
            setting=found[0][0],
        )
    record_filter = stream_filter(settings)
    key = settings.external_id_field
    if key == "Id" and operation in ("update", "delete"):
        key = None  # records carry their Id: nothing to look up
    types = {f["name"]: f["type"] for f in describe["fields"]}
    passthrough = writable_fields(describe, operation, key)
    key_fields = [k for k in (key, "Id") if k]
    lookups = None if operation == "delete" else parent_lookups(describe, passthrough, describe_other)
    mapper = RecordMapper(
        settings.column_mapping, types, key_fields, passthrough, lookups, field_limits(describe["fields"])
    )
    return StreamPlan(
        settings.stream, settings.sobject, operation, dedupe, mapper, rest, key, logger, record_filter,
        settings.mapping_setting, settings.filter_setting,
        **writers(settings.sobject, operation, key, config, rest, bulk),
    )  # fmt: skip


def writable_fields(describe: Mapping[str, Any], operation: str, key: str | None) -> set[str]:
    """The fields a record (without column mapping) may set for `operation`, its key included."""
    fields = describe["fields"]
    if operation == "delete":
        return {"Id", key} if key else {"Id"}  # only the key is read
    if operation == "upsert":
        found = {f["name"] for f in fields if f.get("createable") or f.get("updateable")}
    else:
        found = {f["name"] for f in fields if f.get("createable" if operation == "insert" else "updateable")}
    found.discard("Id")
    if operation == "update":
        found.add("Id")
    if key:
        found.add(key)
    return found


def parent_lookups(
    describe: Mapping[str, Any], writable: set[str], describe_other: Callable[[str], Mapping[str, Any]]
) -> ParentLookups:
    """The writable reference fields, each to be written through its parent's external id when a record has it."""
    return ParentLookups(
        [
            Reference(f["name"], f["relationshipName"], _external_ids(f.get("referenceTo") or [], describe_other))
            for f in describe["fields"]
            if f["type"] == "reference" and f.get("relationshipName") and f["name"] in writable
        ]
    )


def _external_ids(
    parents: Sequence[str], describe_other: Callable[[str], Mapping[str, Any]]
) -> Callable[[], list[str]]:
    """The external id fields of a reference's parent objects, described when first asked for."""

    def keys() -> list[str]:
        found = []
        for parent in parents:
            try:
                found += [f["name"] for f in describe_other(parent)["fields"] if f.get("externalId")]
            except NotFoundError:
                continue  # a parent this user cannot see offers no key
        return found

    return keys


def stream_filter(settings: StreamSettings) -> RecordFilter:
    """The stream's filter, its field names spelt as the stream declares them; a ConfigError naming the filter
    setting for an operator it cannot use, or a field the stream does not declare (it would never match)."""
    conditions = []
    declared = settings.schema_fields
    for condition in settings.filter:
        head, dot, rest = condition.field.partition(".")
        if declared and head not in declared:
            spelt = next((name for name in declared if name.casefold() == head.casefold()), None)
            if spelt is None:
                raise ConfigError(
                    f"{settings.filter_setting} on '{condition.field}': stream {settings.stream} has no field "
                    f"{head} (its fields: {', '.join(declared[:30])}).",
                    setting=settings.filter_setting,
                )
            condition = replace(condition, field=spelt + dot + rest)
        conditions.append(condition)
    try:
        return RecordFilter(conditions)
    except ValueError as exc:
        raise ConfigError(f"{settings.filter_setting}: {exc}", setting=settings.filter_setting) from None


def writers(
    sobject: str, operation: str, key: str | None, config: WriterConfig, rest: RestClient, bulk: BulkClient
) -> dict[str, Any]:
    """The StreamPlan fields that choose between Collections, Bulk API 2.0 and Platform Event publishing."""
    if is_event(sobject):
        return {"collections": PlatformEventWriter(rest, sobject)}
    # Collections is there even with api bulk: records holding the text #N/A go through it (Bulk reads it as null),
    # and so do the last records of a Bulk job that failed as a whole (StreamPlan._rescue).
    chosen: dict[str, Any] = {
        "collections": CollectionsWriter(
            rest,
            sobject,
            operation,
            external_id_field=key,
            auto_assign_header=config.auto_assign_header,
            concurrency=config.concurrency,
        )
    }
    bulk_cannot_assign = config.auto_assign and not config.assignment_rule_id and sobject in ASSIGNMENT_RULE_OBJECTS
    if config.api == "collections" or (config.api == "auto" and bulk_cannot_assign):
        return chosen  # Bulk could not honour Auto Assign TRUE without a rule id: auto stays on Collections
    chosen["bulk"] = bulk
    chosen["bulk_options"] = {
        "external_id_field": key,
        "assignment_rule_id": config.assignment_rule_id if config.auto_assign else None,
        "max_bytes": config.bulk_job_size_mb * 1_000_000,
        "max_records": CONCURRENT_JOB_RECORDS if config.concurrency > 1 else None,
        "concurrency": config.concurrency,
        "keep_data": config.rejected_records_path is not None,
    }
    chosen["bulk_threshold"] = config.bulk_threshold if config.api == "auto" else None
    return chosen

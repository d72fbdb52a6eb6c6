"""What to do with one stream: the Salesforce operation its sync mode asks for, the mapper and the writer,
and the checks (against the object's describe) that the configuration can work."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import DestinationSyncMode
from salesforce_api import BulkClient, RestClient
from salesforce_api.errors import ConfigError

from destination_salesforce.bulk_jobs import BulkJobs, BulkWriter, Failures
from destination_salesforce.mapping import PreparedRecord, RecordMapper, dedupe_last_wins, field_limits, split_rounds
from destination_salesforce.resolve import resolve_ids
from destination_salesforce.spec import WriterConfig
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


def is_event(sobject: str) -> bool:
    return sobject.endswith("__e")


def choose_operation(sync_mode: DestinationSyncMode, config: WriterConfig, sobject: str) -> tuple[str, bool]:
    """(operation, dedupe) for a stream; ConfigError for a combination that cannot work."""
    if sync_mode == DestinationSyncMode.overwrite:
        raise ConfigError(
            "The overwrite sync mode is not supported: emptying a Salesforce object is too dangerous. "
            "Use append, append_dedup (upsert), update or soft_delete.",
            setting="destination_sync_mode",
        )
    if is_event(sobject):
        if sync_mode != DestinationSyncMode.append or config.operation not in (None, "insert"):
            raise ConfigError(
                f"{sobject} is a Platform Event: events can only be published (append sync mode, insert operation).",
                setting="operation",
            )
        return "insert", False
    if sync_mode == DestinationSyncMode.append_dedup:
        if not config.external_id_field:
            raise ConfigError("The append_dedup sync mode upserts: set external_id_field.", setting="external_id_field")
        return "upsert", True
    if sync_mode == DestinationSyncMode.update:
        return "update", False
    if sync_mode == DestinationSyncMode.soft_delete:
        return "delete", False
    operation = config.operation or ("upsert" if config.external_id_field else "insert")
    if operation == "upsert" and not config.external_id_field:
        raise ConfigError("The upsert operation needs external_id_field.", setting="external_id_field")
    return operation, False


def _relationship_fields(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["relationshipName"]: f for f in describe["fields"] if f.get("relationshipName")}


def problems(describe: Mapping[str, Any], config: WriterConfig, operation: str) -> list[str]:
    """Everything in the configuration that Salesforce would refuse for this object, each naming what to change."""
    sobject = describe["name"]
    found: list[str] = []
    need = {"insert": ("createable",), "update": ("updateable",), "upsert": ("createable", "updateable"),
            "delete": ()}[operation]  # fmt: skip
    for flag in need:
        if not describe.get(flag, False):
            found.append(f"object {sobject} is not {flag} for this user (operation {operation})")
    if operation == "delete" and not describe.get("deletable", False):
        found.append(f"object {sobject} is not deletable for this user")
    fields = {f["name"]: f for f in describe["fields"]}
    relationships = _relationship_fields(describe)
    if config.external_id_field:
        ext = fields.get(config.external_id_field)
        if ext is None:
            found.append(f"external_id_field {config.external_id_field} is not a field of {sobject}")
        elif not (ext.get("externalId") or ext["name"] == "Id"):
            found.append(f"external_id_field {config.external_id_field} of {sobject} is not an External ID field")
    if operation == "delete":
        return found  # only the key is read: the other columns do not matter
    for rule in config.column_mapping:
        target = rule.target
        if "." in target:
            relationship, parent_field = target.split(".", 1)
            field = relationships.get(relationship)
            if field is None:
                found.append(f"column_mapping target {target}: {sobject} has no relationship {relationship}")
                continue
        else:
            field = fields.get(target)
            if field is None:
                found.append(f"column_mapping target {target} is not a field of {sobject}")
                continue
            if target == "Id" and operation in ("update", "upsert"):
                continue
        for flag in need:
            if not field.get(flag, False):
                found.append(f"column_mapping target {target} of {sobject} is not {flag}")
    if (
        operation != "delete"
        and config.api == "bulk"
        and config.auto_assign
        and not config.assignment_rule_id
        and sobject in ASSIGNMENT_RULE_OBJECTS
    ):
        found.append("Bulk API 2.0 runs assignment rules only by id: set assignment_rule_id, or use api collections")
    return found


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
    collections: Writer | None = None
    bulk: BulkClient | None = None
    bulk_options: dict[str, Any] = field(default_factory=dict)
    bulk_threshold: int | None = None  # api auto: smaller writes go through Collections; None: always Bulk
    rescue: Writer | None = None  # Collections, for the records of Bulk jobs that fail as a whole (see _rescue)

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
            self.collections is None
            or self.bulk_threshold is None
            or len(batch) >= self.bulk_threshold
            or self.jobs.oldest_position() is not None
        )
        rounds = split_rounds(batch, self.external_id_field) if self.operation == "upsert" else [batch]
        for round_ in rounds:
            if not round_:
                continue
            if use_bulk and self.jobs is not None:
                failures.extend(self.jobs.add(round_))
            elif self.collections is not None:
                outcomes = write_with_retries(self.collections, round_, self.logger)
                failures.extend((r, o) for r, o in zip(round_, outcomes, strict=True) if not o.success)
        if not gather:
            failures.extend(self.settle())
        return failures

    def unsettled_from(self) -> int | None:
        """The smallest stream position written but without an outcome yet (None: every outcome is known)."""
        return self.jobs.oldest_position() if self.jobs is not None else None

    def settle(self) -> Failures:
        return self.jobs.settle() if self.jobs is not None else []

    def close(self) -> None:
        if self.jobs is not None:
            self.jobs.close()

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
        if len(records) <= RESCUE_MIN and self.rescue is not None:
            outcomes = write_with_retries(self.rescue, records, self.logger)
            return [(r, o) for r, o in zip(records, outcomes, strict=True) if not o.success]
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
    stream: str,
    sobject: str,
    sync_mode: DestinationSyncMode,
    describe: Mapping[str, Any],
    config: WriterConfig,
    rest: RestClient,
    bulk: BulkClient,
    logger: logging.Logger,
) -> StreamPlan:
    operation, dedupe = choose_operation(sync_mode, config, sobject)
    found = problems(describe, config, operation)
    if found:
        raise ConfigError(f"Stream {stream} -> {sobject}: " + "; ".join(found), setting="column_mapping")
    types = {f["name"]: f["type"] for f in describe["fields"]}
    writable_flag = "createable" if operation == "insert" else "updateable"
    passthrough = {f["name"] for f in describe["fields"] if f.get(writable_flag)}
    if operation == "upsert":
        passthrough = {f["name"] for f in describe["fields"] if f.get("createable") or f.get("updateable")}
    passthrough.discard("Id")
    if operation in ("update", "delete"):
        passthrough.add("Id")
    if config.external_id_field:
        passthrough.add(config.external_id_field)
    key_fields = [k for k in (config.external_id_field, "Id") if k]
    mapper = RecordMapper(config.column_mapping, types, key_fields, passthrough, field_limits(describe["fields"]))
    return StreamPlan(
        stream, sobject, operation, dedupe, mapper, rest, config.external_id_field, logger,
        **writers(sobject, operation, config, rest, bulk),
    )  # fmt: skip


def writers(sobject: str, operation: str, config: WriterConfig, rest: RestClient, bulk: BulkClient) -> dict[str, Any]:
    """The StreamPlan fields that choose between Collections, Bulk API 2.0 and Platform Event publishing."""
    if is_event(sobject):
        return {"collections": PlatformEventWriter(rest, sobject)}
    chosen: dict[str, Any] = {}
    if config.api != "bulk":
        chosen["collections"] = CollectionsWriter(
            rest, sobject, operation, external_id_field=config.external_id_field,
            auto_assign_header=config.auto_assign_header,
        )  # fmt: skip
    bulk_cannot_assign = config.auto_assign and not config.assignment_rule_id and sobject in ASSIGNMENT_RULE_OBJECTS
    if config.api == "collections" or (config.api == "auto" and bulk_cannot_assign):
        return chosen  # Bulk could not honour Auto Assign TRUE without a rule id: auto stays on Collections
    chosen["bulk"] = bulk
    chosen["rescue"] = chosen.get("collections") or CollectionsWriter(
        rest, sobject, operation, external_id_field=config.external_id_field,
        auto_assign_header=config.auto_assign_header,
    )  # fmt: skip
    chosen["bulk_options"] = {
        "external_id_field": config.external_id_field,
        "assignment_rule_id": config.assignment_rule_id if config.auto_assign else None,
        "max_bytes": config.bulk_job_size_mb * 1_000_000,
        "keep_data": config.rejected_records_path is not None,
    }
    chosen["bulk_threshold"] = config.bulk_threshold if config.api == "auto" else None
    return chosen

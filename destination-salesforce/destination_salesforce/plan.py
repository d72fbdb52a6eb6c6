"""What to do with one stream: the Salesforce operation its sync mode asks for, the mapper and the writer,
and the checks (against the object's describe) that the configuration can work."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import DestinationSyncMode
from salesforce_api import BulkClient, RestClient
from salesforce_api.errors import ConfigError

from destination_salesforce.mapping import PreparedRecord, RecordMapper, dedupe_last_wins, split_rounds
from destination_salesforce.resolve import resolve_ids
from destination_salesforce.spec import WriterConfig
from destination_salesforce.writers import (
    AutoWriter,
    BulkWriter,
    CollectionsWriter,
    Outcome,
    PlatformEventWriter,
    Writer,
    write_with_retries,
)

ASSIGNMENT_RULE_OBJECTS = {"Lead", "Case"}  # Bulk API 2.0's assignmentRuleId applies to these


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
    stream: str
    sobject: str
    operation: str
    dedupe: bool
    mapper: RecordMapper
    writer: Writer
    rest: RestClient
    external_id_field: str | None
    logger: logging.Logger

    def write(self, records: Sequence[PreparedRecord]) -> list[tuple[PreparedRecord, Outcome]]:
        """Every record with its final outcome (retries done)."""
        done: list[tuple[PreparedRecord, Outcome]] = []
        batch = list(records)
        if self.dedupe and self.external_id_field:
            batch, superseded = dedupe_last_wins(batch, self.external_id_field)
            # A superseded record is merged into the later one with the same key: it is written through it.
            done.extend((r, Outcome(True)) for r in superseded)
        if self.operation in ("update", "delete") and self.external_id_field:
            failures = resolve_ids(self.rest, self.sobject, self.external_id_field, batch)
            done.extend((r, failures[r.position]) for r in batch if r.position in failures)
            batch = [r for r in batch if r.position not in failures]
            if self.operation == "update":
                for r in batch:
                    r.values.pop(self.external_id_field, None)
        rounds = split_rounds(batch, self.external_id_field) if self.operation == "upsert" else [batch]
        for round_ in rounds:
            if round_:
                done.extend(zip(round_, write_with_retries(self.writer, round_, self.logger), strict=True))
        return done


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
    mapper = RecordMapper(config.column_mapping, types, key_fields, passthrough)
    writer = make_writer(sobject, operation, config, rest, bulk)
    return StreamPlan(stream, sobject, operation, dedupe, mapper, writer, rest, config.external_id_field, logger)


def make_writer(sobject: str, operation: str, config: WriterConfig, rest: RestClient, bulk: BulkClient) -> Writer:
    if is_event(sobject):
        return PlatformEventWriter(rest, sobject)
    collections = CollectionsWriter(
        rest, sobject, operation, external_id_field=config.external_id_field,
        auto_assign_header=config.auto_assign_header,
    )  # fmt: skip
    bulk_writer = BulkWriter(
        bulk, sobject, operation, external_id_field=config.external_id_field,
        assignment_rule_id=config.assignment_rule_id if config.auto_assign else None,
    )  # fmt: skip
    if config.api == "collections":
        return collections
    if config.api == "bulk":
        return bulk_writer
    if config.auto_assign and not config.assignment_rule_id and sobject in ASSIGNMENT_RULE_OBJECTS:
        return collections  # Bulk could not honour Auto Assign TRUE without a rule id
    return AutoWriter(collections, bulk_writer, config.bulk_threshold)

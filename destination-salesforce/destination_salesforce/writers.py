"""The write paths behind one interface: `write(records) -> one Outcome per record, in order`.

- CollectionsWriter: sObject Collections, 200 records per call, allOrNone=false, Sforce-Auto-Assign explicit.
- BulkWriter: one Bulk API 2.0 ingest (split into jobs under 100 MB by salesforce_api); results are matched back to
  records by the uploaded row, since Bulk returns them unordered and without row numbers.
- PlatformEventWriter: Collections inserts into an `X__e`, each event judged by `success` (a published event may
  carry an OPERATION_ENQUEUED entry in `errors`).
- AutoWriter picks Bulk or Collections by the size of the flush.

`write_with_retries` resubmits the records whose failure is retryable (row locks, unprocessed Bulk rows) and
turns an exhausted event allocation into a fatal error.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from salesforce_api import BulkClient, RestClient
from salesforce_api.errors import QuotaExceededError

from destination_salesforce.mapping import PreparedRecord, csv_value, json_body

COLLECTION_SIZE = 200
RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "PLATFORM_EVENT_PUBLISHING_UNAVAILABLE", "UNPROCESSED", "RESULT_MISSING"}
FATAL_CODES = {"LIMIT_EXCEEDED"}  # the hourly Platform Event allocation: every further event would fail too


@dataclass(frozen=True)
class Outcome:
    success: bool
    record_id: str | None = None
    code: str = ""
    message: str = ""
    fields: Sequence[str] = field(default_factory=tuple)

    @classmethod
    def failure(cls, code: str, message: str, fields: Sequence[str] = ()) -> Outcome:
        return cls(False, None, code, message, tuple(fields))


class Writer(Protocol):
    def write(self, records: Sequence[PreparedRecord]) -> list[Outcome]: ...


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _outcome(result: Any) -> Outcome:
    if result.success:
        return Outcome(True, result.id)
    first = result.errors[0] if result.errors else None
    if first is None:
        return Outcome.failure("UNKNOWN_ERROR", "Salesforce reported a failure without an error")
    return Outcome(False, result.id, first.status_code, first.message, tuple(first.fields))


class CollectionsWriter:
    def __init__(
        self,
        rest: RestClient,
        sobject: str,
        operation: str,
        *,
        external_id_field: str | None = None,
        auto_assign_header: str = "FALSE",
    ) -> None:
        self.rest = rest
        self.sobject = sobject
        self.operation = operation
        self.external_id_field = external_id_field
        self.headers = {"Sforce-Auto-Assign": auto_assign_header}

    def write(self, records: Sequence[PreparedRecord]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for chunk in _chunks(records, COLLECTION_SIZE):
            outcomes.extend(self._write_chunk(chunk))
        return outcomes

    def _write_chunk(self, chunk: Sequence[PreparedRecord]) -> list[Outcome]:
        if self.operation == "delete":
            return self._delete(chunk)
        key = "Id" if self.operation == "update" else self.external_id_field
        if key is not None:
            sendable = [r for r in chunk if r.values.get(key) not in (None, "")]
        else:
            sendable = list(chunk)
        bodies = [json_body(r.values) for r in sendable]
        results: list[Any] = []
        if bodies:
            if self.operation == "insert":
                results = self.rest.create(self.sobject, bodies, headers=self.headers)
            elif self.operation == "update":
                results = self.rest.update(self.sobject, bodies, headers=self.headers)
            elif self.operation == "upsert":
                results = self.rest.upsert(self.sobject, self.external_id_field, bodies, headers=self.headers)
            else:
                raise ValueError(f"unknown operation {self.operation}")
        by_position = {r.position: _outcome(res) for r, res in zip(sendable, results, strict=True)}
        return [by_position.get(r.position) or _missing_key(key) for r in chunk]

    def _delete(self, chunk: Sequence[PreparedRecord]) -> list[Outcome]:
        sendable = [r for r in chunk if r.values.get("Id") not in (None, "")]
        results = self.rest.delete([str(r.values["Id"]) for r in sendable]) if sendable else []
        by_position = {r.position: _outcome(res) for r, res in zip(sendable, results, strict=True)}
        return [by_position.get(r.position) or _missing_key("Id") for r in chunk]


def _missing_key(key: str | None) -> Outcome:
    return Outcome.failure("MISSING_KEY", f"the record has no value for {key}, which this operation needs", [key or ""])


class PlatformEventWriter(CollectionsWriter):
    """Publishing is inserting into the event object; only insert exists for events."""

    def __init__(self, rest: RestClient, event: str) -> None:
        super().__init__(rest, event, "insert")


class BulkWriter:
    def __init__(
        self,
        bulk: BulkClient,
        sobject: str,
        operation: str,
        *,
        external_id_field: str | None = None,
        assignment_rule_id: str | None = None,
    ) -> None:
        self.bulk = bulk
        self.sobject = sobject
        self.operation = operation
        self.external_id_field = external_id_field
        self.assignment_rule_id = assignment_rule_id

    def write(self, records: Sequence[PreparedRecord]) -> list[Outcome]:
        key = {"update": "Id", "delete": "Id", "upsert": self.external_id_field}.get(self.operation)
        outcomes: list[Outcome | None] = [None] * len(records)
        sendable: list[int] = []
        for i, record in enumerate(records):
            if key is not None and record.values.get(key) in (None, ""):
                outcomes[i] = _missing_key(key)
            else:
                sendable.append(i)
        if self.operation == "delete":
            header = ["Id"]
        else:
            header = sorted({name for i in sendable for name in records[i].values})
        # An absent value is an empty cell (field left unchanged); null is #N/A (field cleared).
        rows = [[_cell(records[i].values, name) for name in header] for i in sendable]
        waiting: dict[tuple[str, ...], deque[int]] = defaultdict(deque)
        for i, row in zip(sendable, rows, strict=True):
            waiting[tuple(row)].append(i)

        def claim(result_row: dict[str, str]) -> int | None:
            queue = waiting.get(tuple(result_row.get(name, "") for name in header))
            return queue.popleft() if queue else None

        if rows:
            jobs = self.bulk.ingest(
                self.sobject,
                self.operation,
                header,
                rows,
                external_id_field=self.external_id_field if self.operation == "upsert" else None,
                assignment_rule_id=self.assignment_rule_id,
            )
            for job in jobs:
                for row in job.successful_results():
                    if (i := claim(row)) is not None:
                        outcomes[i] = Outcome(True, row.get("sf__Id") or None)
                for row in job.failed_results():
                    if (i := claim(row)) is not None:
                        code, message, fields = parse_bulk_error(row.get("sf__Error", ""))
                        outcomes[i] = Outcome(False, row.get("sf__Id") or None, code, message, fields)
                if job.state in ("Failed", "Aborted"):
                    for row in job.unprocessed_records():
                        if (i := claim(row)) is not None:
                            outcomes[i] = Outcome.failure("UNPROCESSED", f"job {job.id} ended {job.state}")
        return [o or Outcome.failure("RESULT_MISSING", "Bulk API returned no result for this record") for o in outcomes]


def _cell(values: dict[str, Any], name: str) -> str:
    return csv_value(values[name]) if name in values else ""


def parse_bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """`STATUS_CODE:message:field1,field2 --` -> (code, message, fields)."""
    text = text.strip()
    if text.endswith("--"):
        text = text[:-2].rstrip()
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":") if rest.count(":") else (rest, "", "")
    return code or "UNKNOWN_ERROR", message.strip(), tuple(f for f in fields.strip().split(",") if f)


class AutoWriter:
    """Bulk API 2.0 for flushes of at least `threshold` records, Collections below."""

    def __init__(self, collections: Writer, bulk: Writer, threshold: int) -> None:
        self.collections = collections
        self.bulk = bulk
        self.threshold = threshold

    def write(self, records: Sequence[PreparedRecord]) -> list[Outcome]:
        return (self.bulk if len(records) >= self.threshold else self.collections).write(records)


def write_with_retries(
    writer: Writer,
    records: Sequence[PreparedRecord],
    logger: logging.Logger,
    *,
    attempts: int = 5,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    """Write, then resubmit only the records that failed for a retryable reason (they were not written)."""
    outcomes: list[Outcome] = [Outcome.failure("RESULT_MISSING", "not written")] * len(records)
    pending = list(range(len(records)))
    for attempt in range(attempts):
        results = writer.write([records[i] for i in pending])
        retry: list[int] = []
        for i, outcome in zip(pending, results, strict=True):
            if outcome.code in FATAL_CODES:
                raise QuotaExceededError(f"{outcome.code}: {outcome.message}")
            outcomes[i] = outcome
            if not outcome.success and outcome.code in RETRYABLE_CODES:
                retry.append(i)
        if not retry or attempt == attempts - 1:
            break
        logger.info("Retrying %d records after %s", len(retry), outcomes[retry[0]].code)
        sleep(random.uniform(0, backoff * 2**attempt))
        pending = retry
    return outcomes

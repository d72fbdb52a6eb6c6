"""The write paths behind one interface: `write(records) -> one Outcome per record, in order`.

- CollectionsWriter: sObject Collections, 200 records per call, allOrNone=false, Sforce-Auto-Assign explicit; up to
  `concurrency` calls in flight, a call holding a key (external id or Id) of a call in flight sent only after it.
- BulkWriter (bulk_jobs.py): Bulk API 2.0 ingest jobs.
- PlatformEventWriter: Collections inserts into an `X__e`, each event judged by `success` (a published event may
  carry an OPERATION_ENQUEUED entry in `errors`), one call at a time so that events are published in order.

`write_with_retries` resubmits the records whose failure is retryable (row locks, unprocessed Bulk rows) and
turns an exhausted event allocation into a fatal error.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from salesforce_api import RestClient
from salesforce_api.errors import QuotaExceededError

from destination_salesforce.mapping import PreparedRecord, json_body

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
        concurrency: int = 1,
    ) -> None:
        self.rest = rest
        self.sobject = sobject
        self.operation = operation
        self.external_id_field = external_id_field
        self.headers = {"Sforce-Auto-Assign": auto_assign_header}
        self.concurrency = max(1, concurrency)
        self.key_field = {"update": "Id", "delete": "Id", "upsert": external_id_field}.get(operation)
        self._pool: ThreadPoolExecutor | None = None

    def write(self, records: Sequence[PreparedRecord]) -> list[Outcome]:
        """One outcome per record, in order. Calls go out `concurrency` at a time; a call holding a key that a call
        in flight holds waits for it (and for the calls before it), so that writes of one key land in order."""
        chunks = list(_chunks(records, COLLECTION_SIZE))
        if self.concurrency == 1 or len(chunks) <= 1:
            return [outcome for chunk in chunks for outcome in self._write_chunk(chunk)]
        if self._pool is None:
            name = f"collections-{self.sobject}"
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=name)
        outcomes: list[Outcome] = []
        window: deque[tuple[Future[list[Outcome]], set[Any]]] = deque()  # calls in flight, oldest first
        try:
            for chunk in chunks:
                keys = self._keys(chunk)
                last = max((i for i, (_, held) in enumerate(window) if not keys.isdisjoint(held)), default=-1)
                while window and (last >= 0 or len(window) >= self.concurrency):
                    outcomes.extend(window.popleft()[0].result())
                    last -= 1
                window.append((self._pool.submit(self._write_chunk, chunk), keys))
            while window:
                outcomes.extend(window.popleft()[0].result())
        finally:
            for future, _ in window:  # after a failed call: the ones not started yet are not sent
                future.cancel()
        return outcomes

    def _keys(self, chunk: Sequence[PreparedRecord]) -> set[Any]:
        if self.key_field is None:
            return set()
        return {r.values.get(self.key_field) for r in chunk} - {None, ""}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

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
        return [by_position.get(r.position) or missing_key(key) for r in chunk]

    def _delete(self, chunk: Sequence[PreparedRecord]) -> list[Outcome]:
        sendable = [r for r in chunk if r.values.get("Id") not in (None, "")]
        results = self.rest.delete([str(r.values["Id"]) for r in sendable]) if sendable else []
        by_position = {r.position: _outcome(res) for r, res in zip(sendable, results, strict=True)}
        return [by_position.get(r.position) or missing_key("Id") for r in chunk]


def missing_key(key: str | None) -> Outcome:
    return Outcome.failure("MISSING_KEY", f"the record has no value for {key}, which this operation needs", [key or ""])


class PlatformEventWriter(CollectionsWriter):
    """Publishing is inserting into the event object; only insert exists for events."""

    def __init__(self, rest: RestClient, event: str) -> None:
        super().__init__(rest, event, "insert")


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

"""Bulk API 2.0 ingest jobs gathered on disk, and the outcome of each record read back from its job.

`BulkJobs` collects the records of one stream into a CSV file (in memory while small, then on disk) until the job
would pass `max_bytes` or `max_records`, a field appears that the file's header lacks, or a key (external id or Id)
repeats. Then the job is uploaded (by a background thread) and Salesforce processes it while the next one gathers.
Up to `concurrency` jobs per stream are in flight at once, settled oldest first. A job holding a key that a job in
flight also holds is uploaded only once that job is settled: Salesforce runs jobs in flight in parallel, so two
writes of one key in two of them could land in either order.

Beside the CSV, each record is kept (pickled, also spooled to disk) in row order. A job whose counters say that every
row was processed and none failed is settled without downloading anything. Otherwise its failed (and, for a failed
job, unprocessed) rows are matched back to the kept records by their CSV cells, since Bulk returns result rows
unordered and without row numbers; only when that leaves rows unaccounted for are the successful rows downloaded too.
"""

from __future__ import annotations

import logging
import pickle
import tempfile
from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from salesforce_api import BulkClient
from salesforce_api.bulk import MAX_JOB_BYTES, IngestJob, csv_bytes

from destination_salesforce.mapping import PreparedRecord, csv_value
from destination_salesforce.writers import Outcome, missing_key

logger = logging.getLogger("airbyte")

SPOOL_BYTES = 8_000_000  # each file stays in memory up to this size, then moves to the temp directory
SUCCESS = Outcome(True)
Failures = list[tuple[PreparedRecord, Outcome]]


def _cell(values: dict[str, Any], name: str) -> str:
    # An absent value is an empty cell (field left unchanged); null is #N/A (field cleared).
    return csv_value(values[name]) if name in values else ""


def _row_hash(cells: Sequence[str]) -> int:
    # A hash, not the row: matching needs little memory even when a whole job of 100 MB fails.
    return hash(tuple(cells))


@dataclass
class _Part:
    """One job's worth of records: the CSV to upload and the records in the same order."""

    header: list[str]
    csv: IO[bytes]
    records: IO[bytes]
    size: int
    count: int = 0
    oldest: int | None = None  # smallest stream position held
    keys: array[int] = field(default_factory=lambda: array("q"))  # hashes of the keys: 8 bytes each
    after: int = 0  # the newest job in flight that holds one of these keys: this one is uploaded once it is settled

    @classmethod
    def new(cls, header: list[str], spool_bytes: int = SPOOL_BYTES) -> _Part:
        head = csv_bytes([header])
        spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 - closed by upload
        spool.write(head)
        records = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 - closed once settled
        return cls(header, spool, records, len(head))

    def add(self, records: Sequence[PreparedRecord], rows: bytes, keys: set[int], keep_data: bool) -> None:
        self.csv.write(rows)
        self.size += len(rows)
        for r in records:
            kept = (r.position, r.key, r.values, r.data if keep_data else None)
            self.records.write(pickle.dumps(kept, pickle.HIGHEST_PROTOCOL))
        self.count += len(records)
        first = min(r.position for r in records)
        self.oldest = first if self.oldest is None else min(self.oldest, first)
        self.keys.extend(keys)

    def read_records(self) -> Iterator[PreparedRecord]:
        self.records.seek(0)
        for _ in range(self.count):
            position, key, values, data = pickle.load(self.records)  # noqa: S301 - this process's own temp file
            yield PreparedRecord(position, key, values, {} if data is None else data)

    def close(self) -> None:
        self.csv.close()
        self.records.close()


@dataclass
class _InFlight:
    """A job handed to the upload thread: `upload` gives its id once it is created, filled and closed."""

    seq: int
    part: _Part
    upload: Future[str]


class BulkJobs:
    def __init__(
        self,
        bulk: BulkClient,
        sobject: str,
        operation: str,
        *,
        external_id_field: str | None = None,
        assignment_rule_id: str | None = None,
        max_bytes: int = MAX_JOB_BYTES,
        max_records: int | None = None,
        concurrency: int = 1,
        keep_data: bool = True,
        on_settled: Callable[[Failures], Failures] = lambda failures: failures,
    ) -> None:
        """`on_settled` sees each settled job's failures before any later job holding one of their keys is uploaded
        (to write retryable ones again while no later write of the key can overtake them) and returns those that
        remain. Without `keep_data`, a failed record comes back without its incoming data (kept only for a
        rejected-records file)."""
        self.bulk = bulk
        self.sobject = sobject
        self.operation = operation
        self.external_id_field = external_id_field if operation == "upsert" else None
        self.assignment_rule_id = assignment_rule_id
        self.max_bytes = max_bytes
        self.max_records = max_records
        self.concurrency = max(1, concurrency)
        self.on_settled = on_settled
        self.keep_data = keep_data
        self.key_field = {"update": "Id", "delete": "Id", "upsert": external_id_field}.get(operation)
        self.open: _Part | None = None
        self.in_flight: deque[_InFlight] = deque()  # oldest first
        self.submitted = 0
        self._uploader: ThreadPoolExecutor | None = None

    def oldest_position(self) -> int | None:
        """The smallest stream position of a record whose outcome is not known yet."""
        parts = [self.open, *(job.part for job in self.in_flight)]
        return min((p.oldest for p in parts if p is not None and p.oldest is not None), default=None)

    def add(self, records: Sequence[PreparedRecord]) -> Failures:
        """Gather `records`; returns the failures settled meanwhile (records without a key, earlier jobs)."""
        failures: Failures = []
        sendable = []
        for record in records:
            if self.key_field is not None and record.values.get(self.key_field) in (None, ""):
                failures.append((record, missing_key(self.key_field)))
            else:
                sendable.append(record)
        if any(job.upload.done() and job.upload.exception() is not None for job in self.in_flight):
            while self.in_flight:  # an upload failed: fail now (settling up to it raises its error), not jobs later
                failures.extend(self._settle_oldest())
        if sendable:
            failures.extend(self._gather(sendable))
        return failures

    def _gather(self, records: Sequence[PreparedRecord]) -> Failures:
        failures: Failures = []
        if self.max_records and len(records) > self.max_records:
            cut = self.max_records
            return self._gather(records[:cut]) + self._gather(records[cut:])
        if self.operation == "delete":
            header = ["Id"]
        else:
            header = sorted({name for r in records for name in r.values})
        same_header = self.open is not None and set(header) <= set(self.open.header)
        if same_header and self.open is not None:
            header = self.open.header  # fields these records lack are empty cells: left unchanged
        rows = csv_bytes([_cell(r.values, name) for name in header] for r in records)
        if len(csv_bytes([header])) + len(rows) > self.max_bytes and len(records) > 1:
            half = len(records) // 2
            return self._gather(records[:half]) + self._gather(records[half:])
        keys = {hash(r.values[self.key_field]) for r in records} if self.key_field else set()
        part = self.open
        if part is not None and (
            not same_header
            or part.size + len(rows) > self.max_bytes
            or (self.max_records is not None and part.count + len(records) > self.max_records)
            or not keys.isdisjoint(part.keys)
        ):
            failures.extend(self.submit())
            part = None
        if part is None:
            # The parts held at once (the gathering one and those in flight) share the memory two parts used to.
            part = self.open = _Part.new(header, max(1_000_000, 2 * SPOOL_BYTES // (self.concurrency + 1)))
        if keys:
            # Newest first: a job holding one of these keys is waited for, and so are the jobs before it. No job
            # goes in flight while this part gathers, so these are all the jobs the part must not overtake.
            for job in reversed(self.in_flight):
                if job.seq <= part.after:
                    break
                if not keys.isdisjoint(job.part.keys):
                    part.after = job.seq
                    break
        part.add(records, rows, keys, self.keep_data)
        return failures

    def submit(self) -> Failures:
        """Hand the gathering job to the upload thread, once the jobs it must follow are settled and there is room
        in flight; returns the failures settled."""
        if self.open is None:
            return []
        part, self.open = self.open, None
        failures: Failures = []
        try:
            while self.in_flight and (self.in_flight[0].seq <= part.after or len(self.in_flight) >= self.concurrency):
                failures.extend(self._settle_oldest())
        except BaseException:
            part.close()
            raise
        if self._uploader is None:
            # One thread: jobs are created in the order they gathered; this thread goes on gathering meanwhile.
            self._uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"bulk-upload-{self.sobject}")
        self.submitted += 1
        self.in_flight.append(_InFlight(self.submitted, part, self._uploader.submit(self._upload, part)))
        return failures

    def _upload(self, part: _Part) -> str:
        try:
            job_id = self.bulk.start_ingest(
                self.sobject, self.operation, part.csv,
                external_id_field=self.external_id_field, assignment_rule_id=self.assignment_rule_id,
            )  # fmt: skip
        except BaseException:
            part.close()
            raise
        logger.info("Bulk job %s: %d records for %s uploaded (%d bytes)", job_id, part.count, self.sobject, part.size)
        return job_id

    def settle(self) -> Failures:
        """Upload what is gathered and wait for every job: afterwards each record has its outcome."""
        failures = self.submit()
        while self.in_flight:
            failures.extend(self._settle_oldest())
        return failures

    def close(self) -> None:
        if self._uploader is not None:
            # An upload under way finishes (its job then runs without us); queued ones are dropped.
            self._uploader.shutdown(wait=True, cancel_futures=True)
            self._uploader = None
        for part in (self.open, *(job.part for job in self.in_flight)):
            if part is not None:
                part.close()
        self.open = None
        self.in_flight.clear()

    def _settle_oldest(self) -> Failures:
        flight = self.in_flight.popleft()
        part = flight.part
        try:
            job_id = flight.upload.result()
            job = self.bulk.wait_ingest(job_id, expected_records=part.count)
            if job.state in ("Failed", "Aborted"):
                logger.warning(
                    "Bulk job %s for %s ended %s: %s", job_id, self.sobject, job.state, job.error_message or "no reason"
                )
            failures = _failures(job, part)
        finally:
            part.close()
        failures = self.on_settled(failures)
        logger.info("Bulk job %s %s: %d records, %d rejected", job_id, job.state, part.count, len(failures))
        return failures


def _failures(job: IngestJob, part: _Part) -> Failures:
    if job.state == "JobComplete" and job.records_processed == part.count and job.records_failed == 0:
        return []  # the counters account for every row: nothing to download
    found = _match(job, part, with_successes=False)
    if found is not None:
        return found
    return _match(job, part, with_successes=True) or []


def _match(job: IngestJob, part: _Part, *, with_successes: bool) -> Failures | None:
    """The failed records, matched by their CSV cells to the job's result rows. Without the successful rows, a record
    no result row claims is a success, which holds only when the counters and the rows agree: None when they do not."""
    results: dict[int, list[Outcome]] = defaultdict(list)

    def gather(rows: Iterator[dict[str, str]], outcome_of: Any) -> int:
        count = 0
        for row in rows:
            results[_row_hash([row.get(name, "") for name in part.header])].append(outcome_of(row))
            count += 1
        return count

    failed = gather(job.failed_results(), _failed_outcome)
    unprocessed = 0
    if job.state in ("Failed", "Aborted"):
        outcome = Outcome.failure("UNPROCESSED", f"job {job.id} ended {job.state}: {job.error_message or ''}")
        unprocessed = gather(job.unprocessed_records(), lambda row: outcome)
    if with_successes:
        gather(job.successful_results(), lambda row: SUCCESS)
    elif failed != job.records_failed or job.records_processed + unprocessed != part.count:
        return None
    for outcomes in results.values():
        outcomes.reverse()  # popped from the end: the first result row for a CSV row is claimed first
    if job.state in ("Failed", "Aborted"):  # a row without a result was not processed
        missing = Outcome.failure("UNPROCESSED", f"job {job.id} ended {job.state}: {job.error_message or ''}")
    else:
        missing = Outcome.failure("RESULT_MISSING", f"Bulk job {job.id} returned no result for this record")
    failures: Failures = []
    for record in part.read_records():
        claimed = results.get(_row_hash([_cell(record.values, name) for name in part.header]))
        outcome = claimed.pop() if claimed else (missing if with_successes else SUCCESS)
        if not outcome.success:
            failures.append((record, outcome))
    if not with_successes and any(results.values()):
        return None  # a failed row matched no record: which record it was cannot be told without the successes
    return failures


def _failed_outcome(row: dict[str, str]) -> Outcome:
    code, message, fields = parse_bulk_error(row.get("sf__Error", ""))
    return Outcome(False, row.get("sf__Id") or None, code, message, fields)


def parse_bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """`STATUS_CODE:message:field1,field2 --` -> (code, message, fields)."""
    text = text.strip()
    if text.endswith("--"):
        text = text[:-2].rstrip()
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":") if rest.count(":") else (rest, "", "")
    return code or "UNKNOWN_ERROR", message.strip(), tuple(f for f in fields.strip().split(",") if f)


class BulkWriter:
    """The Writer interface over BulkJobs: one settled set of jobs per call (used for retries and real-time mode)."""

    def __init__(self, bulk: BulkClient, sobject: str, operation: str, **options: Any) -> None:
        self.jobs = lambda: BulkJobs(bulk, sobject, operation, **options)

    def write(self, records: Sequence[PreparedRecord]) -> list[Outcome]:
        jobs = self.jobs()
        try:
            failures = jobs.add(records)
            failures.extend(jobs.settle())
        finally:
            jobs.close()
        by_position = {record.position: outcome for record, outcome in failures}
        return [by_position.get(r.position, SUCCESS) for r in records]

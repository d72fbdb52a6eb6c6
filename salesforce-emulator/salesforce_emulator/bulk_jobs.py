"""Bulk API 2.0 jobs: their metadata, the JSON Salesforce shows for them, and the registry that owns them.

Jobs live in memory; their data (uploaded CSV, query results, ingest result files) lives in files of a private
temporary directory, so a million-row job costs disk, not memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from salesforce_emulator.ids import make_id
from salesforce_emulator.values import now_text

JOB_PREFIX = "750"
DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
QUERY_OPERATIONS = {"query", "queryAll"}
INGEST_OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}
TERMINAL_STATES = {"JobComplete", "Failed", "Aborted"}
INGEST_BATCH = 10_000  # Salesforce splits an ingest job into internal batches of this many records


@dataclass
class BulkSettings:
    """Knobs of the emulated Bulk API; tests change them through `/__emulator/bulk`."""

    processing_delay: float = 0.05  # seconds a job waits before processing, so clients do poll
    query_page_size: int = 100_000  # rows of a results page when the client sends no maxRecords
    ingest_batch_size: int = 10_000  # Salesforce's internal batch size for ingest jobs
    max_upload_bytes: int = 150 * 1024 * 1024  # measured after base64 encoding, like Salesforce
    unsupported_objects: list[str] = field(default_factory=list)  # objects Bulk refuses with INVALIDENTITY

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown bulk setting {key!r}")
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Job:
    id: str
    kind: str  # "query" or "ingest"
    operation: str
    object: str
    api_version: str  # "62.0"
    created_by: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    query: str | None = None
    state: str = "Open"
    error_message: str | None = None
    created_date: str = field(default_factory=now_text)
    modstamp: str = field(default_factory=now_text)
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    directory: str = ""
    uploaded: bool = False
    # Query results: bytes of the header line and the row offset index (see bulk_query).
    results: Any = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    # An ingest job held InProgress by a latency profile's row rate: (time.monotonic() it started, rows per second).
    pace: tuple[float, float] | None = None

    @property
    def delimiter(self) -> str:
        return DELIMITERS[self.column_delimiter]

    @property
    def newline(self) -> str:
        return LINE_ENDINGS[self.line_ending]

    @property
    def path(self) -> str:
        return f"/services/data/v{self.api_version}/jobs/{self.kind}/{self.id}"

    def file(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def set_state(self, state: str, error_message: str | None = None) -> None:
        self.state = state
        if error_message is not None:
            self.error_message = error_message
        self.modstamp = now_text()

    # --- JSON shapes -----------------------------------------------------------------------------------------------

    def _head(self) -> dict[str, Any]:
        """The keys every job answer starts with, up to `apiVersion`: the whole answer to a state change."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "state": self.state,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        if self.assignment_rule_id:
            body["assignmentRuleId"] = self.assignment_rule_id
        body.update({"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.api_version)})
        return body

    @property
    def job_type(self) -> str:
        return "V2Query" if self.kind == "query" else "V2Ingest"

    def created(self) -> dict[str, Any]:
        """The create answer: an ingest job's carries its `contentUrl`; neither has counters or `jobType`."""
        body = self._head()
        if self.kind == "ingest":
            body["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        body.update({"lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter})
        return body

    def changed(self) -> dict[str, Any]:
        """The answer to a state change (close, abort): it ends at `apiVersion`."""
        return self._head()

    def info(self) -> dict[str, Any]:
        """GET job info: `jobType` right after `apiVersion`, no `contentUrl`, then the counters and, for a failed job,
        `errorMessage`."""
        body = self._head()
        body.update(
            {"jobType": self.job_type, "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter}
        )
        body["numberRecordsProcessed"] = self.visible_processed()
        if self.kind == "ingest":
            body["numberRecordsFailed"] = self.failed
        body["retries"] = 0
        body["totalProcessingTime"] = self.processing_ms
        if self.kind == "ingest":
            body["apiActiveProcessingTime"] = self.processing_ms
            body["apexProcessingTime"] = 0
        if self.error_message is not None:
            body["errorMessage"] = self.error_message
        return body

    def visible_processed(self) -> int:
        """The processed count a client sees: while a paced ingest job is held InProgress, it grows at the row rate
        in whole internal batches of 10,000 records, as Salesforce counts a batch's records once the batch is done."""
        if self.pace is None or self.state != "InProgress":
            return self.processed
        started, rate = self.pace
        return min(self.processed, int((time.monotonic() - started) * rate)) // INGEST_BATCH * INGEST_BATCH

    def list_entry(self) -> dict[str, Any]:
        body = self._head()
        if self.kind == "ingest":
            body["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        body.update({"lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter})
        body["jobType"] = self.job_type
        return body


class JobRegistry:
    """Every Bulk job of one org, the worker threads that process them and the directory that holds their data."""

    def __init__(self, workers: int = 2) -> None:
        self.settings = BulkSettings()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._root = tempfile.mkdtemp(prefix="sf-emulator-bulk-")
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bulk-job")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._root, True)
        self._closed = False

    def new_job(self, **fields: Any) -> Job:
        with self._lock:
            self._counter += 1
            job_id = make_id(JOB_PREFIX, self._counter)
        directory = os.path.join(self._root, job_id)
        os.mkdir(directory)
        job = Job(id=job_id, directory=directory, **fields)
        with self._lock:
            self._jobs[job_id] = job
        return job

    def get(self, job_id: str, kind: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.kind == kind else None

    def list(self, kind: str) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs.values() if job.kind == kind]

    def delete(self, job: Job) -> None:
        job.cancelled.set()
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.directory, ignore_errors=True)

    def run_later(self, job: Job, work: Any, *, start_delay: float = 0.0, rows_per_second: float = 0.0) -> None:
        """Process `job` on a worker thread after the configured delay (or `start_delay`, when longer).

        `work(job)` does the processing and returns None, or the errorMessage of a Failed job. With
        `rows_per_second`, the job stays InProgress until its rows took that long at that rate, however fast the
        work really was. The waits are timers of the event loop: a waiting job holds no thread.
        """
        loop = asyncio.get_running_loop()
        delay = max(self.settings.processing_delay, start_delay)

        def finish(error: str | None, started: float) -> None:
            job.processing_ms = int((time.monotonic() - started) * 1000)
            if job.cancelled.is_set() or job.state in TERMINAL_STATES:
                return  # aborted (or deleted) while processing
            job.set_state("Failed" if error else "JobComplete", error)

        def run() -> None:
            if job.cancelled.is_set() or job.state in TERMINAL_STATES:
                return
            started = time.monotonic()
            if rows_per_second > 0 and job.kind == "ingest":
                job.pace = (started, rows_per_second)  # paced from the start: the count never runs ahead, then back
            job.set_state("InProgress")
            try:
                error = work(job)
            except Exception as exc:  # a bug in processing must end the job, not leave it InProgress forever
                error = f"InternalServerError : {type(exc).__name__}"
            hold = started + job.processed / rows_per_second - time.monotonic() if rows_per_second > 0 else 0.0
            if hold > 0 and not error:
                loop.call_soon_threadsafe(loop.call_later, hold, finish, error, started)
            else:
                finish(error, started)

        def submit() -> None:
            if not self._closed:
                self._executor.submit(run)

        if delay > 0:
            loop.call_later(delay, submit)
        else:
            submit()

    def close(self) -> None:
        self._closed = True
        for job in self.list("query") + self.list("ingest"):
            job.cancelled.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        with contextlib.suppress(OSError):
            self._finalizer()

"""Bulk API 2.0: query jobs streamed page by page as CSV, and ingest jobs uploaded as one CSV file each."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

import requests
import urllib3

from salesforce_api.errors import ApiError, QueryTimeoutError, TransientError
from salesforce_api.http import SalesforceSession

logger = logging.getLogger("salesforce_api")

QUERY = "query"
INGEST = "ingest"
DONE_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
# Salesforce recommends at most 100 MB of raw CSV per ingest job (the hard limit is 150 MB base64).
MAX_JOB_BYTES = 100_000_000
SPOOL_BYTES = 8_000_000
# Result pages of jobs ahead of the one being read, downloaded and not yet read, for the whole sync (on disk).
DOWNLOAD_AHEAD_BYTES = 1 << 30
JOBS_FULL_ATTEMPTS = 8  # submissions tried while the org's query jobs in progress are at their limit
ESTIMATED_WAIT_MAX = 120.0  # seconds: the longest wait for a job's estimated end before polling again
# The csv module refuses a field over 131,072 characters by default: a Bulk result (query rows, an ingest job's failed
# records) may hold longer values, which must be read like any other.
csv.field_size_limit(2**31 - 1)
_NOT_SUPPORTED_CODES = frozenset({"INVALIDENTITY", "FeatureNotEnabled", "INVALID_TYPE_FOR_OPERATION"})
_NOT_SUPPORTED_WORDS = ("compound", "not supported", "FeatureNotEnabled", "INVALIDENTITY")


class BulkJobError(ApiError):
    """A Bulk job ended Failed or Aborted."""

    def __init__(self, job_id: str, error_message: str, *, error_code: str | None = "BULK_JOB_FAILED") -> None:
        super().__init__(f"Bulk job {job_id} failed: {error_message}", error_code=error_code)
        self.job_id = job_id
        self.error_message = error_message


class BulkQueryTimeoutError(BulkJobError, QueryTimeoutError):
    """A query job that failed with QUERY_TIMEOUT: the same kind of failure as a REST query that timed out."""


class BulkNotSupportedError(ApiError):
    """Bulk API cannot run this query (object not supported, compound fields...): read it through REST."""


def _not_supported(error: ApiError) -> bool:
    return error.error_code in _NOT_SUPPORTED_CODES or any(w in error.message for w in _NOT_SUPPORTED_WORDS)


class _JobPoller:
    def __init__(self, session: SalesforceSession, poll_interval: float, poll_max: float, job_timeout: float) -> None:
        self.session = session
        self.poll_interval = poll_interval
        self.poll_max = poll_max
        self.job_timeout = job_timeout

    def wait(self, kind: str, job_id: str, expected_records: int | None = None) -> dict[str, Any]:
        """Poll until the job is done, backing off x1.5 per poll. Given how many records the job will process, a poll
        that sees it progress is followed by one at its estimated end, so a long job is noticed done neither a whole
        back-off step late nor after a dozen polls."""
        deadline = time.monotonic() + self.job_timeout
        delay = self.poll_interval
        seen: tuple[float, int] | None = None  # (when, numberRecordsProcessed) at the last poll that had progress
        while True:
            info = self.session.get_json(f"jobs/{kind}/{job_id}")
            if info.get("state") in DONE_STATES:
                return info
            now = time.monotonic()
            if now > deadline:
                raise TransientError(f"Bulk {kind} job {job_id} did not finish within {self.job_timeout:g}s.")
            pause = delay
            processed = info.get("numberRecordsProcessed")
            # Past the expected count (records added since it was taken) the estimate means nothing: back off.
            if expected_records and isinstance(processed, int) and 0 < processed < expected_records:
                if seen is not None and processed > seen[1] and now > seen[0]:
                    rate = (processed - seen[1]) / (now - seen[0])
                    # Straight to the estimated end, even past the back-off step: every poll is an API call.
                    pause = max(self.poll_interval, min(ESTIMATED_WAIT_MAX, (expected_records - processed) / rate))
                seen = (now, processed)
            self.session.sleep(pause)
            delay = min(self.poll_max, delay * 1.5)


@dataclass
class BulkQueryResult:
    """A finished query job; `rows()` streams its result pages and deletes the job once read."""

    client: BulkClient
    job_id: str
    number_records: int | None = None
    max_records: int | None = None
    header: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[dict[str, str]]:
        for header, rows in self.pages():
            for row in rows:
                yield dict(zip(header, row, strict=False))

    def pages(self) -> Iterator[tuple[list[str], Iterator[list[str]]]]:
        """Each result page as (header, rows), the job deleted once all are read (see page_files)."""
        for body in self.page_files():
            with io.TextIOWrapper(body, encoding="utf-8", newline="") as text:
                reader = csv.reader(text)
                header = next(reader, None)
                if header is not None:
                    self.header = header
                    yield header, reader

    def page_files(self) -> Iterator[IO[bytes]]:
        """Each result page as a binary file at position 0 (header line first), the job deleted once all are read.
        Close each page when done with it.

        The next page downloads in a background thread while the caller parses this one. A page is fetched whole
        (into a temporary file that stays in memory only while small) before it is handed out, so a body cut short
        in transit is simply fetched again, and memory stays flat whatever the page size.
        """
        session = self.client.session
        path = f"jobs/query/{self.job_id}/results"
        label = f"Bulk query {self.job_id}"

        def fetch(locator: str | None) -> tuple[IO[bytes], str | None]:
            params = {}
            if locator:
                params["locator"] = locator
            if self.max_records:
                params["maxRecords"] = str(self.max_records)
            return _download_csv(session, path, params, label)

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-page")
        finished = False
        try:
            page: Future[tuple[IO[bytes], str | None]] | None = pool.submit(fetch, None)
            while page is not None:
                body, locator = page.result()
                more = bool(locator) and locator != "null"
                page = pool.submit(fetch, locator) if more else None
                with body:
                    yield body
            finished = True
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if finished:
                self.client.delete_job(self.job_id, QUERY, quiet=True)


class DownloadBudget:
    """Bytes of result pages downloaded and not yet read, across jobs: a job ahead downloads its next page only while
    they are under the limit; the job being read never waits (it frees what it reads), so no read waits on another."""

    def __init__(self, limit: int = DOWNLOAD_AHEAD_BYTES) -> None:
        self.limit = limit
        self._held = 0
        self._changed = threading.Condition()

    def wait_for_room(self, urgent: threading.Event) -> None:
        with self._changed:
            while self._held >= self.limit and not urgent.is_set():
                self._changed.wait(0.5)

    def hold(self, size: int) -> None:
        with self._changed:
            self._held += size

    def free(self, size: int) -> None:
        with self._changed:
            self._held -= size
            self._changed.notify_all()


class FetchedAhead:
    """A query job waited for and its result pages downloaded in a background thread, as fast as Salesforce sends
    them, into files on disk: `result()` waits for the job; its pages are read in order while later ones still
    arrive. Reading several jobs this way downloads them side by side (each response's bandwidth is bounded on a
    real org), with memory flat whatever their size and the disk held to `budget` (but for the job being read).
    `close()` stops the download and drops what is left."""

    def __init__(
        self,
        client: BulkClient,
        job_id: str,
        expected_records: int | None = None,
        budget: DownloadBudget | None = None,
    ) -> None:
        self.client, self.job_id = client, job_id
        self._budget = budget or DownloadBudget()
        self._reading = threading.Event()  # set once result() is asked for: this job no longer waits for room
        self._job: Future[BulkQueryResult] = Future()
        self._pages: queue.Queue[IO[bytes] | BaseException | None] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(
            target=self._fetch, args=(expected_records,), name=f"bulk-{job_id}", daemon=True
        )
        self._thread.start()

    def result(self) -> BulkQueryResult:
        """The finished job (raising its failure), its pages read from the download."""
        self._reading.set()
        return self._job.result()

    def _fetch(self, expected_records: int | None) -> None:
        try:
            result = self.client.wait_query(self.job_id, expected_records=expected_records)
        except BaseException as exc:  # noqa: BLE001 - raised by result() in the reading thread
            self._job.set_exception(exc)
            return
        result.page_files = self._page_files  # type: ignore[method-assign]
        self._job.set_result(result)
        session, path = self.client.session, f"jobs/query/{self.job_id}/results"
        locator: str | None = None
        try:
            while True:
                self._budget.wait_for_room(self._reading)
                params = {"locator": locator} if locator else {}
                # The job being read keeps a small page in memory, as a streamed read does; pages ahead go to disk.
                spool = SPOOL_BYTES if self._reading.is_set() else 0
                body, locator = _download_csv(session, path, params, f"Bulk query {self.job_id}", spool_bytes=spool)
                last = not locator or locator == "null"
                if not self._hand_over(body, last):
                    return
                if last:
                    self.client.delete_job(self.job_id, QUERY, quiet=True)
                    return
        except BaseException as exc:  # noqa: BLE001 - raised where the pages are read
            self._hand_over(exc, False)

    def _hand_over(self, page: IO[bytes] | BaseException, last: bool) -> bool:
        """Queue a page (or the download's failure) for the reader; False, the page dropped, once it has gone."""
        with self._lock:
            if self._closed:
                if not isinstance(page, BaseException):
                    page.close()
                return False
            if not isinstance(page, BaseException):
                self._budget.hold(_size(page))
            self._pages.put(page)
            if last:
                self._pages.put(None)
            return True

    def _page_files(self) -> Iterator[IO[bytes]]:
        while (page := self._pages.get()) is not None:
            if isinstance(page, BaseException):
                raise page
            size = _size(page)
            try:
                with page:
                    yield page
            finally:
                self._budget.free(size)

    def close(self) -> None:
        """Drop the pages not read and stop downloading at the next page (the job is the caller's to abort or
        delete; a wait still polling it ends when it does)."""
        with self._lock:
            self._closed = True
            self._reading.set()
            while not self._pages.empty():
                page = self._pages.get_nowait()
                if page is not None and not isinstance(page, BaseException):
                    self._budget.free(_size(page))
                    page.close()


def _size(page: IO[bytes]) -> int:
    """A downloaded page's bytes (without moving a spooled file to disk, as fileno() would)."""
    if isinstance(page, tempfile.SpooledTemporaryFile):
        return len(page._file.getbuffer()) if not page._rolled else os.fstat(page.fileno()).st_size  # type: ignore[attr-defined]
    return os.fstat(page.fileno()).st_size


def _download_csv(
    session: SalesforceSession, path: str, params: dict[str, str], label: str, spool_bytes: int = SPOOL_BYTES
) -> tuple[IO[bytes], str | None]:
    """One whole CSV result (a query results page, or an ingest job's results) as a file at position 0, with its
    Sforce-Locator (on disk past `spool_bytes`); a body that breaks off is fetched again."""
    for attempt in itertools.count():
        response = session.request("GET", path, params=params, headers={"Accept": "text/csv"}, stream=True)
        # Handed to the caller. A SpooledTemporaryFile of max_size 0 would never leave memory.
        body = tempfile.SpooledTemporaryFile(max_size=spool_bytes) if spool_bytes else tempfile.TemporaryFile()  # noqa: SIM115
        try:
            for chunk in response.iter_content(1 << 20):
                body.write(chunk)
            body.seek(0)
            return body, response.headers.get("Sforce-Locator")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            body.close()
            if attempt >= session.max_retries:
                raise TransientError(f"{label}: a result page kept breaking off ({exc!r}).") from None
            logger.warning("%s: result page broke off (%s); fetching it again", label, exc)
            session.sleep(session.backoff(attempt))
        finally:
            response.close()
    raise AssertionError("unreachable")


@dataclass
class IngestJob:
    id: str
    state: str
    records_processed: int = 0
    records_failed: int = 0
    error_message: str | None = None
    client: BulkClient | None = field(default=None, repr=False, compare=False)

    def _results(self, which: str) -> Iterator[dict[str, str]]:
        if self.client is None:
            raise RuntimeError("this job is not bound to a client")
        path, label = f"jobs/ingest/{self.id}/{which}/", f"Bulk ingest {self.id}"
        body, _ = _download_csv(self.client.session, path, {}, label)
        with io.TextIOWrapper(body, encoding="utf-8", newline="") as text:
            reader = csv.reader(text)
            header = next(reader, None) or []
            for row in reader:
                yield dict(zip(header, row, strict=False))

    def successful_results(self) -> Iterator[dict[str, str]]:
        return self._results("successfulResults")

    def failed_results(self) -> Iterator[dict[str, str]]:
        return self._results("failedResults")

    def unprocessed_records(self) -> Iterator[dict[str, str]]:
        return self._results("unprocessedrecords")


class BulkClient:
    def __init__(
        self,
        session: SalesforceSession,
        poll_interval: float = 0.5,
        poll_max: float = 10.0,
        job_timeout: float = 86400,
    ) -> None:
        self.session = session
        self._poller = _JobPoller(session, poll_interval, poll_max, job_timeout)

    # -- query ---------------------------------------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False, max_records: int | None = None) -> BulkQueryResult:
        return self.wait_query(self.submit_query(soql, include_deleted=include_deleted), max_records=max_records)

    def submit_query(self, soql: str, *, include_deleted: bool = False, wait_for_room: bool = True) -> str:
        """Create a query job and return its id without waiting: Salesforce works on it while we do other things.
        When the org's query jobs in progress are at their limit, try again for a while (`wait_for_room`), or raise
        the LIMIT_EXCEEDED ApiError at once."""
        body = {
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        for attempt in itertools.count():
            try:
                # A repeated query job only costs a job, so a lost answer may be retried.
                job = self.session.send_json("POST", "jobs/query", body, idempotent=True)
                return str(job["id"])
            except ApiError as exc:
                if _not_supported(exc):
                    raise BulkNotSupportedError(exc.message, status=exc.status, error_code=exc.error_code) from None
                if exc.error_code != "LIMIT_EXCEEDED" or not wait_for_room or attempt >= JOBS_FULL_ATTEMPTS:
                    raise
                # The org's query jobs in progress are at their limit (other tools run some): they finish in seconds.
                logger.warning("Bulk query jobs are at the org's limit (%s); submitting again shortly", exc.message)
                self.session.sleep(self.session.backoff(attempt))
        raise AssertionError("unreachable")

    def wait_query(
        self, job_id: str, *, max_records: int | None = None, expected_records: int | None = None
    ) -> BulkQueryResult:
        """Wait for a submitted query job to complete (aborting it if the wait fails) and return its results.

        `expected_records`, when known (a COUNT() of the query), lets the wait end close to when the job does."""
        try:
            info = self._poller.wait(QUERY, job_id, expected_records)
        except BaseException:
            self.abort_job(job_id, QUERY, quiet=True)
            raise
        if info.get("state") != "JobComplete":
            message = str(info.get("errorMessage") or info.get("state"))
            if any(w in message for w in _NOT_SUPPORTED_WORDS):
                raise BulkNotSupportedError(message, error_code="BULK_NOT_SUPPORTED")
            if "QUERY_TIMEOUT" in message:
                raise BulkQueryTimeoutError(job_id, message, error_code="QUERY_TIMEOUT")
            raise BulkJobError(job_id, message)
        return BulkQueryResult(
            client=self, job_id=job_id, number_records=info.get("numberRecordsProcessed"), max_records=max_records
        )

    # -- ingest --------------------------------------------------------------------------------------------------

    def start_ingest(
        self,
        sobject: str,
        operation: str,
        part: IO[bytes],
        *,
        external_id_field: str | None = None,
        assignment_rule_id: str | None = None,
    ) -> str:
        """Create a job holding the CSV file `part` (header first, under MAX_JOB_BYTES), close it for processing and
        return its id without waiting; the file is closed."""
        return self._upload(_ingest_spec(sobject, operation, external_id_field, assignment_rule_id), part)

    def wait_ingest(self, job_id: str, *, expected_records: int | None = None) -> IngestJob:
        """Wait for an ingest job to finish; `expected_records` (the rows uploaded) lets the wait end close to when
        the job does."""
        info = self._poller.wait(INGEST, job_id, expected_records)
        return IngestJob(
            id=job_id,
            state=str(info.get("state")),
            records_processed=int(info.get("numberRecordsProcessed") or 0),
            records_failed=int(info.get("numberRecordsFailed") or 0),
            error_message=info.get("errorMessage"),
            client=self,
        )

    def _upload(self, spec: dict[str, Any], part: IO[bytes]) -> str:
        with part:
            # A job whose creation answer was lost stays Open with no data and never runs: creating again is safe.
            job = self.session.send_json("POST", "jobs/ingest", spec, idempotent=True)
            job_id = job["id"]
            content_url = (
                job.get("contentUrl") or f"services/data/v{self.session.api_version}/jobs/ingest/{job_id}/batches"
            )
            try:
                part.seek(0)
                self._put_data(content_url, part)
                self._close_upload(job_id)
            except BaseException:
                self.abort_job(job_id, INGEST, quiet=True)
                raise
        return job_id

    def _put_data(self, content_url: str, part: IO[bytes]) -> None:
        try:
            self.session.request("PUT", "/" + content_url.lstrip("/"), data=part, headers={"Content-Type": "text/csv"})
        except ApiError as exc:
            # The job is new and only this PUT writes to it: when a retried upload is told the job already holds
            # content, the first attempt landed and only its answer was lost.
            if "multiple contents" not in (exc.message or ""):
                raise

    def _close_upload(self, job_id: str) -> None:
        try:
            self.session.send_json("PATCH", f"jobs/ingest/{job_id}", {"state": "UploadComplete"}, idempotent=True)
        except ApiError as exc:
            # A retried close whose first answer was lost finds the job already closed: that is success.
            if exc.error_code != "INVALIDJOBSTATE" or self.job_info(job_id, INGEST).get("state") in ("Open", "Aborted"):
                raise

    # -- jobs ----------------------------------------------------------------------------------------------------

    def job_info(self, job_id: str, kind: str) -> dict[str, Any]:
        return self.session.get_json(f"jobs/{kind}/{job_id}")

    def abort_job(self, job_id: str, kind: str, *, quiet: bool = False) -> None:
        try:
            self.session.send_json("PATCH", f"jobs/{kind}/{job_id}", {"state": "Aborted"}, idempotent=True)
        except ApiError:
            if not quiet:
                raise
        except Exception as exc:  # cleanup must not hide the error that led here
            if not quiet:
                raise
            logger.warning("Could not abort Bulk %s job %s: %s", kind, job_id, exc)

    def delete_job(self, job_id: str, kind: str, *, quiet: bool = False) -> None:
        try:
            self.session.request("DELETE", f"jobs/{kind}/{job_id}")
        except Exception as exc:
            if not quiet:
                raise
            logger.warning("Could not delete Bulk %s job %s: %s", kind, job_id, exc)


def _ingest_spec(
    sobject: str, operation: str, external_id_field: str | None, assignment_rule_id: str | None
) -> dict[str, Any]:
    if operation == "upsert" and not external_id_field:
        raise ValueError("an upsert needs external_id_field")
    spec: dict[str, Any] = {
        "object": sobject,
        "operation": operation,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    if external_id_field:
        spec["externalIdFieldName"] = external_id_field
    if assignment_rule_id:
        spec["assignmentRuleId"] = assignment_rule_id
    return spec


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as the UTF-8 CSV an ingest job takes (comma, LF).

    The csv module quotes a field holding a line break only when it is part of the line terminator, which is LF: a
    field with a bare CR would go out unquoted and split its row. The rare rows holding a CR are quoted whole."""
    rows = rows if isinstance(rows, list) else list(rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    if "\r" in text:
        buffer = io.StringIO()
        plain = csv.writer(buffer, lineterminator="\n")
        quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
        for row in rows:
            (quoted if any("\r" in str(cell) for cell in row) else plain).writerow(row)
        text = buffer.getvalue()
    return text.encode("utf-8")

"""The two ways to read windows of records, behind one interface.

`read(windows)` yields RECORD messages and, whenever every record before it has gone out, a checkpoint: a Position
in (cursor, Id) order; a Bulk read also says which of its jobs exist (JobsInFlight). A REST read checkpoints after
every page (its pages are ordered), a Bulk read after every window (its results are not). Both split a window that
hits QUERY_TIMEOUT (REST or Bulk alike) in two and read the halves; a failed Bulk job is tried again in a new job,
then its window is read through REST.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Protocol

from airbyte_cdk.models import AirbyteMessage
from salesforce_api import BulkClient, QueryPage, RestClient
from salesforce_api.bulk import BulkJobError, BulkQueryResult, DownloadBudget, FetchedAhead
from salesforce_api.errors import ApiError, NotFoundError, QueryTimeoutError

from source_salesforce import soql
from source_salesforce.prefetch import prefetched
from source_salesforce.record_output import RecordOutput
from source_salesforce.soql import Position
from source_salesforce.windows import Window, WindowPlanner

logger = logging.getLogger("airbyte")


@dataclass(frozen=True)
class JobsInFlight:
    """The Bulk jobs of this read that exist now (submitted, not yet read and deleted). The stream saves them in its
    state, so that a run killed before it could delete them has them deleted by the next one."""

    ids: tuple[str, ...]


Item = AirbyteMessage | Position | JobsInFlight
BULK_JOB_ATTEMPTS = 3  # jobs tried per window before it is read through REST
# Bulk query jobs of one sync at once (Salesforce allows an org 25 in progress; its other tools need some), and of one
# stream: enough that Salesforce processes a large object's windows side by side.
MAX_BULK_QUERY_JOBS = 15
JOBS_AHEAD = 4
LOCATOR_RESTARTS = 3  # times a REST read restarts from its last checkpoint when its query locator is lost


class Reader(Protocol):
    def read(self, windows: Sequence[Window]) -> Iterator[Item]:
        """Records of `windows`, in order, with a checkpoint whenever every record before it has gone out."""
        ...


class TooManyForRest(Exception):
    """The first page of a REST read reports more records than the Bulk threshold; nothing was yielded."""

    def __init__(self, total: int) -> None:
        super().__init__(f"{total} records")
        self.total = total


def lost_locator(exc: ApiError) -> bool:
    """Whether a query's next page failed because its locator is gone (an org restart, an expired cursor)."""
    return exc.error_code == "INVALID_QUERY_LOCATOR" or isinstance(exc, NotFoundError)


def rest_pages(rest: RestClient, query: str) -> Iterator[QueryPage]:
    """queryAll pages; from the second on, the next page is fetched while the current one is emitted."""
    pages = rest.query_pages(query, include_deleted=True)
    first = next(pages, None)
    if first is None:
        return
    yield first
    if first.next_records_url:
        # Not before: a read that stops after its first page (auto switching to Bulk) wastes no call.
        yield from prefetched(pages)


class RestReader:
    """Reads each window in (cursor, Id) order through REST query pages."""

    def __init__(
        self,
        rest: RestClient,
        planner: WindowPlanner | None,
        output: RecordOutput,
        bulk_threshold: int | None = None,
    ) -> None:
        self.rest, self.planner, self.output = rest, planner, output
        # Given, the read raises TooManyForRest when its first page reports more records than this.
        self.bulk_threshold = bulk_threshold

    def read(self, windows: Sequence[Window]) -> Iterator[Item]:
        for window in windows:
            yield from self._window(window)

    def read_by_id(self, query_after: Callable[[str], str]) -> Iterator[AirbyteMessage | str]:
        """Records of the query `query_after(last_id)` gives, ordered by Id (a full refresh, from its start for
        ""), with the last Id of each page as its checkpoint; a lost query locator restarts it after that Id."""
        last_id, restarts = "", 0
        while True:
            pages = 0
            try:
                for page in rest_pages(self.rest, query_after(last_id)):
                    threshold, self.bulk_threshold = self.bulk_threshold, None
                    if threshold is not None and page.total_size > threshold:
                        raise TooManyForRest(page.total_size)
                    yield from self.output.estimate(page.total_size)  # ESTIMATE: the first page's totalSize
                    pages += 1
                    if page.records:
                        yield from self.output.rest(page.records)
                        last_id = page.records[-1]["Id"]
                        yield last_id
                return
            except ApiError as exc:
                if not (pages and lost_locator(exc)) or restarts >= LOCATOR_RESTARTS:
                    raise
                restarts += 1
                self._restarting(exc, f"after Id {last_id}" if last_id else "from the start")

    def _restarting(self, exc: ApiError, where: str) -> None:
        logger.warning(
            "%s: the query's next page is gone (%s), as after an org restart; reading again %s",
            self.output.stream,
            exc,
            where,
        )

    def _window(self, window: Window, restarts: int = 0) -> Iterator[Item]:
        if self.planner is None:
            raise RuntimeError("a windowed REST read needs a WindowPlanner")
        cursor = self.planner.cursor
        position = window.lower
        pages = 0
        try:
            for page in rest_pages(self.rest, self.planner.query(self.output.shaper.columns, window)):
                threshold, self.bulk_threshold = self.bulk_threshold, None
                if threshold is not None and page.total_size > threshold and page.records:
                    raise TooManyForRest(page.total_size)
                yield from self.output.estimate(page.total_size)  # ESTIMATE: the first page's totalSize
                pages += 1
                records = page.records
                if not records:
                    continue
                yield from self.output.rest(records)
                last = records[-1]
                position = Position(soql.parse_datetime(last[cursor]), last["Id"])
                yield position
        except QueryTimeoutError:
            halves = self.planner.halves(Window(position, window.upper))
            if halves is None:
                raise
            for half in halves:
                yield from self._window(half)
            return
        except ApiError as exc:
            if not (pages and lost_locator(exc)) or restarts >= LOCATOR_RESTARTS:
                raise
            self._restarting(exc, "from the last checkpoint")
            yield from self._window(Window(position, window.upper), restarts + 1)
            return
        if window.upper is not None:
            yield Position(window.upper)


class BulkJobSlots:
    """The Bulk query jobs one sync may have at once, across its streams: Salesforce allows an org 25 in progress,
    shared with its other tools. A job holds a slot from its submission until it is read and deleted. `downloads`
    bounds their results downloaded ahead of being read."""

    def __init__(self, limit: int | None = None) -> None:
        self._free = threading.BoundedSemaphore(limit or MAX_BULK_QUERY_JOBS)
        self.downloads = DownloadBudget()

    def take(self, wait: bool) -> bool:
        """A slot; without `wait`, False when none is free."""
        return self._free.acquire(blocking=wait)

    def give_back(self) -> None:
        self._free.release()


class BulkReader:
    """Reads windows in Bulk jobs, one per window, submitted ahead: Salesforce runs the next jobs (up to
    JOBS_AHEAD, as free slots allow) while a finished job's rows are read, and results are read in window order.

    A job that fails is run again as a new job, up to BULK_JOB_ATTEMPTS in all; then that window is read through
    `fallback` (REST) when given, else the failure is raised.
    """

    def __init__(
        self,
        bulk: BulkClient,
        planner: WindowPlanner,
        output: RecordOutput,
        records_per_job: int | None = None,
        fallback: Reader | None = None,
        slots: BulkJobSlots | None = None,
    ) -> None:
        self.bulk, self.planner, self.output = bulk, planner, output
        self.records_per_job = records_per_job  # an estimate, to notice sooner that a job is done
        self.fallback = fallback
        self.slots = slots or BulkJobSlots()
        self._open: set[str] = set()  # ids of this reader's jobs that exist now, each holding a slot

    def read(self, windows: Sequence[Window], failures: int = 0) -> Iterator[Item]:
        """`failures`: how many jobs of the first window failed already."""
        queries = [self.planner.query(self.output.shaper.columns, window, ordered=False) for window in windows]
        done = 0
        try:
            with closing(self._pipelined(queries)) as results:
                for result in results:
                    if isinstance(result, JobsInFlight):
                        yield result
                        continue
                    yield from self.output.bulk(result)  # the job is deleted once its rows are read
                    self._closed(result.job_id)
                    yield JobsInFlight(tuple(self._open))
                    if windows[done].upper is not None:
                        yield Position(windows[done].upper)
                    done += 1
        except BulkJobError as exc:
            self._delete(exc.job_id)
            yield JobsInFlight(tuple(self._open))
            yield from self._after_failure(windows, done, failures, exc)
        except NotFoundError as exc:
            # The job is gone (an org restart): like a failed job, read its window again in a new one. Rows of it
            # that already went out are read twice, never lost.
            for job_id in list(self._open):
                self._delete(job_id)
            yield JobsInFlight(())
            yield from self._after_failure(windows, done, failures, exc)

    def _after_failure(self, windows: Sequence[Window], done: int, failures: int, exc: ApiError) -> Iterator[Item]:
        """Read on after the job of windows[done] failed: split it (QUERY_TIMEOUT), try it again, or read it through
        the fallback."""
        if isinstance(exc, QueryTimeoutError):
            halves = self.planner.halves(windows[done])
            if halves is None:
                raise exc
            for half in halves:
                yield from self.read([half])
            yield from self.read(windows[done + 1 :])
            return
        failures = (failures if done == 0 else 0) + 1
        name = self.planner.sobject
        if failures < BULK_JOB_ATTEMPTS:
            logger.warning(
                "%s: %s; reading the window again in a new Bulk job (attempt %d of %d)",
                name,
                exc,
                failures + 1,
                BULK_JOB_ATTEMPTS,
            )
            yield from self.read(windows[done : done + 1], failures)
        elif self.fallback is not None:
            logger.warning("%s: %d Bulk jobs failed (%s); reading the window through REST", name, failures, exc)
            yield from self.fallback.read(windows[done : done + 1])
        else:
            raise exc
        yield from self.read(windows[done + 1 :])

    def _opened(self, job_id: str) -> None:
        self._open.add(job_id)

    def _closed(self, job_id: str) -> None:
        """The job is gone (read and deleted, or deleted): its slot is free again."""
        if job_id in self._open:
            self._open.discard(job_id)
            self.slots.give_back()

    def _delete(self, job_id: str) -> None:
        if job_id in self._open:
            self._closed(job_id)
            self.bulk.delete_job(job_id, "query", quiet=True)

    def _pipelined(self, queries: list[str]) -> Iterator[BulkQueryResult | JobsInFlight]:
        """The finished Bulk job of each query, in order, and the jobs in flight whenever a job is submitted. Up to
        JOBS_AHEAD jobs run ahead of the one being read, each only when a slot is free at once; the job needed now
        waits for a slot (this reader holds none then, so it cannot block itself). Jobs left pending on exit are
        aborted and deleted."""
        bulk = self.bulk
        pending: deque[FetchedAhead] = deque()  # submitted jobs of the queries not yet read, in order
        reading: FetchedAhead | None = None
        submitted = 0

        def submit(wait: bool) -> bool:
            """Submit the next query's job once a slot is free (at once, unless `wait`); False when none is."""
            nonlocal submitted
            if not self.slots.take(wait):
                return False
            try:
                job_id = bulk.submit_query(queries[submitted], include_deleted=True, wait_for_room=wait)
            except ApiError as exc:
                self.slots.give_back()
                if exc.error_code == "LIMIT_EXCEEDED" and not wait:
                    return False  # the org is busy with other jobs: none runs ahead for now
                raise
            except BaseException:
                self.slots.give_back()
                raise
            submitted += 1
            self._opened(job_id)
            pending.append(FetchedAhead(bulk, job_id, self.records_per_job, self.slots.downloads))
            return True

        def top_up() -> bool:
            """Submit jobs ahead while allowed; whether any was."""
            added = False
            while submitted < len(queries) and len(pending) <= JOBS_AHEAD and submit(wait=False):
                added = True
            return added

        try:
            for _ in queries:
                added = not pending and submit(wait=True)
                if top_up() or added:
                    yield JobsInFlight(tuple(self._open))
                reading = pending.popleft()
                result = reading.result()
                if top_up():
                    yield JobsInFlight(tuple(self._open))
                yield result
                reading.close()
                reading = None
        finally:
            for job in [*pending, *([reading] if reading else [])]:
                job.close()
                if job.job_id in self._open:
                    bulk.abort_job(job.job_id, "query", quiet=True)
                    self._delete(job.job_id)

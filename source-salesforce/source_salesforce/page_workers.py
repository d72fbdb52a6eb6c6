"""Bulk CSV result pages turned into RECORD lines by a pool of worker processes.

Parsing and shaping a Bulk row is pure Python (~9 us a row), held to one core by the GIL however fast the pages
download. So a large result is cut into chunks of whole CSV records, the chunks are shaped in worker processes, and
their lines come back in order for the main process to write. The workers import only the shaping code (no CDK), so
they start in a fraction of a second.

Records are cut at an LF that follows an even number of double quotes: in RFC 4180 CSV (what Bulk API 2.0 returns)
a double quote appears only inside a quoted field, where quotes come in pairs, so such an LF is outside any field.
"""

from __future__ import annotations

import csv
import ctypes
import io
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import IO, Any

from source_salesforce.record_lines import record_lines
from source_salesforce.records import RecordShaper

logger = logging.getLogger("airbyte")

CHUNK_BYTES = 256 << 10  # CSV bytes per task (~400 rows of a wide object): measured faster and leaner than 1 MB
MAX_WORKERS = 4
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
# Below this many records a result is shaped in the main process: starting workers would cost more than it saves.
MIN_RECORDS = 50_000
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt() parameters (glibc malloc.h)
# The csv module refuses a field over 131,072 characters (the longest text Salesforce stores, and an org or a formula
# may give more): a Bulk value of any length a page holds must be read, as REST reads it.
CSV_FIELD_LIMIT = 2**31 - 1


def worker_count() -> int:
    """Worker processes worth starting here: one per CPU this process may use (its CPU affinity, and a container's
    CPU quota), at most MAX_WORKERS; 0 when that is a single CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return min(cpus, MAX_WORKERS) if cpus > 1 else 0


def _cgroup_cpu_quota() -> float | None:
    """CPUs a cgroup v2 quota allows (`docker run --cpus`), or None without one."""
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def csv_chunks(body: IO[bytes], size: int) -> Iterator[bytes]:
    """The rest of a CSV file (from a record boundary) in pieces of about `size` bytes, each ending with a record."""
    rest = b""
    while block := body.read(size):
        data = rest + block
        cut = _last_record_end(data)
        if cut:
            yield data[:cut]
        rest = data[cut:]
    if rest:
        yield rest


def _last_record_end(data: bytes) -> int:
    """The offset just past the last record ending in `data` (which starts at a record boundary), or 0."""
    odd = data.count(b'"') % 2  # quotes before the end; an LF is outside fields when the count before it is even
    end = len(data)
    while (newline := data.rfind(b"\n", 0, end)) >= 0:
        odd ^= data.count(b'"', newline, end) % 2
        if not odd:
            return newline + 1
        end = newline
    return 0


class PageWorkers:
    """Worker processes shaping Bulk CSV pages into RECORD lines: start(), then lines() as often as needed, close()."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._failed = False
        self._starting = threading.Lock()  # streams read at once may start it together

    def lines(
        self, pages: Iterable[IO[bytes]], shaper: RecordShaper, envelope: Callable[[], tuple[bytes, bytes]]
    ) -> Iterator[tuple[int, bytes]]:
        """(record count, RECORD lines) for every record of `pages`, in order. `envelope()` gives the bytes around
        each record's data (see record_lines.record_line_parts); it is asked again for each page."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("PageWorkers.start() first")
        spec = pickle.dumps(shaper)
        in_flight: deque[Future[tuple[int, bytes]]] = deque()
        try:
            for body in pages:
                header = _header(body.readline())
                if header is None:
                    continue
                before, after = envelope()
                for chunk in csv_chunks(body, CHUNK_BYTES):
                    in_flight.append(pool.submit(_shape_chunk, spec, header, before, after, chunk))
                    while len(in_flight) > 2 * self._processes:
                        yield _result(in_flight.popleft())
            while in_flight:
                yield _result(in_flight.popleft())
        finally:
            for future in in_flight:
                future.cancel()

    def start(self) -> bool:
        """Start the pool unless it runs; False (and Bulk results are shaped in this process) when it cannot."""
        with self._starting:
            return self._start()

    def _start(self) -> bool:
        if self._pool is None and not self._failed:
            try:
                # spawn, not fork: this process runs threads (page downloads), which a fork must not copy mid-work.
                self._pool = ProcessPoolExecutor(
                    self._processes, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
                )
            except (OSError, ImportError, NotImplementedError) as exc:  # e.g. no /dev/shm for its semaphores
                self._failed = True
                logger.warning("Bulk results are shaped in one process: worker processes cannot start (%s)", exc)
            else:
                logger.info("Shaping Bulk results in %d worker processes", self._processes)
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _header(line: bytes) -> tuple[str, ...] | None:
    """The column names of a header line (field names hold no line breaks), or None for an empty page."""
    if not line.strip():
        return None
    return tuple(next(csv.reader([line.decode("utf-8")])))


def _result(future: Future[tuple[int, bytes]]) -> tuple[int, bytes]:
    try:
        return future.result()
    except BrokenProcessPool:
        raise RuntimeError(
            "A worker process shaping Bulk results stopped unexpectedly (was it out of memory?). "
            "The sync can be run again: it resumes from its last saved state."
        ) from None


# ---------------------------------------------------------------- in the worker processes


def _keep_heap() -> None:
    """Keep a task's buffers on glibc's heap: by default a chunk, its text and its lines (megabytes each) are mmap'd
    and unmapped again, or the heap is trimmed after each, and the page faults cost a third of the shaping time.
    The heap may keep up to M_TRIM_THRESHOLD free. A no-op off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 4 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 16 << 20)
    except (OSError, AttributeError):
        pass


def _start_worker() -> None:
    _keep_heap()
    csv.field_size_limit(CSV_FIELD_LIMIT)  # a spawned worker starts with the csv module's default
    parent = multiprocessing.parent_process()
    if parent is not None:  # a worker outlives a killed parent unless it watches for it
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


_shapers: dict[tuple[bytes, tuple[str, ...]], Callable[[list[str]], dict[str, Any]]] = {}


def _shape_chunk(spec: bytes, header: tuple[str, ...], before: bytes, after: bytes, chunk: bytes) -> tuple[int, bytes]:
    shape = _shapers.get((spec, header))
    if shape is None:
        if len(_shapers) >= 64:  # streams come one after another: old shapers are not needed again
            _shapers.clear()
        shape = _shapers[(spec, header)] = pickle.loads(spec).csv_row_shaper(list(header))  # noqa: S301 - our own
    rows = csv.reader(io.StringIO(chunk.decode("utf-8"), newline=""))
    return record_lines(map(shape, rows), before, after)

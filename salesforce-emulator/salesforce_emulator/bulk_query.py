"""Bulk API 2.0 query jobs: run the SOQL once into a CSV file, then serve it in pages by locator.

Processing writes the result rows (whole CSV lines built by SQLite, see soql.csv_lines, a block at a time) to one
file and keeps the byte offset of every ROWS_PER_BLOCK-th row. A results page is then a byte range of that file: a
locator names a row position, its offset is one index lookup (plus a scan of at most one block when a client's
maxRecords does not fall on a block boundary), and the page streams straight from disk. Like Salesforce, the results
are a snapshot taken when the job ran: later writes do not change them.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from salesforce_emulator.bulk_jobs import Job
from salesforce_emulator.soql import csv_lines

if TYPE_CHECKING:
    from salesforce_emulator.org import Org

ROWS_PER_BLOCK = 1000
READ_CHUNK = 1 << 20  # bytes per chunk of a streamed results page
QUERY_TIMEOUT_MESSAGE = "Failed to process query: QUERY_TIMEOUT: Your query request was running for too long."
DEFAULT_FAILURE = "InternalServerError : An unexpected error occurred while processing the job."


class LocatorError(ValueError):
    """A locator this job never handed out."""


@dataclass
class QueryResults:
    path: str
    header: bytes
    total: int
    block_offsets: array  # byte offset of row k * ROWS_PER_BLOCK for every block k, then the file size
    newline: bytes = b"\n"
    _row_offsets: dict[int, int] = field(default_factory=dict)  # offsets found by scanning, by row
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return self.block_offsets[-1]

    def offset_of(self, row: int) -> int:
        """The byte offset where row `row` (0-based) starts; the file size for row == total."""
        if row >= self.total:
            return self.size
        block, within = divmod(row, ROWS_PER_BLOCK)
        if within == 0:
            return self.block_offsets[block]
        with self._lock:
            known = self._row_offsets.get(row)
        if known is None:
            known = self._scan(block, within)
            with self._lock:
                self._row_offsets[row] = known
        return known

    def _scan(self, block: int, within: int) -> int:
        """Offset of the `within`-th row of a block: count line ends outside quoted values (quotes come in pairs)."""
        start, end = self.block_offsets[block], self.block_offsets[block + 1]
        with open(self.path, "rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        position = 0
        quotes = 0
        rows = 0
        step = len(self.newline)
        while rows < within:
            found = data.index(self.newline, position)
            quotes += data.count(b'"', position, found)
            position = found + step
            if quotes % 2 == 0:
                rows += 1
        return start + position


def encode_locator(position: int) -> str:
    # Salesforce's locators are base64 of the row position too (e.g. "MTAwMDA" for 10000).
    return base64.b64encode(str(position).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        position = int(text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise LocatorError(locator) from exc
    if position < 0:
        raise LocatorError(locator)
    return position


def process(job: Job, org: Org, plan: Any, include_limit: int | None) -> str | None:
    """Run the job's query into its results file; returns the errorMessage when the job fails."""
    fault = org.take_fault("bulk_job_failed", job.path)
    if fault is not None:
        return fault.get("message") or DEFAULT_FAILURE
    conn = org.read_connection()
    total = org.store.count(plan.count_sql, plan.count_params)
    if include_limit is not None:
        total = min(total, include_limit)
    limit = org.query_timeout_rows
    timeout_fault = org.faults.take(None, job.path, {"query_timeout"}, rows=total)
    if timeout_fault is not None or (limit is not None and total > limit):
        return QUERY_TIMEOUT_MESSAGE

    writer = _CsvFormat(job.delimiter, job.newline)
    csv_lines.register(conn)
    path = job.file("results.csv")
    fast = conn.execute(plan.csv_lines_sql(job.delimiter, job.newline), plan.params)
    slow = None
    try:
        with open(path, "wb") as out:
            offsets = _write_blocks(out, job, _sqlite_blocks(fast))
            if offsets is _NEEDS_PYTHON:
                # A value SQLite's printf cannot carry (a NUL character): redo the job with the csv module. The
                # second cursor opens while the first is still live, so both read the same snapshot of the org.
                slow = conn.execute(plan.sql, plan.params)
                fast.close()
                out.seek(0)
                out.truncate()
                offsets = _write_blocks(out, job, _python_blocks(slow, plan.csv_values, writer))
    finally:
        fast.close()
        if slow is not None:
            slow.close()
    if offsets is None:
        return None  # cancelled
    job.results = QueryResults(
        path=path,
        header=writer.line(plan.csv_header()),
        total=job.processed,
        block_offsets=offsets,
        newline=job.newline.encode(),
    )
    return None


_NEEDS_PYTHON = array("q")  # marker: the SQLite-built lines cannot hold this result


class _CsvFormat:
    """csv.writer with the job's format (every value quoted), writing to bytes."""

    def __init__(self, delimiter: str, newline: str) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_ALL)

    def lines(self, rows: Iterable[list[str]]) -> bytes:
        self._writer.writerows(rows)
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data

    def line(self, cells: list[str]) -> bytes:
        return self.lines([cells])


def _sqlite_blocks(cursor: sqlite3.Cursor) -> Iterator[tuple[int, bytes] | None]:
    """(rows, bytes) per block of lines SQLite built; None when a line came back NULL (see soql.csv_lines)."""
    while lines := cursor.fetchmany(ROWS_PER_BLOCK):
        try:
            yield len(lines), b"".join([line for (line,) in lines])
        except TypeError:  # a NULL line
            yield None
            return


def _python_blocks(cursor: sqlite3.Cursor, shape: Any, writer: _CsvFormat) -> Iterator[tuple[int, bytes] | None]:
    while rows := cursor.fetchmany(ROWS_PER_BLOCK):
        yield len(rows), writer.lines(map(shape, rows))


def _write_blocks(out: BinaryIO, job: Job, blocks: Iterator[tuple[int, bytes] | None]) -> array | None:
    """Write blocks to `out`; the block offsets, None when the job was cancelled, or _NEEDS_PYTHON."""
    offsets = array("q", [0])
    position = 0
    job.processed = 0
    for block in blocks:
        if block is None:
            return _NEEDS_PYTHON
        count, data = block
        out.write(data)
        position += len(data)
        offsets.append(position)
        job.processed += count
        if job.cancelled.is_set():
            return None
    return offsets


@dataclass
class Page:
    start: int
    end: int
    locator: str  # the next page's locator, or "null"
    content_length: int
    body: Iterator[bytes]


def page(results: QueryResults, locator: str | None, max_records: int) -> Page:
    start = decode_locator(locator) if locator else 0
    if start > results.total:
        raise LocatorError(locator or "")
    end = min(results.total, start + max_records)
    first, last = results.offset_of(start), results.offset_of(end)
    next_locator = encode_locator(end) if end < results.total else "null"
    return Page(start, end, next_locator, len(results.header) + last - first, _read(results, first, last))


def _read(results: QueryResults, first: int, last: int) -> Iterator[bytes]:
    yield results.header
    with open(results.path, "rb") as handle:
        handle.seek(first)
        remaining = last - first
        while remaining > 0:
            chunk = handle.read(min(READ_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

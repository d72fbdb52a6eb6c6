"""Where a read goes: the windows of a stream's records in (cursor, Id) order, how many there are, and the halves of
a window that took too long.

A window is independent of the others (its own query), so several can be read at once; the stream delivers them
in order and saves the end of each as state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from salesforce_api import RestClient

from source_salesforce import soql
from source_salesforce.soql import Position

logger = logging.getLogger("airbyte")

MIN_SPLIT = timedelta(seconds=1)  # a window that still times out at this size is reported, not split further
# Records per Bulk job when no window size is configured: a large read becomes several jobs, which Salesforce runs side
# by side and whose results download side by side (each response's bandwidth is bounded), while state is saved after
# each; few enough that the extra calls (a job costs about four) do not matter. Measured against the emulator with no
# latency, 200,000-record windows read as fast as one job.
BULK_WINDOW_RECORDS = 200_000
# A full refresh reads up to this many records in one job, beyond it in windows of this size on SystemModstamp:
# measured against the emulator with no latency, 200,000-record windows read a 1M-record object 25% slower than one
# job (2026-12-02), while an incremental read of 200,000 records was as fast in one job as in four.
BULK_FULL_REFRESH_WINDOW_RECORDS = 1_000_000


@dataclass(frozen=True)
class Window:
    """The records from `lower` (None: the first one) up to the cursor value `upper` excluded (None: no end)."""

    lower: Position | None
    upper: datetime | None


class WindowPlanner:
    """Queries and windows over one object's `cursor`, within fixed conditions `where` (a full refresh's progress)."""

    def __init__(self, rest: RestClient, sobject: str, cursor: str, where: Sequence[str] = ()) -> None:
        self.rest, self.sobject, self.cursor = rest, sobject, cursor
        self.where = list(where)

    def conditions(self, window: Window) -> list[str]:
        where = list(self.where)
        if window.lower is not None:
            where.append(soql.after_position(self.cursor, window.lower))
        if window.upper is not None:
            where.append(soql.before(self.cursor, window.upper))
        return where

    def query(self, columns: Sequence[str], window: Window, ordered: bool = True) -> str:
        """SELECT `columns` of the window; `ordered` in (cursor, Id) order (Bulk results come unordered anyway)."""
        order = (self.cursor, "Id") if ordered else ()
        return soql.select(self.sobject, columns, self.conditions(window), order_by=order)

    def count(self, window: Window) -> int:
        """Records in the window, deleted ones included (queryAll), in one call."""
        where = self.conditions(window)
        source = f"FROM {soql.identifier(self.sobject)}" + (f" WHERE {' AND '.join(where)}" if where else "")
        return self.rest.count(source, include_deleted=True)

    def min_cursor(self, upper: datetime | None) -> datetime | None:
        """The smallest cursor value before `upper`, or None when there is no record."""
        where = self.conditions(Window(None, upper))
        query = soql.select(self.sobject, [self.cursor], where, order_by=(self.cursor,), limit=1)
        for record in self.rest.query(query, include_deleted=True):
            value = record.get(self.cursor)
            return soql.parse_datetime(value) if value else None
        return None

    def halves(self, window: Window) -> tuple[Window, Window] | None:
        """The window cut in two at the middle of its cursor range, or None when it is too small to cut."""
        if window.upper is None:
            return None
        low = window.lower.cursor if window.lower else self.min_cursor(window.upper)
        if low is None or window.upper - low <= MIN_SPLIT:
            return None
        middle = soql.midpoint(low, window.upper)
        logger.info("%s: query timed out; splitting [%s, %s) at %s", self.sobject, low, window.upper, middle)
        return Window(window.lower or Position(low), middle), Window(Position(middle), window.upper)

    def by_count(
        self, window: Window, count: int | None, size: timedelta | None, per_window: int | None = None
    ) -> list[Window]:
        """The bounded `window` as consecutive windows of `size`, or (without a size) of about `per_window` records
        each given the `count` of records in it; no window when it holds no record."""
        upper = window.upper
        if upper is None:
            raise ValueError("only a bounded window is cut by count")
        per_window = per_window or BULK_WINDOW_RECORDS
        parts = max(1, math.ceil(count / per_window)) if count is not None else 1
        if size is None and parts <= 1:
            return [window]
        low = window.lower.cursor if window.lower else self.min_cursor(upper)
        if low is None:
            return []
        step = size or max((upper - low) / parts, MIN_SPLIT)
        lower = window.lower
        return [
            Window(lower if lower and start == lower.cursor else Position(start), end)
            for start, end in soql.windows(low, upper, step)
        ]

    def open_ended(
        self, lower: Position | None, count: int, end: datetime, per_window: int | None = None
    ) -> list[Window]:
        """Windows of about `per_window` records each over the `count` records from `lower` on: the last has no
        upper bound, so a record that changes during the read (its cursor moves past `end`) is still read."""
        parts = math.ceil(count / (per_window or BULK_FULL_REFRESH_WINDOW_RECORDS))
        if parts <= 1:
            return [Window(lower, None)]
        low = lower.cursor if lower else self.min_cursor(None)
        if low is None or low >= end:
            return [Window(lower, None)]
        bounds = [high for _, high in soql.windows(low, end, max((end - low) / parts, MIN_SPLIT))][:-1]
        lowers = [lower, *(Position(b) for b in bounds)]
        return [Window(lo, hi) for lo, hi in zip(lowers, [*bounds, None], strict=True)]

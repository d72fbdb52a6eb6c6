"""How far a stream's read has got: an ESTIMATE trace once its total is known, and rate/ETA lines in the log.

The total comes for free: the record count a Bulk read asks for anyway (COUNT()), or the first REST page's
`totalSize`. Airbyte shows the ESTIMATE as the sync's progress; the log lines serve whoever reads the logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    TraceType,
    Type,
)
from salesforce_api import SalesforceSession

logger = logging.getLogger("airbyte")

PROGRESS_EVERY_SECONDS = 15.0


class ReadProgress:
    """One stream's read: records so far, API calls, and the total once a query has told it."""

    def __init__(
        self,
        stream: str,
        session: SalesforceSession,
        namespace: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream, self._namespace, self._session, self._clock = stream, namespace, session, clock
        self._start = self._last = clock()
        self._calls_at_start = session.calls
        self.records = 0
        self.total: int | None = None

    def estimate(self, total: int | None) -> Iterator[AirbyteMessage]:
        """The ESTIMATE trace of the first total known (later ones, of narrower queries after a split, are not the
        stream's total); nothing for an unknown one."""
        if total is None or self.total is not None:
            return
        self.total = total
        trace = AirbyteTraceMessage(
            type=TraceType.ESTIMATE,
            emitted_at=time.time() * 1000,
            estimate=AirbyteEstimateTraceMessage(
                name=self._stream, type=EstimateType.STREAM, namespace=self._namespace, row_estimate=total
            ),
        )
        yield AirbyteMessage(type=Type.TRACE, trace=trace)

    def add(self, count: int) -> None:
        self.records += count
        now = self._clock()
        if now - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = now
            self.log("progress")

    def log(self, what: str) -> None:
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = self.records / elapsed
        calls = self._session.calls - self._calls_at_start
        if self.total is None or what == "done":
            line = "%s %s: %d records, %.0f records/s, %d API calls"
            logger.info(line, self._stream, what, self.records, rate, calls)
            return
        left = max(self.total - self.records, 0)
        eta = f"about {_duration(left / rate)} left" if rate > 0 else "time left unknown"
        logger.info(
            "%s %s: %d of about %d records (%.0f%%), %.0f records/s, %s, %d API calls",
            self._stream,
            what,
            self.records,
            self.total,
            100.0 * min(self.records / self.total, 1.0) if self.total else 100.0,
            rate,
            eta,
            calls,
        )


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"

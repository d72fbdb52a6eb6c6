"""One run of `write`: the per-stream buffers, the ledger of held STATEs, and the loop over incoming messages.

Records are buffered per stream and a buffer is written when it is full, when its oldest record has waited the flush
interval (real-time mode), at every STATE and at the end of input. In batch mode (no flush interval), records bound
for Bulk API 2.0 gather across writes into jobs of up to 100 MB. A STATE is held until every record before it has its
final outcome from Salesforce (written or rejected), then emitted with destinationStats.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, AirbyteStateType, Type

from destination_salesforce.mapping import PreparedRecord, RecordFilter, ValueFormatError
from destination_salesforce.plan import StreamPlan
from destination_salesforce.protocol import TICK, DestinationStats, read_with_deadlines
from destination_salesforce.rejects import Rejection, RejectLog

StreamKey = tuple[str | None, str]  # (namespace, name)


@dataclass
class StreamBuffer:
    records: list[PreparedRecord] = field(default_factory=list)
    first_at: float | None = None  # time.monotonic() of the oldest buffered record
    received: int = 0  # records since this stream's last STATE, for destinationStats
    position: int = 0
    rejected_at: list[int] = field(default_factory=list)  # heap: positions rejected, not yet counted in a STATE

    def rejected_up_to(self, mark: int) -> int:
        """How many rejected positions are at or before `mark`; they are counted once, by the STATE that covers them."""
        count = 0
        while self.rejected_at and self.rejected_at[0] <= mark:
            heapq.heappop(self.rejected_at)
            count += 1
        return count


@dataclass
class HeldState:
    """A STATE held back until every record before it has its outcome."""

    message: AirbyteMessage
    marks: dict[StreamKey, int]  # each covered stream's position when the STATE arrived
    received: int


class StateLedger:
    """The STATEs received and not emitted yet, oldest first."""

    def __init__(self) -> None:
        self.held: deque[HeldState] = deque()

    def __len__(self) -> int:
        return len(self.held)

    def hold(self, message: AirbyteMessage, marks: dict[StreamKey, int], received: int) -> None:
        self.held.append(HeldState(message, marks, received))

    def oldest(self) -> HeldState | None:
        return self.held[0] if self.held else None

    def pop(self) -> HeldState:
        return self.held.popleft()


class WriteSession:
    """Feeds incoming messages to the stream plans and emits each STATE once its records are settled.

    `run` is the whole write; `finish` writes everything read so far and yields the STATEs that releases, which is
    also the last step before failing on input that cannot be read (what came before it is kept).
    """

    def __init__(
        self,
        plans: Mapping[StreamKey, StreamPlan],
        rejects: RejectLog,
        logger: logging.Logger,
        *,
        record_filter: RecordFilter,
        batch_size: int,
        flush_interval: float,
    ) -> None:
        self.plans = dict(plans)
        self.rejects = rejects
        self.logger = logger
        self.record_filter = record_filter
        self.batch_size = batch_size
        self.interval = flush_interval
        self.buffers = {key: StreamBuffer() for key in self.plans}
        self.ledger = StateLedger()
        self.processed = 0  # records sent or rejected before sending, for the reject ratio
        self.changed = False  # a write or a new STATE since the held STATEs were looked at (nothing else frees one)

    @property
    def batch_mode(self) -> bool:
        return self.interval <= 0

    # -- the loop ------------------------------------------------------------------------------------------------

    def run(self, messages: Iterable[AirbyteMessage]) -> Iterator[AirbyteMessage]:
        try:
            for message in read_with_deadlines(messages, self.next_deadline):
                if message is TICK:
                    self.flush_due()
                elif message.type == Type.RECORD:
                    self.add_record(message.record)
                elif message.type == Type.STATE:
                    self.add_state(message)
                yield from self.released()
            yield from self.finish()
        finally:
            self.close()

    def finish(self) -> Iterator[AirbyteMessage]:
        """Write every buffered and gathered record, wait for their outcomes and yield the STATEs released."""
        for key in self.plans:
            self.flush(key)
        self.changed = True
        yield from self.released()
        if self.ledger:
            raise RuntimeError(f"{len(self.ledger)} STATE messages were never released")  # a bug, not bad input

    def close(self) -> None:
        for plan in self.plans.values():
            plan.close()
        self.rejects.log_summary()
        self.rejects.close()

    # -- messages ------------------------------------------------------------------------------------------------

    def add_record(self, record: AirbyteRecordMessage) -> None:
        key = (record.namespace, record.stream)
        if key not in self.plans:
            return  # the protocol says: ignore streams that are not in the catalog
        buffer, plan = self.buffers[key], self.plans[key]
        buffer.received += 1
        buffer.position += 1
        if not self.record_filter.matches(record.data):
            return
        try:
            prepared = plan.mapper.prepare(buffer.position, record.data)
        except ValueFormatError as exc:
            self.processed += 1
            placeholder = PreparedRecord(buffer.position, f"record #{buffer.position}", {}, record.data)
            self.reject(key, placeholder, "INVALID_VALUE", str(exc), [exc.target])
            self.rejects.check(self.processed)
            return
        buffer.records.append(prepared)
        if buffer.first_at is None:
            buffer.first_at = time.monotonic()
        if len(buffer.records) >= self.batch_size:
            self.flush(key, gather=self.batch_mode)
        self.flush_due()

    def add_state(self, message: AirbyteMessage) -> None:
        # Every stream is written, so that STATEs of different streams keep their order trivially.
        for key in self.plans:
            self.flush(key, gather=self.batch_mode)
        self.hold(message)

    def hold(self, message: AirbyteMessage) -> None:
        self.changed = True
        state = message.state
        if state.type == AirbyteStateType.STREAM and state.stream is not None:
            descriptor = state.stream.stream_descriptor
            covered = [k for k in self.buffers if k == (descriptor.namespace, descriptor.name)]
        else:
            covered = list(self.buffers)
        marks = {k: self.buffers[k].position for k in covered}
        self.ledger.hold(message, marks, sum(self.buffers[k].received for k in covered))
        for k in covered:
            self.buffers[k].received = 0

    # -- writing -------------------------------------------------------------------------------------------------

    def flush(self, key: StreamKey, *, gather: bool = False) -> None:
        """Write the stream's buffer. With `gather` (batch mode), Bulk records may wait in a job of up to 100 MB;
        without, every record written so far gets its outcome."""
        self.changed = True
        buffer, plan = self.buffers[key], self.plans[key]
        records, buffer.records, buffer.first_at = buffer.records, [], None
        failures = plan.write(records, gather=gather) if records or not gather else []
        for record, outcome in failures:
            self.reject(key, record, outcome.code, outcome.message, outcome.fields)
        if records:
            self.processed += len(records)
            self.logger.info("%s: %d records sent to %s", plan.stream, len(records), plan.sobject)
        self.rejects.check(self.processed)

    def reject(self, key: StreamKey, record: PreparedRecord, code: str, message: str, fields: Any = ()) -> None:
        heapq.heappush(self.buffers[key].rejected_at, record.position)
        rejection = Rejection(self.plans[key].stream, record.position, record.key, code, message, tuple(fields))
        self.rejects.add(rejection, record.data)

    def next_deadline(self) -> float | None:
        """When the oldest buffered record has waited the flush interval (None in batch mode or when none waits)."""
        if self.batch_mode:
            return None
        waiting = [b.first_at for b in self.buffers.values() if b.first_at is not None]
        return min(waiting) + self.interval if waiting else None

    def flush_due(self) -> None:
        if self.batch_mode:
            return
        now = time.monotonic()
        for key, buffer in self.buffers.items():
            if buffer.first_at is not None and now >= buffer.first_at + self.interval:
                self.flush(key)

    # -- STATEs --------------------------------------------------------------------------------------------------

    def settled(self, key: StreamKey, mark: int) -> bool:
        """Whether every record of the stream up to position `mark` has its outcome."""
        # Records in Bulk jobs came from earlier writes than the buffered ones: they are the oldest.
        oldest = self.plans[key].unsettled_from()
        if oldest is None and self.buffers[key].records:
            oldest = self.buffers[key].records[0].position
        return oldest is None or oldest > mark

    def released(self) -> Iterator[AirbyteMessage]:
        """The held STATEs whose records all have their outcome, in order, with their counts."""
        if not self.changed:
            return
        self.changed = False
        while (held := self.ledger.oldest()) is not None and all(self.settled(k, m) for k, m in held.marks.items()):
            self.ledger.pop()
            rejected = sum(self.buffers[k].rejected_up_to(mark) for k, mark in held.marks.items())
            held.message.state.destinationStats = DestinationStats(
                recordCount=float(held.received), rejectedRecordCount=float(rejected)
            )
            yield held.message

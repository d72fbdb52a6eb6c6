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
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, AirbyteStateType, Type
from salesforce_api.errors import ConfigError

from destination_salesforce.mapping import PreparedRecord, ValueFormatError
from destination_salesforce.plan import StreamPlan
from destination_salesforce.protocol import TICK, DestinationStats, UpToBadLine, read_with_deadlines
from destination_salesforce.rejects import Rejection, RejectLog

StreamKey = tuple[str | None, str]  # (namespace, name)


@dataclass
class StreamBuffer:
    records: list[PreparedRecord] = field(default_factory=list)
    first_at: float | None = None  # time.monotonic() of the oldest buffered record
    received: int = 0  # records since this stream's last STATE, for destinationStats
    position: int = 0
    mapped: int = 0  # records that reached the mapper (not filtered out)
    filtered: int = 0
    processed: int = 0  # records sent, or rejected before sending
    rejected: int = 0
    queued: deque[tuple[int, int]] = field(default_factory=deque)  # (last position, count) of writes not settled
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
        batch_size: int,
        flush_interval: float,
    ) -> None:
        self.plans = dict(plans)
        self.rejects = rejects
        self.logger = logger
        self.batch_size = batch_size
        self.interval = flush_interval
        self.buffers = {key: StreamBuffer() for key in self.plans}
        self.ledger = StateLedger()
        self.not_in_catalog: Counter[str] = Counter()  # records of streams the catalog does not have, by stream
        self.processed = 0  # records sent or rejected before sending, for the reject ratio
        self.changed = False  # a write or a new STATE since the held STATEs were looked at (nothing else frees one)

    @property
    def batch_mode(self) -> bool:
        return self.interval <= 0

    # -- the loop ------------------------------------------------------------------------------------------------

    def run(self, messages: Iterable[AirbyteMessage]) -> Iterator[AirbyteMessage]:
        try:
            readable = UpToBadLine(read_with_deadlines(messages, self.next_deadline))
            for message in readable:
                if message is TICK:
                    self.flush_due()
                elif message.type == Type.RECORD:
                    self.add_record(message.record)
                elif message.type == Type.STATE:
                    self.add_state(message)
                yield from self.released()
            yield from self.finish()
            if readable.error is not None:
                raise readable.error  # only now: the records and STATEs before the bad line are in
        finally:
            self.close()

    def finish(self) -> Iterator[AirbyteMessage]:
        """Write every buffered and gathered record, wait for their outcomes and yield the STATEs released (unless
        every record of a stream was rejected, which fails the sync under the default reject policy)."""
        for key in self.plans:
            self.flush(key)
        self.rejects.check_streams({self.plans[k].stream: (b.processed, b.rejected) for k, b in self.buffers.items()})
        self.changed = True
        yield from self.released()
        if self.ledger:
            raise RuntimeError(f"{len(self.ledger)} STATE messages were never released")  # a bug, not bad input

    def close(self) -> None:
        for plan in self.plans.values():
            plan.close()
        self.log_unwritten()
        self.rejects.log_summary()
        self.rejects.close()

    def log_unwritten(self) -> None:
        """One line per stream for each kind of record or field that was read but not written."""
        for stream, count in sorted(self.not_in_catalog.items()):
            self.logger.warning(
                "Stream %s: %d records ignored, the stream is not in the configured catalog", stream, count
            )
        for key, plan in self.plans.items():
            buffer = self.buffers[key]
            if buffer.filtered:
                self.logger.info("Stream %s: %d of %d records left out by %s", plan.stream, buffer.filtered,
                                 buffer.position, plan.filter_setting)  # fmt: skip
            unmapped = sorted(plan.mapper.unmapped)
            if unmapped and plan.operation != "delete":  # a delete reads only the key: other fields are expected
                self.logger.warning(
                    "Stream %s: incoming fields that map to no field of %s, not written: %s%s", plan.stream,
                    plan.sobject, ", ".join(unmapped[:50]), " ..." if len(unmapped) > 50 else "",
                )  # fmt: skip

    # -- messages ------------------------------------------------------------------------------------------------

    def add_record(self, record: AirbyteRecordMessage) -> None:
        key = (record.namespace, record.stream)
        if key not in self.plans:
            self.not_in_catalog[record.stream] += 1  # the protocol says: ignore them; they are counted and logged
            return
        buffer, plan = self.buffers[key], self.plans[key]
        buffer.received += 1
        buffer.position += 1
        if not plan.record_filter.matches(record.data):
            buffer.filtered += 1
            return
        buffer.mapped += 1
        if buffer.mapped == 1 and not plan.mapper.maps_anything(record.data):
            raise ConfigError(
                f"Stream {plan.stream}: no field of its first record ({', '.join(sorted(record.data)[:30])}) matches "
                f"a field of {plan.sobject} that the {plan.operation} can write: nothing would be written. Name the "
                f"fields after the object's fields, or set {plan.mapping_setting}.",
                setting=plan.mapping_setting,
            )
        try:
            prepared = plan.mapper.prepare(buffer.position, record.data)
        except ValueFormatError as exc:
            self.processed += 1
            buffer.processed += 1
            placeholder = PreparedRecord(buffer.position, f"record #{buffer.position}", {}, record.data)
            self.reject(key, placeholder, exc.code, str(exc), [exc.target])
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
            buffer.processed += len(records)
            buffer.queued.append((records[-1].position, len(records)))
        self.log_progress(key)
        self.rejects.check(self.processed)

    def log_progress(self, key: StreamKey) -> None:
        """'committed' for the records whose outcomes are now all known, 'queued' for those still in a Bulk job."""
        buffer, plan = self.buffers[key], self.plans[key]
        oldest = plan.unsettled_from()
        committed = 0
        while buffer.queued and (oldest is None or buffer.queued[0][0] < oldest):
            committed += buffer.queued.popleft()[1]
        if committed:
            self.logger.info("%s: %d records committed to %s", plan.stream, committed, plan.sobject)
        if buffer.queued:
            waiting = sum(count for _, count in buffer.queued)
            self.logger.info("%s: %d records queued for a Bulk job to %s, not committed yet", plan.stream, waiting,
                             plan.sobject)  # fmt: skip

    def reject(self, key: StreamKey, record: PreparedRecord, code: str, message: str, fields: Any = ()) -> None:
        heapq.heappush(self.buffers[key].rejected_at, record.position)
        self.buffers[key].rejected += 1
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

"""Airbyte protocol plumbing the CDK 7.39 Destination lacks: strict stdin parsing, timed reading,
state statistics with rejectedRecordCount, and the DESTINATION_CATALOG message."""

from __future__ import annotations

import dataclasses
import enum
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, AirbyteStateStats, FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from airbyte_protocol_dataclasses.models import DestinationCatalog


@dataclass
class DestinationStats(AirbyteStateStats):
    """AirbyteStateStats with protocol 0.18's rejectedRecordCount, which the installed models do not have yet."""

    rejectedRecordCount: float | None = None


def message_to_json(message: AirbyteMessage) -> str:
    document = AirbyteMessageSerializer.dump(message)
    stats = message.state.destinationStats if message.state is not None else None
    if isinstance(stats, DestinationStats) and stats.rejectedRecordCount is not None:
        document["state"]["destinationStats"]["rejectedRecordCount"] = stats.rejectedRecordCount
    return orjson.dumps(document).decode()


def catalog_to_json(catalog: DestinationCatalog) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return orjson.dumps(
        {"type": "DESTINATION_CATALOG", "destination_catalog": plain(dataclasses.asdict(catalog))}
    ).decode()


def parse_lines(lines: Iterable[str]) -> Iterator[AirbyteMessage]:
    """One message per non-blank line. A line that is not a valid message stops the write, naming its number
    (the line itself is not quoted: it may hold personal data)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield AirbyteMessageSerializer.load(orjson.loads(line))
        except Exception as exc:  # orjson and serpyco raise several unrelated types
            raise AirbyteTracedException(
                message=f"Input line {number} is not a valid Airbyte message: {type(exc).__name__}.",
                internal_message=f"Input line {number}: {str(exc)[:200]}",
                failure_type=FailureType.system_error,
            ) from None


class Tick:
    """Yielded when no message arrived before the deadline: time to flush what is due."""


TICK = Tick()
_END = object()


def read_with_deadlines(messages: Iterable[AirbyteMessage], next_deadline: Any) -> Iterator[AirbyteMessage | Tick]:
    """Messages as they come, with a TICK whenever `next_deadline()` (a time.monotonic() value or None) passes
    while the input is quiet. A reader thread does the blocking reads, so a silent stdin cannot hold a flush."""
    import time

    inbox: queue.Queue[Any] = queue.Queue(maxsize=10000)  # bounded: a slow Salesforce slows the reader down

    def pump() -> None:
        try:
            for message in messages:
                inbox.put(message)
            inbox.put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            inbox.put(exc)

    threading.Thread(target=pump, name="stdin-reader", daemon=True).start()
    while True:
        deadline = next_deadline()
        try:
            if deadline is None:
                item = inbox.get()
            else:
                item = inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            yield TICK
            continue
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item

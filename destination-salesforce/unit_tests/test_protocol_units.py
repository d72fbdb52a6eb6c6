import json
import logging
import queue
import time

import pytest
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    StreamDescriptor,
    Type,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce.bulk_jobs import parse_bulk_error
from destination_salesforce.mapping import PreparedRecord
from destination_salesforce.protocol import TICK, DestinationStats, message_to_json, parse_lines, read_with_deadlines
from destination_salesforce.writers import Outcome, write_with_retries
from salesforce_api.errors import QuotaExceededError


def test_malformed_line_names_its_number_not_its_content() -> None:
    lines = ['{"type": "LOG", "log": {"level": "INFO", "message": "hi"}}\n', "\n", '{"type": "RECORD", secret\n']
    messages = parse_lines(lines)
    assert next(messages).type == Type.LOG
    with pytest.raises(AirbyteTracedException) as raised:
        next(messages)
    assert "line 3" in raised.value.message
    assert "secret" not in raised.value.message


def test_state_json_carries_rejected_record_count() -> None:
    state = AirbyteStateMessage(
        type=AirbyteStateType.STREAM,
        stream=AirbyteStreamState(StreamDescriptor(name="s"), AirbyteStateBlob(cursor=3)),
        destinationStats=DestinationStats(recordCount=5.0, rejectedRecordCount=2.0),
    )
    document = json.loads(message_to_json(AirbyteMessage(type=Type.STATE, state=state)))
    assert document["state"]["destinationStats"] == {"recordCount": 5.0, "rejectedRecordCount": 2.0}
    assert document["state"]["stream"]["stream_state"] == {"cursor": 3}


def test_quiet_input_still_ticks_at_the_deadline() -> None:
    inbox: queue.Queue = queue.Queue()

    def blocking():
        while (item := inbox.get()) is not None:
            yield item

    deadline = [time.monotonic()]  # already due
    reader = read_with_deadlines(blocking(), lambda: deadline[0])
    assert next(reader) is TICK  # nothing arrived, yet the consumer wakes up
    deadline[0] = None
    inbox.put("first")
    assert next(reader) == "first"
    inbox.put(None)
    assert list(reader) == []


def test_parse_bulk_error() -> None:
    assert parse_bulk_error("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --") == (
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName]",
        ("LastName",),
    )
    assert parse_bulk_error("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--")[0] == (
        "INVALID_CROSS_REFERENCE_KEY"
    )


class ScriptedWriter:
    """Answers each call from a script of per-record codes, recording what it was sent."""

    def __init__(self, *script: dict[int, str]) -> None:
        self.script = list(script)
        self.sent: list[list[int]] = []

    def write(self, records):
        self.sent.append([r.position for r in records])
        codes = self.script.pop(0)
        return [Outcome.failure(codes[r.position], "x") if r.position in codes else Outcome(True) for r in records]


def _records(n: int) -> list[PreparedRecord]:
    return [PreparedRecord(i, f"#{i}", {}) for i in range(1, n + 1)]


def test_only_locked_records_are_resubmitted() -> None:
    writer = ScriptedWriter({2: "UNABLE_TO_LOCK_ROW", 3: "DUPLICATE_VALUE"}, {})
    outcomes = write_with_retries(writer, _records(3), logging.getLogger("t"), sleep=lambda s: None)
    assert writer.sent == [[1, 2, 3], [2]]
    assert [o.success for o in outcomes] == [True, True, False]
    assert outcomes[2].code == "DUPLICATE_VALUE"


def test_lock_retries_end_in_a_reject() -> None:
    writer = ScriptedWriter(*[{1: "UNABLE_TO_LOCK_ROW"}] * 3)
    outcomes = write_with_retries(writer, _records(1), logging.getLogger("t"), attempts=3, sleep=lambda s: None)
    assert len(writer.sent) == 3
    assert outcomes[0].code == "UNABLE_TO_LOCK_ROW"


def test_event_allocation_exhausted_is_fatal() -> None:
    writer = ScriptedWriter({1: "LIMIT_EXCEEDED"})
    with pytest.raises(QuotaExceededError):
        write_with_retries(writer, _records(2), logging.getLogger("t"), sleep=lambda s: None)

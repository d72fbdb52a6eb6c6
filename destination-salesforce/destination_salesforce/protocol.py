"""Airbyte protocol plumbing the CDK 7.39 Destination lacks: strict stdin parsing, timed reading,
state statistics with rejectedRecordCount, and the DESTINATION_CATALOG message."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, AirbyteStateStats, FailureType, Type
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
    try:
        return orjson.dumps(document).decode()
    except TypeError:  # an integer beyond 64 bits, or a Decimal, in a state echoed back (see decode_line)
        return json.dumps(document, default=_json_number, separators=(",", ":"))


def _json_number(value: Any) -> Any:
    """A Decimal of an echoed state as a JSON number, or as text when no double can hold it (JSON has no Infinity)."""
    if isinstance(value, Decimal):
        number = float(value)
        return number if math.isfinite(number) else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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


class BadInputLine(AirbyteTracedException):
    """A stdin line that is not a message. The write commits what came before it, then fails with this."""


BOM = b"\xef\xbb\xbf"
# What may be a number orjson rounds to a double: a run of 19 digits (beyond 64 bits, or more significant digits than
# a double holds) or a negative three-digit exponent (1e-400 reads as 0.0; a positive one orjson refuses). Found by
# substring search in the line with every digit made 0: far faster than a regular expression.
ZERO_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)
NINETEEN_DIGITS = b"0" * 19


def parse_lines(lines: Iterable[bytes | str]) -> Iterator[AirbyteMessage]:
    """One message per non-blank line (UTF-8 bytes, or text). A line that is not a valid message stops the input
    with a BadInputLine naming its number and what is wrong with it (the line itself is not quoted: it may hold
    personal data). A UTF-8 byte order mark before the first line is skipped."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, str):
            line = line.encode("utf-8", errors="surrogatepass")
        if number == 1 and line.startswith(BOM):
            line = line[len(BOM) :]
        if not line.strip():
            continue
        try:
            document = decode_line(line)
        except UnicodeDecodeError as exc:
            raise _bad_line(number, f"it is not valid UTF-8 (byte {exc.start + 1})", str(exc)) from None
        except ValueError as exc:
            if "integer string conversion" in str(exc):  # Python's guard against quadratic-time conversions
                raise _bad_line(number, "it holds an integer of more than 4,300 digits", str(exc)) from None
            raise _bad_line(number, "it is not JSON", str(exc)) from None
        problem = shape_problem(document)
        if problem:
            raise _bad_line(number, problem, problem)
        try:
            yield AirbyteMessageSerializer.load(document)
        except Exception as exc:  # serpyco raises several unrelated types
            # The serialiser's own text quotes values of the line: only its kind is kept.
            problem = f"it does not follow the protocol ({type(exc).__name__})"
            raise _bad_line(number, problem, problem) from None


def decode_line(line: bytes) -> Any:
    """A JSON line with every number exact. orjson reads the usual line; a line it would round (an integer beyond
    64 bits, more digits than a double holds) or refuses for a number's size is read again by the standard library,
    integers as int and other numbers as Decimal. NaN and Infinity are not JSON: refused either way."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if "number" not in str(exc):
            if "UTF-8" in str(exc):
                line.decode("utf-8")  # raises the UnicodeDecodeError that says where
            raise
        return _exact(line)
    masked = line.translate(ZERO_DIGITS)
    if NINETEEN_DIGITS in masked or b"e-000" in masked or b"E-000" in masked:
        return _exact(line)
    return document


def _exact(line: bytes) -> Any:
    return json.loads(line.decode("utf-8"), parse_float=Decimal, parse_constant=_not_json)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


MESSAGE_BODIES = {t.value: t.value.lower() for t in Type}
MESSAGE_BODIES.update({"CONNECTION_STATUS": "connectionStatus", "DESTINATION_CATALOG": "destination_catalog"})


def shape_problem(document: Any) -> str | None:
    """What makes a decoded line unusable as a message, in words that quote no value; None when it looks right.

    The protocol models accept a RECORD without a record (or a STATE without a state): checked here, so that such
    a line stops the write with its line number instead of failing later without one."""
    if not isinstance(document, dict):
        kind = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(document))
        return f"it is a JSON {kind or 'null'}, not an object"
    kind = document.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_BODIES:
        return f"its 'type' is not one of {', '.join(MESSAGE_BODIES)}"
    body_name = MESSAGE_BODIES[kind]
    body = document.get(body_name)
    if kind in ("RECORD", "STATE") and not isinstance(body, dict):
        return f"a {kind} message needs a '{body_name}' object"
    if kind == "RECORD":
        if not isinstance(body.get("stream"), str) or not body["stream"]:
            return "its record has no 'stream' name"
        if not isinstance(body.get("data"), dict):
            return "its record's 'data' is not an object"
        if not isinstance(body.get("emitted_at"), int | float | Decimal) or isinstance(body["emitted_at"], bool):
            return "its record's 'emitted_at' is not a number"
    return None


def _bad_line(number: int, problem: str, detail: str) -> BadInputLine:
    return BadInputLine(
        message=f"Input line {number} is not a valid Airbyte message: {problem}.",
        internal_message=f"Input line {number}: {detail[:200]}",
        failure_type=FailureType.system_error,
    )


class UpToBadLine:
    """The messages before the first bad line. The write loop commits them and emits their STATEs, then raises
    `error` (the BadInputLine, or None when the input was whole)."""

    def __init__(self, messages: Iterable[Any]) -> None:
        self.messages = messages
        self.error: BadInputLine | None = None

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self.messages
        except BadInputLine as exc:
            self.error = exc


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

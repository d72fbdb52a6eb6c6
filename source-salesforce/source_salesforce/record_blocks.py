"""RECORD messages serialised in bulk: many records of one stream as one message of ready-made JSON lines.

A Bulk read yields hundreds of thousands of records; building an AirbyteMessage for each and serialising it later
costs more than reading it. The console entrypoint (SourceEntrypoint) asks for blocks instead and writes their bytes
as they are; any other caller (the CDK's own entrypoint, its test helpers) gets one AirbyteMessage per record.
The lines are byte for byte what SourceEntrypoint writes for single RECORD messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from airbyte_cdk.models import AirbyteMessage, Type


@dataclass
class RecordBlock(AirbyteMessage):
    """`count` RECORD messages of one stream: `lines` holds their JSON lines, each ending with a newline."""

    lines: bytes = b""
    count: int = 0
    stream: str = ""
    namespace: str | None = None


def record_line_parts(stream: str, namespace: str | None, emitted_at: int) -> tuple[bytes, bytes]:
    """What goes before and after a record's data JSON in its RECORD line (the keys in SourceEntrypoint's order)."""
    before = b'{"type":"RECORD","record":{"stream":' + orjson.dumps(stream) + b',"data":'
    after = b',"emitted_at":' + orjson.dumps(emitted_at)
    if namespace is not None:
        after += b',"namespace":' + orjson.dumps(namespace)
    return before, after + b"}}"


class RecordBlocks:
    """Turns batches of record data of one stream into RecordBlocks."""

    def __init__(self, stream: str, namespace: str | None, emitted_at: int) -> None:
        self._stream, self._namespace = stream, namespace
        self._before, self._after = record_line_parts(stream, namespace, emitted_at)
        self._between = self._after + b"\n" + self._before

    def block(self, records: Iterable[Mapping[str, Any]]) -> RecordBlock | None:
        """The block of `records`, or None when there are none. The records are serialised one by one as they come,
        so only their bytes are held."""
        lines = list(map(orjson.dumps, records))
        if not lines:
            return None
        lines[0] = self._before + lines[0]
        lines[-1] += self._after + b"\n"
        return RecordBlock(
            type=Type.RECORD,
            lines=self._between.join(lines),
            count=len(lines),
            stream=self._stream,
            namespace=self._namespace,
        )

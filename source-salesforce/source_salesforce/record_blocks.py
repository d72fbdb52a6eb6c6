"""RECORD messages serialised in bulk: many records of one stream as one message of ready-made JSON lines.

A Bulk read yields hundreds of thousands of records; building an AirbyteMessage for each and serialising it later
costs more than reading it. The console entrypoint (SourceEntrypoint) asks for blocks instead and writes their bytes
as they are; any other caller (the CDK's own entrypoint, its test helpers) gets one AirbyteMessage per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import AirbyteMessage, Type

from source_salesforce.record_lines import record_line_parts, record_lines


@dataclass
class RecordBlock(AirbyteMessage):
    """`count` RECORD messages of one stream: `lines` holds their JSON lines, each ending with a newline."""

    lines: bytes = b""
    count: int = 0
    stream: str = ""
    namespace: str | None = None


def record_block(stream: str, namespace: str | None, count: int, lines: bytes) -> RecordBlock:
    return RecordBlock(type=Type.RECORD, lines=lines, count=count, stream=stream, namespace=namespace)


class RecordBlocks:
    """Turns batches of record data of one stream into RecordBlocks."""

    def __init__(self, stream: str, namespace: str | None, emitted_at: int) -> None:
        self._stream, self._namespace = stream, namespace
        self._before, self._after = record_line_parts(stream, namespace, emitted_at)

    def block(self, records: Iterable[Mapping[str, Any]]) -> RecordBlock | None:
        """The block of `records`, or None when there are none."""
        count, lines = record_lines(records, self._before, self._after)
        return record_block(self._stream, self._namespace, count, lines) if count else None

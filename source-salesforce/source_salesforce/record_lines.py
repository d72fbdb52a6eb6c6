"""RECORD lines built directly as bytes: the envelope around a record's data JSON, and many records joined at once.

Kept free of the CDK (whose models take over a second to import) so that Bulk page workers can load it quickly.
The lines are byte for byte what SourceEntrypoint writes for single RECORD messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson


def record_line_parts(stream: str, namespace: str | None, emitted_at: int) -> tuple[bytes, bytes]:
    """What goes before and after a record's data JSON in its RECORD line (the keys in SourceEntrypoint's order)."""
    before = b'{"type":"RECORD","record":{"stream":' + orjson.dumps(stream) + b',"data":'
    after = b',"emitted_at":' + orjson.dumps(emitted_at)
    if namespace is not None:
        after += b',"namespace":' + orjson.dumps(namespace)
    return before, after + b"}}"


def record_lines(records: Iterable[Mapping[str, Any]], before: bytes, after: bytes) -> tuple[int, bytes]:
    """(how many, their RECORD lines each ending with a newline) for `records`, given record_line_parts().
    The records are serialised one by one as they come, so only their bytes are held."""
    lines = list(map(orjson.dumps, records))
    if not lines:
        return 0, b""
    return len(lines), before + (after + b"\n" + before).join(lines) + after + b"\n"

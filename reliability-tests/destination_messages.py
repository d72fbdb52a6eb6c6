"""Airbyte messages and catalogs fed to the destination on stdin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

STREAM = "people"


def record_line(data: dict[str, Any], stream: str = STREAM) -> str:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1}}) + "\n"


def state_line(position: int, stream: str = STREAM) -> str:
    descriptor = {"stream_descriptor": {"name": stream}, "stream_state": {"position": position}}
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": descriptor}}) + "\n"


def catalog(mode: str, stream: str = STREAM) -> dict[str, Any]:
    schema = {"type": "object", "properties": {}}
    return {
        "streams": [
            {
                "stream": {"name": stream, "json_schema": schema, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh",
                "destination_sync_mode": mode,
            }
        ]
    }


def row(i: int, prefix: str = "R") -> dict[str, Any]:
    return {"External_Id__c": f"{prefix}-{i:07d}", "Name": f"Row {i}", "Integer__c": i, "Text__c": f"text {i}"}


def lines(start: int, end: int, state_every: int, prefix: str = "R") -> Iterator[str]:
    """Records start..end-1 with a STATE (position = records so far) after every `state_every` and at the end."""
    for i in range(start, end):
        yield record_line(row(i, prefix))
        if (i + 1) % state_every == 0:
            yield state_line(i + 1)
    if end % state_every:
        yield state_line(end)


def destination_config(org: Any, api: str, **extra: Any) -> dict[str, Any]:
    return {
        "credentials": org.credentials("username_password"),
        "object": "X__c",
        "external_id_field": "External_Id__c",
        "api": api,
        "flush_interval_seconds": 0,
        **extra,
    }


def written_rows(org: Any, prefix: str = "R") -> list[dict[str, Any]]:
    return [r for r in org.admin.records("X__c") if str(r.get("External_Id__c") or "").startswith(prefix + "-")]

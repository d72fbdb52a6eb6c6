"""Collect the latest STATE of each stream from connector output: the file to resume a sync from.

source-salesforce read ... > messages.jsonl
python scripts/last_state.py < messages.jsonl > state.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any


def last_states(lines: Iterable[str]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for line in lines:
        if '"STATE"' not in line[:40]:
            continue
        state = json.loads(line)["state"]
        descriptor = state.get("stream", {}).get("stream_descriptor", {})
        latest[f"{descriptor.get('namespace')}.{descriptor.get('name')}"] = state
    return list(latest.values())


if __name__ == "__main__":
    json.dump(last_states(sys.stdin), sys.stdout)
    print()

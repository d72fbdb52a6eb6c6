"""Turn `source-salesforce discover` output into a configured catalog, as Airbyte's UI would.

    source-salesforce discover --config config.json | python scripts/configure_catalog.py Account X__c > catalog.json

Streams are chosen by name (all when none is given); each syncs incrementally on its default cursor when it has one,
else in full refresh, with `append_dedup` on its primary key.
"""

from __future__ import annotations

import argparse
import json
import sys


def configure(catalog: dict, names: list[str]) -> dict:
    streams = {s["name"]: s for s in catalog["streams"]}
    unknown = [name for name in names if name not in streams]
    if unknown:
        raise SystemExit(f"not in the discovered catalog: {', '.join(unknown)}")
    configured = []
    for name in names or list(streams):
        stream = streams[name]
        incremental = "incremental" in stream.get("supported_sync_modes", []) and stream.get("default_cursor_field")
        entry = {
            "stream": stream,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append_dedup" if stream.get("source_defined_primary_key") else "append",
        }
        if incremental:
            entry["cursor_field"] = stream["default_cursor_field"]
        if stream.get("source_defined_primary_key"):
            entry["primary_key"] = stream["source_defined_primary_key"]
        configured.append(entry)
    return {"streams": configured}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("streams", nargs="*", help="stream names (default: every discovered stream)")
    args = parser.parse_args()
    for line in sys.stdin:
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("type") == "CATALOG":
            json.dump(configure(message["catalog"], args.streams), sys.stdout, indent=2)
            print()
            return 0
    raise SystemExit("no CATALOG message on stdin: did discover fail? Run it alone to see its error.")


if __name__ == "__main__":
    sys.exit(main())

"""The demo behind `make demo`: two emulated orgs, a source read of one piped into the destination writing the other.

1. Starts org A (seeded with sample data) and org B (empty) on 127.0.0.1.
2. `source-salesforce discover` on org A, then an incremental `read` of Account and X__c.
3. The X__c records go through `destination-salesforce write` into org B: upsert by External_Id__c, with a column
   mapping, exactly as Airbyte would pipe them.
4. Checks that org B now holds the same X__c records as org A, then reads org A again from the saved state (nothing
   changed, so no records) and prints what each step cost in API calls.

Everything runs through the installed console scripts; the files it writes go to a temporary folder it prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from configure_catalog import configure  # scripts/ is on sys.path when this file runs
from last_state import last_states
from salesforce_emulator.testing import Emulator

BIN = Path(sys.executable).parent
STREAMS = ("Account", "X__c")
MAPPED = (
    "External_Id__c",
    "Name",
    "Text__c",
    "Number__c",
    "Integer__c",
    "Currency__c",
    "Checkbox__c",
    "Date__c",
    "DateTime__c",
    "Email__c",
    "Picklist__c",
)


def run(args: list[str], *, stdin: bytes | None = None) -> list[dict[str, Any]]:
    """Run a console script; return its messages; fail loudly with its own error output."""
    done = subprocess.run([str(BIN / args[0]), *args[1:]], input=stdin, capture_output=True, check=False)
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith(b"{")]
    if done.returncode != 0:
        traces = [m["trace"]["error"]["message"] for m in of_type(messages, "TRACE") if "error" in m["trace"]]
        sys.exit(f"{args[0]} {args[1]} failed: {traces or done.stderr.decode()[-2000:]}")
    return messages


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == kind]


def write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value, indent=2))
    return str(path)


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="salesforce-demo-"))
    with Emulator(seed="demo", records=200) as org_a, Emulator(seed="empty", records=0) as org_b:
        print(f"org A (seeded): {org_a.url}\norg B (empty):  {org_b.url}\nfiles:          {work}")
        source_config = write(
            work / "source.json", {"credentials": org_a.credentials("username_password"), "streams": list(STREAMS)}
        )

        step("source-salesforce check + discover (org A)")
        status = of_type(run(["source-salesforce", "check", "--config", source_config]), "CONNECTION_STATUS")
        print("check:", status[0]["connectionStatus"]["status"])
        catalog = of_type(run(["source-salesforce", "discover", "--config", source_config]), "CATALOG")[0]["catalog"]
        for stream in catalog["streams"]:
            print(
                f"  {stream['name']}: {len(stream['json_schema']['properties'])} fields, "
                f"cursor {stream.get('default_cursor_field')}"
            )
        configured = write(work / "catalog.json", configure(catalog, list(STREAMS)))

        step("source-salesforce read (org A)")
        org_a.admin.reset_calls()
        messages = run(["source-salesforce", "read", "--config", source_config, "--catalog", configured])
        records = of_type(messages, "RECORD")
        states = of_type(messages, "STATE")
        for name in STREAMS:
            print(f"  {name}: {sum(r['record']['stream'] == name for r in records)} records")
        print(f"  {len(states)} STATE messages, {org_a.admin.calls()['total']} API calls")

        step("destination-salesforce write (org B): upsert X__c by External_Id__c, mapped columns")
        destination_config = write(
            work / "destination.json",
            {
                "credentials": org_b.credentials("client_credentials"),
                "object": "X__c",
                "operation": "upsert",
                "external_id_field": "External_Id__c",
                "column_mapping": [{"source": f, "target": f} for f in MAPPED],
            },
        )
        x_catalog = json.loads(Path(configured).read_text())
        x_catalog["streams"] = [s for s in x_catalog["streams"] if s["stream"]["name"] == "X__c"]
        destination_catalog = write(work / "destination-catalog.json", x_catalog)
        piped = b"".join(
            json.dumps(m).encode() + b"\n"
            for m in messages
            if m["type"] == "STATE" or (m["type"] == "RECORD" and m["record"]["stream"] == "X__c")
        )
        org_b.admin.reset_calls()
        echoed = of_type(
            run(
                ["destination-salesforce", "write", "--config", destination_config, "--catalog", destination_catalog],
                stdin=piped,
            ),
            "STATE",
        )
        print(f"  {len(echoed)} STATE messages echoed after commit, {org_b.admin.calls()['total']} API calls")

        step("compare the orgs")
        source_rows = {r["External_Id__c"]: r for r in org_a.admin.records("X__c") if not r.get("IsDeleted")}
        copied_rows = {r["External_Id__c"]: r for r in org_b.admin.records("X__c")}
        differing = [
            key
            for key, row in source_rows.items()
            if key not in copied_rows or any(row[f] != copied_rows[key][f] for f in MAPPED)
        ]
        print(f"  org A: {len(source_rows)} X__c records, org B: {len(copied_rows)}, differing: {len(differing)}")

        step("source-salesforce read again from the last state (nothing changed)")
        state = write(work / "state.json", last_states(json.dumps(s) for s in states))
        org_a.admin.reset_calls()
        again = run(["source-salesforce", "read", "--config", source_config, "--catalog", configured, "--state", state])
        print(f"  {len(of_type(again, 'RECORD'))} records, {org_a.admin.calls()['total']} API calls")
    if differing:
        print(f"\nDemo FAILED: {len(differing)} records differ, e.g. {differing[:3]}")
        return 1
    print("\nDemo OK: the destination org holds exactly the source org's X__c records.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

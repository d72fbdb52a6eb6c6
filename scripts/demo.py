"""The demo behind `make demo`: two emulated orgs, a source read of one piped into the destination writing the other,
lookups included.

1. Starts org A and org B (empty) on 127.0.0.1. Both get a unique External_Id__c on Account (the emulated org has
   none there, as many real orgs); org A gets Accounts and X__c records, most pointing at an Account (Account__c).
2. `source-salesforce discover` on org A, then an incremental `read` of Account and X__c, with the setting
   `parent_external_ids` so that each X__c record carries its Account's external id
   (`"Account__r": {"External_Id__c": ...}`).
3. The records go through `destination-salesforce write` into org B, exactly as Airbyte would pipe them: Account
   upserted by External_Id__c first, then X__c, whose Account__c the destination writes as a lookup by the
   parent's external id (org A's Account Ids mean nothing in org B).
4. Compares every writable field of every record in the two orgs, Account__c by its parent's external id, then
   reads org A again from the saved state (nothing changed, so no records) and prints what each step cost in API
   calls.

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
from salesforce_api import RestClient, connect
from salesforce_emulator.testing import Emulator

BIN = Path(sys.executable).parent
STREAMS = ("Account", "X__c")
ACCOUNTS, X_RECORDS = 50, 200
KEY = "External_Id__c"  # the unique external id of both objects: how records (and lookups) match across orgs
FOLLOWED = [{"object": "X__c", "fields": ["Account__c"]}]
ORG_B_OWN = frozenset({"B-1", "B-2", "B-3", "B-4", "B-5"})  # external ids of the Accounts org B starts with


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


def prepare(org_a: Emulator, org_b: Emulator) -> None:
    """Account.External_Id__c in both orgs; Accounts, then X__c records pointing at them, in org A; a few Accounts
    of its own in org B, so that a copied Account gets another Id there than in org A (two emulated orgs number
    their records alike: without these, org A's Ids would point at the right Accounts by chance)."""
    for org in (org_a, org_b):
        org.admin.add_field("Account", KEY, "string", external_id=True, unique=True, length=255)
    org_a.admin.generate("Account", ACCOUNTS)
    org_a.admin.generate("X__c", X_RECORDS)  # Account__c drawn from the Accounts above (about one in ten empty)
    own = [{"Name": f"Org B's own account {n}", KEY: key} for n, key in enumerate(ORG_B_OWN, start=1)]
    RestClient(connect(org_b.credentials("username_password"), api_version="62.0")).create("Account", own)


def compare(org_a: Emulator, org_b: Emulator) -> dict[str, tuple[int, int, int, list[str]]]:
    """Per object: (records in A, records of B found equal, fields compared, differences), over every writable
    field, records keyed by External_Id__c; a reference to Account is compared through the parent's external id.
    A record missing in B, or one in B that is neither in A nor one of B's own, is a difference."""
    rest = RestClient(connect(org_a.credentials("username_password"), api_version="62.0"))
    keys = {org: {r["Id"]: r.get(KEY) for r in org.admin.records("Account")} for org in (org_a, org_b)}
    result = {}
    for name in STREAMS:
        fields = [
            f for f in rest.describe(name)["fields"] if f["createable"] and f["type"] not in ("address", "location")
        ]
        rows = {}
        for org in (org_a, org_b):
            rows[org] = {}
            for record in org.admin.records(name):
                if record.get("IsDeleted"):
                    continue
                values = {}
                for field in fields:
                    value = record.get(field["name"])
                    if field["referenceTo"] == ["Account"]:
                        # the parent, by its external id; an Id of no Account of the org (org A's, say) stays visible
                        value = keys[org].get(value, f"no Account of this org: {value}") if value else None
                    values[field["name"]] = value
                rows[org][record[KEY]] = values
        differing = [
            f"{name} {key}: {', '.join(f for f in row if row[f] != rows[org_b].get(key, {}).get(f, object()))}"
            for key, row in rows[org_a].items()
            if row != rows[org_b].get(key)
        ]
        differing += [f"{name} {key}: only in org B" for key in rows[org_b].keys() - rows[org_a].keys() - ORG_B_OWN]
        equal = sum(row == rows[org_b].get(key) for key, row in rows[org_a].items())
        result[name] = (len(rows[org_a]), equal, len(fields), differing)
    return result


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="salesforce-demo-"))
    with Emulator(seed="empty", records=0) as org_a, Emulator(seed="empty", records=0) as org_b:
        print(f"org A (source):      {org_a.url}\norg B (destination): {org_b.url}\nfiles:               {work}")
        prepare(org_a, org_b)
        source_config = write(
            work / "source.json",
            {
                "credentials": org_a.credentials("username_password"),
                "streams": list(STREAMS),
                "parent_external_ids": FOLLOWED,
            },
        )

        step("source-salesforce check + discover (org A)")
        status = of_type(run(["source-salesforce", "check", "--config", source_config]), "CONNECTION_STATUS")
        print("check:", status[0]["connectionStatus"]["status"])
        catalog = of_type(run(["source-salesforce", "discover", "--config", source_config]), "CATALOG")[0]["catalog"]
        for stream in catalog["streams"]:
            parent = stream["json_schema"]["properties"].get("Account__r")
            print(
                f"  {stream['name']}: {len(stream['json_schema']['properties'])} fields, "
                f"cursor {stream.get('default_cursor_field')}"
                + (f", Account__r (parent external id): {list(parent['properties'])}" if parent else "")
            )
        configured = write(work / "catalog.json", configure(catalog, list(STREAMS)))

        step("source-salesforce read (org A), parent_external_ids: X__c.Account__c")
        org_a.admin.reset_calls()
        messages = run(["source-salesforce", "read", "--config", source_config, "--catalog", configured])
        records = of_type(messages, "RECORD")
        states = of_type(messages, "STATE")
        for name in STREAMS:
            print(f"  {name}: {sum(r['record']['stream'] == name for r in records)} records")
        sample = next(r["record"]["data"] for r in records if r["record"]["data"].get("Account__r"))
        print(f"  e.g. X__c {sample[KEY]}: Account__c {sample['Account__c']}, Account__r {sample['Account__r']}")
        print(f"  {len(states)} STATE messages, {org_a.admin.calls()['total']} API calls")

        step("destination-salesforce write (org B): upsert Account, then X__c, by External_Id__c")
        destination_config = write(
            work / "destination.json",
            {"credentials": org_b.credentials("client_credentials"), "external_id_field": KEY},
        )
        org_b.admin.reset_calls()
        echoed = of_type(
            run(
                ["destination-salesforce", "write", "--config", destination_config, "--catalog", configured],
                stdin=b"".join(json.dumps(m).encode() + b"\n" for m in messages if m["type"] in ("RECORD", "STATE")),
            ),
            "STATE",
        )
        print(f"  {len(echoed)} STATE messages echoed after commit, {org_b.admin.calls()['total']} API calls")

        step("compare the orgs: every writable field, Account__c by the parent's external id")
        compared = compare(org_a, org_b)
        for name, (in_a, equal, fields, differing) in compared.items():
            print(f"  {name}: {in_a} in org A, {equal} equal in org B ({fields} fields), differing: {len(differing)}")
        b_accounts = {r["Id"] for r in org_b.admin.records("Account")}
        a_lookups = {r[KEY]: r.get("Account__c") for r in org_a.admin.records("X__c")}
        linked = [r for r in org_b.admin.records("X__c") if r.get("Account__c") in b_accounts]
        moved = sum(r["Account__c"] != a_lookups.get(r[KEY]) for r in linked)
        print(
            f"  lookups: {len(linked)} X__c records in org B point at an Account of org B ({moved} by another Id "
            f"than in org A); the other {len(a_lookups) - len(linked)} have no Account in either org"
        )

        step("source-salesforce read again from the last state (nothing changed)")
        state = write(work / "state.json", last_states(json.dumps(s) for s in states))
        org_a.admin.reset_calls()
        again = run(["source-salesforce", "read", "--config", source_config, "--catalog", configured, "--state", state])
        print(f"  {len(of_type(again, 'RECORD'))} records, {org_a.admin.calls()['total']} API calls")
    problems = [d for *_, differing in compared.values() for d in differing]
    if problems:
        print(f"\nDemo FAILED: {len(problems)} differences, e.g. {problems[:3]}")
        return 1
    print("\nDemo OK: org B holds exactly org A's Account and X__c records, lookups included.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

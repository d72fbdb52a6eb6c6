"""Run Airbyte's own source-salesforce, unmodified, against the emulator: spec, check, discover, read, read with state.

    make compat      # installs airbyte-source-salesforce==2.10.3 in a venv under ~/.cache, then runs this

That connector hard-codes https://login.salesforce.com and only knows the refresh-token grant. The emulator serves
https behind its CONNECT proxy for Salesforce's hosts, so the connector needs nothing but HTTPS_PROXY and
REQUESTS_CA_BUNDLE: the login lands on the emulator, whose token answer sends every later call to the org's My Domain
through the same proxy. Exits 1 (saying what differed) unless every step behaves as on a real org.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from configure_catalog import configure
from last_state import last_states
from salesforce_emulator import oauth
from salesforce_emulator.testing import Emulator

# Account, Contact and X__c have address or base64 fields, so the connector reads them by REST; Opportunity and Case
# go through Bulk API 2.0 query jobs.
STREAMS = ["Account", "Contact", "X__c", "Opportunity", "Case"]
RECORDS = 300
CHANGED = 3  # Accounts and Opportunities changed between the two reads


class CompatFailure(Exception):
    pass


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise CompatFailure(what)


class Connector:
    def __init__(self, executable: str, org: Emulator, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if k.upper() not in {"NO_PROXY", "DEPLOYMENT_MODE"}}
        self.env.update({"HTTPS_PROXY": org.proxy_url or "", "REQUESTS_CA_BUNDLE": org.ca_file or ""})

    def run(self, *args: str) -> list[dict[str, Any]]:
        started = time.monotonic()
        done = subprocess.run(
            [self.executable, *args],
            env=self.env,
            cwd=self.workdir,  # the connector writes its Bulk result files to the working directory
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        print(f"  {args[0]:<8} exit {done.returncode} in {time.monotonic() - started:5.1f} s, {len(messages)} messages")
        if done.returncode != 0:
            errors = [m["trace"]["error"] for m in messages if m.get("type") == "TRACE" and "error" in m["trace"]]
            detail = "; ".join(e.get("message", "") + " " + e.get("internal_message", "") for e in errors)
            raise CompatFailure(f"{args[0]} exited {done.returncode}: {detail or done.stderr[-2000:]}")
        return messages


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == kind]


def records_by_stream(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for message in of_type(messages, "RECORD"):
        found.setdefault(message["record"]["stream"], []).append(message["record"]["data"])
    return found


def change_records(org: Emulator) -> dict[str, set[str]]:
    """Update a few Accounts and Opportunities through the REST API (their SystemModstamp moves to now)."""
    http = org.admin.http
    headers = {"Authorization": f"Bearer {org.access_token()}"}
    changed: dict[str, set[str]] = {}
    for sobject in ("Account", "Opportunity"):
        ids = [row["Id"] for row in org.admin.records(sobject)[:CHANGED]]
        for record_id in ids:
            url = f"{org.url}/services/data/v62.0/sobjects/{sobject}/{record_id}"
            answer = http.patch(url, json={"Description": "changed for the second read"}, headers=headers, timeout=60)
            expect(answer.status_code == 204, f"updating {sobject} {record_id}: {answer.status_code} {answer.text}")
        changed[sobject] = set(ids)
    return changed


def run(executable: str, profile: str) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="compat-") as tmp,
        Emulator(records=RECORDS, proxy=True, profile=profile, rest_page_size=100) as org,
    ):
        work = Path(tmp)
        org.admin.bulk(query_page_size=120)  # several Bulk result pages per job
        connector = Connector(executable, org, work)
        config = {
            "client_id": oauth.CLIENT_ID,
            "client_secret": oauth.CLIENT_SECRET,
            "refresh_token": oauth.REFRESH_TOKEN,
            "start_date": "2020-12-01T00:00:00Z",
            "stream_slice_step": "P365D",
        }
        (work / "config.json").write_text(json.dumps(config))
        print(f"emulator {org.url}, proxy {org.proxy_url}, profile {profile}; connector {executable}")

        spec = of_type(connector.run("spec"), "SPEC")
        expect(len(spec) == 1, "spec: no SPEC message")
        expect("refresh_token" in spec[0]["spec"]["connectionSpecification"]["properties"], "spec: no refresh_token")

        status = of_type(connector.run("check", "--config", "config.json"), "CONNECTION_STATUS")
        expect(
            [s["connectionStatus"]["status"] for s in status] == ["SUCCEEDED"],
            f"check: {status}",
        )

        catalogs = of_type(connector.run("discover", "--config", "config.json"), "CATALOG")
        expect(len(catalogs) == 1, "discover: no CATALOG message")
        names = {s["name"] for s in catalogs[0]["catalog"]["streams"]}
        missing = set(STREAMS) - names
        expect(not missing, f"discover: streams missing from the catalog: {sorted(missing)}")
        catalog = configure(catalogs[0]["catalog"], STREAMS)
        (work / "catalog.json").write_text(json.dumps(catalog))

        first = connector.run("read", "--config", "config.json", "--catalog", "catalog.json")
        got = records_by_stream(first)
        for name in STREAMS:
            expected = {row["Id"] for row in org.admin.records(name)}
            ids = [record["Id"] for record in got.get(name, [])]
            expect(len(ids) == len(expected), f"read: {name} gave {len(ids)} records, the org has {len(expected)}")
            expect(set(ids) == expected, f"read: {name} records differ from the org's")
        states = last_states(json.dumps(m) for m in of_type(first, "STATE"))
        expect(
            {s["stream"]["stream_descriptor"]["name"] for s in states} == set(STREAMS),
            f"read: a STATE for every stream, got {states}",
        )
        (work / "state.json").write_text(json.dumps(states))

        changed = change_records(org)
        second = connector.run("read", "--config", "config.json", "--catalog", "catalog.json", "--state", "state.json")
        again = records_by_stream(second)
        counts = Counter({name: len(records) for name, records in again.items()})
        for sobject, ids in changed.items():
            seen = {record["Id"] for record in again.get(sobject, [])}
            expect(ids <= seen, f"read with state: changed {sobject} records missing: {sorted(ids - seen)}")
            descriptions = {r["Id"]: r.get("Description") for r in again[sobject] if r["Id"] in ids}
            expect(
                set(descriptions.values()) == {"changed for the second read"},
                f"read with state: {sobject} came back without the change: {descriptions}",
            )
        for name in STREAMS:
            expect(counts[name] < RECORDS, f"read with state: {name} was read again in full ({counts[name]} records)")
        print(f"  first read: {dict(Counter({n: len(r) for n, r in got.items()}))}")
        print(f"  read with state: {dict(counts)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connector", required=True, help="the source-salesforce executable of the installed package")
    parser.add_argument("--profile", default="default", help="the emulator's latency profile (default, production)")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        run(args.connector, args.profile)
    except CompatFailure as failure:
        print(f"compat: FAILED: {failure}", file=sys.stderr)
        return 1
    print(
        f"compat: airbyte-source-salesforce passed spec, check, discover, read and read with state "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

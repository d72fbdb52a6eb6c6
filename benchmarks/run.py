"""Benchmarks: throughput, API calls and peak memory of both connectors against the emulator.

    make bench                                   # every scenario at 10,000 / 100,000 / 1,000,000 records
    .venv/bin/python benchmarks/run.py --sizes 10000,100000 --repeat 3 --only source_rest,source_bulk
    make bench-production [BENCH_SCALE=0.05]     # the production-profile scenarios, beside Airbyte's source

The production-profile scenarios (prod_first_sync, prod_incremental, prod_destination_upsert) are in
production.py: sized by --scale rather than --sizes, run once each.

Each connector runs as its installed console script in a subprocess, exactly as in production; the emulator runs in
another process. Figures are medians over --repeat runs; peak RSS is the connector process's own high-water mark
(VmHWM), and the sum of its child processes' when it has any. Results go to benchmarks/results.json (raw) and
benchmarks/results.md (tables), with the machine and the command that produced them; a figure more than 20% worse
than the committed one prints a warning.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import production
import requests
from memory import PeakMemory

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "results.md"
OBJECT = "X__c"
REGRESSION = 0.20
RECORD_MARKERS = (b'{"type":"RECORD"', b'{"type": "RECORD"')
PROFILE = {"name": "default"}  # the emulator's latency profile for this run (--profile)


# ---------------------------------------------------------------- the emulated org, in its own process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Org:
    """An emulator process and its admin API."""

    def __init__(self, workdir: Path, records: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / f"emulator-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                str(BIN / "salesforce-emulator"),
                "serve",
                "--port",
                str(self.port),
                "--seed",
                "empty",
                "--records",
                "0",
                "--db",
                str(workdir / f"org-{self.port}.sqlite3"),
                "--daily-limit",
                "100000000",
                "--profile",
                PROFILE["name"],
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.http = requests.Session()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.http.get(f"{self.url}/services/data/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the emulator did not start; see {self.log.name}")
        if records:
            self.generate(OBJECT, records)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.url}/__emulator/{path}", timeout=600, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def generate(self, sobject: str, count: int) -> None:
        self.admin("POST", f"records/{sobject}/generate", json={"count": count})

    def calls(self) -> int:
        return int(self.admin("GET", "calls")["total"])

    def reset_calls(self) -> None:
        self.admin("DELETE", "calls")

    def credentials(self) -> dict[str, Any]:
        return {
            "auth_type": "username_password",
            "login_url": self.url,
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "username": "admin@example.com",
            "password": "emulator-password",
            "security_token": "EMULATORTOKEN",
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@contextmanager
def org(workdir: Path, records: int):
    instance = Org(workdir, records)
    try:
        yield instance
    finally:
        instance.stop()


# ---------------------------------------------------------------- running a connector and measuring it


@dataclass
class Run:
    seconds: float
    records: int
    peak_rss_mb: float
    api_calls: int
    output: list[bytes] = field(default_factory=list, repr=False)
    children_rss_mb: float = 0.0  # the sum of the child processes' peaks (the source's Bulk page workers)


def run_connector(
    args: list[str], org: Org, *, stdin_path: Path | None = None, keep: Callable[[bytes], bool] | None = None
) -> Run:
    """Run a console script to completion; count RECORD lines on stdout; peak RSS from the child's VmHWM.

    (rusage's ru_maxrss is no good here: a forked child inherits the parent's high-water mark across exec.)
    """
    org.reset_calls()
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    peak = PeakMemory(process.pid)
    records, kept, tail = 0, [], b""
    tails = dict.fromkeys(RECORD_MARKERS, b"")
    assert process.stdout is not None
    while chunk := process.stdout.read(1 << 20):
        # bytes.count keeps this process's share of the 2 cores small; lines are split only when some are kept
        for marker in RECORD_MARKERS:  # a marker may straddle two chunks: keep its length - 1 bytes of the last one
            joined = tails[marker] + chunk
            records += joined.count(marker)
            tails[marker] = joined[1 - len(marker) :]
        if keep:
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            kept += [line for line in lines if keep(line)]
    status = process.wait()
    seconds = time.perf_counter() - started
    if stdin_path:
        stdin.close()
    if status != 0:
        raise RuntimeError(f"{shlex.join(args[:2])} exited with {status}")
    main_mb, children_mb = peak.stop()
    return Run(seconds, records, main_mb, org.calls(), kept, children_mb)


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def catalog(stream: str, sync_mode: str, cursor: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "stream": {"name": stream, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": sync_mode,
        "destination_sync_mode": "append",
    }
    if cursor:
        entry["cursor_field"] = [cursor]
    return {"streams": [entry]}


def discovered_catalog(org: Org, workdir: Path, config: Path, sync_mode: str) -> Path:
    out = subprocess.run(
        [str(BIN / "source-salesforce"), "discover", "--config", str(config)], capture_output=True, check=True
    ).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("type") == "CATALOG":
            stream = next(s for s in message["catalog"]["streams"] if s["name"] == OBJECT)
            # Bulk API 2.0 cannot return base64 fields (the source reads those through REST): leave the one base64
            # field out so both APIs are measured on the same 40 fields.
            stream["json_schema"]["properties"].pop("Attachment__c", None)
            entry = {"stream": stream, "sync_mode": sync_mode, "destination_sync_mode": "append"}
            if sync_mode == "incremental":
                entry["cursor_field"] = stream.get("default_cursor_field") or ["SystemModstamp"]
            return write_json(workdir / f"catalog-{sync_mode}.json", {"streams": [entry]})
    raise RuntimeError("discover printed no catalog")


# ---------------------------------------------------------------- scenarios


def source_full_refresh(api: str) -> Callable[[Path, int, int], dict[str, Any]]:
    def scenario(workdir: Path, size: int, repeat: int) -> dict[str, Any]:
        with org(workdir, size) as o:
            config = write_json(
                workdir / "source.json", {"credentials": o.credentials(), "force_api": api, "streams": [OBJECT]}
            )
            cat = discovered_catalog(o, workdir, config, "full_refresh")
            runs = [
                run_connector(
                    [str(BIN / "source-salesforce"), "read", "--config", str(config), "--catalog", str(cat)], o
                )
                for _ in range(repeat)
            ]
            ceiling = [fetch_raw(o, api) for _ in range(repeat)]
        assert all(r.records == size for r in runs), [r.records for r in runs]
        return summarise(runs, size, ceiling_seconds=statistics.median(ceiling))

    return scenario


def logged_in(o: Org) -> tuple[requests.Session, str]:
    http = requests.Session()
    token = http.post(
        f"{o.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "username": "admin@example.com",
            "password": "emulator-passwordEMULATORTOKEN",
        },
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http, f"{o.url}/services/data/v62.0"


def touch(o: Org, count: int) -> None:
    """Change `count` records through sObject Collections, so an incremental sync has something to pick up."""
    http, base = logged_in(o)
    page = http.get(f"{base}/query", params={"q": f"SELECT Id FROM {OBJECT} LIMIT {count}"}).json()
    ids = [r["Id"] for r in page["records"]]
    while not page["done"]:
        page = http.get(o.url + page["nextRecordsUrl"]).json()
        ids += [r["Id"] for r in page["records"]]
    for start in range(0, len(ids), 200):
        records = [{"attributes": {"type": OBJECT}, "Id": i, "Name": "touched"} for i in ids[start : start + 200]]
        http.patch(f"{base}/composite/sobjects", json={"allOrNone": False, "records": records}).raise_for_status()


def count(o: Org, http: requests.Session | None = None) -> int:
    """Records the org holds, by a SOQL COUNT() (the admin API would ship every row)."""
    if http is None:
        http, _ = logged_in(o)
    base = f"{o.url}/services/data/v62.0"
    return int(http.get(f"{base}/query", params={"q": f"SELECT COUNT() FROM {OBJECT}"}).json()["totalSize"])


def fetch_raw(o: Org, api: str) -> float:
    """The ceiling: the same records fetched from the emulator by plain HTTP with no processing."""
    http, base = logged_in(o)
    fields = [
        f["name"]
        for f in http.get(f"{base}/sobjects/{OBJECT}/describe").json()["fields"]
        if f["type"] not in ("address", "location", "base64")  # the fields the source benchmarks read
    ]
    soql = f"SELECT {', '.join(fields)} FROM {OBJECT}"
    started = time.perf_counter()
    if api == "rest":
        page = orjson.loads(http.get(f"{base}/query", params={"q": soql}).content)
        while not page["done"]:
            page = orjson.loads(http.get(o.url + page["nextRecordsUrl"]).content)
    else:
        job = http.post(f"{base}/jobs/query", json={"operation": "query", "query": soql}).json()
        while http.get(f"{base}/jobs/query/{job['id']}").json()["state"] != "JobComplete":
            time.sleep(0.05)
        locator = None
        while True:
            params = {"locator": locator} if locator else {}
            with http.get(f"{base}/jobs/query/{job['id']}/results", params=params, stream=True) as response:
                for _ in response.iter_content(1 << 20):
                    pass
                locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                break
    return time.perf_counter() - started


def source_incremental(workdir: Path, size: int, repeat: int) -> dict[str, Any]:
    with org(workdir, size) as o:
        config = write_json(workdir / "source.json", {"credentials": o.credentials(), "streams": [OBJECT]})
        cat = discovered_catalog(o, workdir, config, "incremental")
        args = [str(BIN / "source-salesforce"), "read", "--config", str(config), "--catalog", str(cat)]
        first = run_connector(args, o, keep=lambda line: b'"STATE"' in line[:20])
        state = workdir / "state.json"
        state.write_text(json.dumps([json.loads(first.output[-1])["state"]]))
        unchanged = [run_connector([*args, "--state", str(state)], o) for _ in range(repeat)]
        touched = max(1, size // 100)
        touch(o, touched)
        changed = run_connector([*args, "--state", str(state)], o)
    return {
        "no_changes": {
            "api_calls": unchanged[0].api_calls,
            "seconds": statistics.median(r.seconds for r in unchanged),
            "records": unchanged[0].records,
        },
        "one_percent_changed": {
            "api_calls": changed.api_calls,
            "seconds": changed.seconds,
            "records": changed.records,
            "changed": touched,
        },
    }


def discover_many_objects(workdir: Path, size: int, repeat: int) -> dict[str, Any]:
    with org(workdir, 0) as o:
        for i in range(size):
            o.admin(
                "POST",
                "schema/objects",
                json={
                    "name": f"Bench{i:04d}__c",
                    "fields": [{"name": "Amount__c", "type": "currency"}, {"name": "Label__c", "type": "string"}],
                },
            )
        config = write_json(workdir / "source.json", {"credentials": o.credentials()})
        runs = [
            run_connector([str(BIN / "source-salesforce"), "discover", "--config", str(config)], o)
            for _ in range(repeat)
        ]
    return {
        "objects": size,
        "api_calls": runs[0].api_calls,
        "seconds": statistics.median(r.seconds for r in runs),
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
    }


def destination_write(operation: str, api: str) -> Callable[[Path, int, int], dict[str, Any]]:
    def scenario(workdir: Path, size: int, repeat: int) -> dict[str, Any]:
        runs = []
        for attempt in range(repeat):
            with org(workdir, 0) as o:
                config = write_json(
                    workdir / "destination.json",
                    {
                        "credentials": o.credentials(),
                        "object": OBJECT,
                        "operation": operation,
                        "api": api,
                        "flush_interval_seconds": 0,  # batch mode, as a large load is configured
                        **({"external_id_field": "External_Id__c"} if operation == "upsert" else {}),
                    },
                )
                cat = write_json(workdir / "dcatalog.json", catalog("rows", "full_refresh"))
                messages = workdir / f"messages-{size}.jsonl"
                if not messages.exists():
                    write_messages(messages, size)
                runs.append(
                    run_connector(
                        [str(BIN / "destination-salesforce"), "write", "--config", str(config), "--catalog", str(cat)],
                        o,
                        stdin_path=messages,
                    )
                )
                held = count(o)
                if held < size:
                    raise RuntimeError(f"the org holds {held} records after writing {size} (attempt {attempt})")
        if PROFILE["name"] != "default":
            return summarise(runs, size)  # the ceiling sends one call after another: not a bound under latency
        ceiling = []
        for _ in range(repeat):
            with org(workdir, 0) as o:
                ceiling.append(write_raw(o, operation, api, workdir / f"messages-{size}.jsonl"))
                if count(o) < size:
                    raise RuntimeError("the ceiling run did not write every record")
        return summarise(runs, size, ceiling_seconds=statistics.median(ceiling))

    return scenario


def write_raw(o: Org, operation: str, api: str, messages: Path) -> float:
    """The ceiling: the same records written to a fresh org by plain HTTP with no connector in between. Requests
    are built before the clock starts and sent one after another, in the connector's units: Collections of 200
    records, or Bulk jobs of up to 100 MB of the same CSV (each waited for before the next)."""
    from destination_salesforce.mapping import csv_value
    from salesforce_api.bulk import MAX_JOB_BYTES, csv_bytes

    http, base = logged_in(o)
    with messages.open("rb") as lines:
        records = [orjson.loads(line)["record"]["data"] for line in lines if b'"RECORD"' in line[:20]]
    if api == "collections":
        method, url = ("POST", f"{base}/composite/sobjects")
        if operation == "upsert":
            method, url = ("PATCH", f"{base}/composite/sobjects/{OBJECT}/External_Id__c")
        bodies = [
            orjson.dumps({"allOrNone": False, "records": [{"attributes": {"type": OBJECT}, **r} for r in chunk]})
            for chunk in (records[i : i + 200] for i in range(0, len(records), 200))
        ]
        del records
        started = time.perf_counter()
        for body in bodies:
            http.request(method, url, data=body, headers={"Content-Type": "application/json"}).raise_for_status()
        return time.perf_counter() - started
    header = list(records[0])
    head = csv_bytes([header])
    parts, part, size = [], [], len(head)
    for line in (csv_bytes([[csv_value(r[name]) for name in header]]) for r in records):
        if size + len(line) > MAX_JOB_BYTES:
            parts.append(head + b"".join(part))
            part, size = [], len(head)
        part.append(line)
        size += len(line)
    parts.append(head + b"".join(part))
    del records
    spec = {"object": OBJECT, "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
    if operation == "upsert":
        spec["externalIdFieldName"] = "External_Id__c"
    started = time.perf_counter()
    for data in parts:
        created = http.post(f"{base}/jobs/ingest", json=spec)
        created.raise_for_status()
        job = created.json()
        uploaded = http.put(f"{base}/jobs/ingest/{job['id']}/batches", data=data, headers={"Content-Type": "text/csv"})
        uploaded.raise_for_status()
        http.patch(f"{base}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).raise_for_status()
        while http.get(f"{base}/jobs/ingest/{job['id']}").json()["state"] not in ("JobComplete", "Failed", "Aborted"):
            time.sleep(0.05)
    return time.perf_counter() - started


def write_messages(path: Path, size: int) -> None:
    emitted_at = int(time.time() * 1000)
    with open(path, "w") as out:
        for i in range(size):
            data = {
                "External_Id__c": f"B-{i:08d}",
                "Name": f"Record {i}",
                "Text__c": f'row {i}, with "quotes", commas and a\nnewline',
                "Number__c": i * 1.5,
                "Integer__c": i % 1000,
                "Currency__c": i / 100,
                "Checkbox__c": i % 2 == 0,
                "Date__c": "2024-05-17",
                "DateTime__c": "2024-05-17T10:00:00.000Z",
                "Email__c": f"user{i}@example.com",
            }
            out.write(
                json.dumps({"type": "RECORD", "record": {"stream": "rows", "data": data, "emitted_at": emitted_at}})
                + "\n"
            )
        out.write(
            json.dumps(
                {
                    "type": "STATE",
                    "state": {
                        "type": "STREAM",
                        "stream": {"stream_descriptor": {"name": "rows"}, "stream_state": {"done": size}},
                    },
                }
            )
            + "\n"
        )


def destination_realtime(workdir: Path, size: int, repeat: int) -> dict[str, Any]:
    """Latency from a record written to the connector's stdin to the org holding it (polled by REST count)."""
    samples = min(size, 40)
    with org(workdir, 0) as o:
        config = write_json(
            workdir / "destination.json",
            {
                "credentials": o.credentials(),
                "object": OBJECT,
                "operation": "upsert",
                "api": "collections",
                "external_id_field": "External_Id__c",
                "flush_interval_seconds": 1,
            },
        )
        cat = write_json(workdir / "dcatalog.json", catalog("rows", "full_refresh"))
        process = subprocess.Popen(
            [str(BIN / "destination-salesforce"), "write", "--config", str(config), "--catalog", str(cat)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdin is not None
        latencies = []
        http, _ = logged_in(o)
        for i in range(samples):
            line = {
                "type": "RECORD",
                "record": {
                    "stream": "rows",
                    "emitted_at": 0,
                    "data": {"External_Id__c": f"RT-{i}", "Name": f"Real time {i}"},
                },
            }
            started = time.perf_counter()
            process.stdin.write((json.dumps(line) + "\n").encode())
            process.stdin.flush()
            while count(o, http) <= i:
                time.sleep(0.01)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.2)
        process.stdin.close()
        process.wait(timeout=60)
    latencies.sort()
    return {
        "samples": samples,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[max(0, int(len(latencies) * 0.95) - 1)],
    }


def summarise(runs: list[Run], size: int, ceiling_seconds: float | None = None) -> dict[str, Any]:
    seconds = statistics.median(r.seconds for r in runs)
    result = {
        "records": size,
        "seconds": seconds,
        "records_per_s": size / seconds,
        "api_calls": statistics.median(r.api_calls for r in runs),
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
        "runs": [r.seconds for r in runs],
    }
    if any(r.children_rss_mb for r in runs):
        result["workers_peak_rss_mb"] = max(r.children_rss_mb for r in runs)
    if ceiling_seconds:
        result["ceiling_records_per_s"] = size / ceiling_seconds
        result["fraction_of_ceiling"] = ceiling_seconds / seconds
    return result


SCENARIOS: dict[str, tuple[Callable[[Path, int, int], dict[str, Any]], bool]] = {
    # name: (function, sized by --sizes; otherwise run once with a fixed size)
    "source_rest": (source_full_refresh("rest"), True),
    "source_bulk": (source_full_refresh("bulk"), True),
    "source_incremental": (source_incremental, True),
    "discover_1000_objects": (discover_many_objects, False),
    "destination_insert_collections": (destination_write("insert", "collections"), True),
    "destination_upsert_collections": (destination_write("upsert", "collections"), True),
    "destination_insert_bulk": (destination_write("insert", "bulk"), True),
    "destination_upsert_bulk": (destination_write("upsert", "bulk"), True),
    "destination_realtime": (destination_realtime, False),
}
FIXED_SIZE = {"discover_1000_objects": 1000, "destination_realtime": 40}


# ---------------------------------------------------------------- results


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def compare(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Warnings for figures more than 20% worse than the committed ones (higher is better for rates)."""
    warnings = []
    for name, by_size in current.items():
        for size, figures in by_size.items():
            old = previous.get(name, {}).get(size)
            if not isinstance(old, dict) or "error" in figures:
                continue
            for key, better in (("records_per_s", max), ("api_calls", min), ("peak_rss_mb", min), ("p95_s", min)):
                if key in figures and key in old and old[key]:
                    worse = figures[key] < old[key] if better is max else figures[key] > old[key]
                    change = abs(figures[key] - old[key]) / old[key]
                    if worse and change > REGRESSION:
                        warnings.append(
                            f"{name} @ {size}: {key} {old[key]:.4g} -> {figures[key]:.4g} "
                            f"({change:.0%} worse than the committed result)"
                        )
    return warnings


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine['cpus']} CPUs ({machine['processor']}), {machine['platform']}, Python {machine['python']}.",
        "A shared machine: compare ratios measured in one run, not single times.",
        "",
        "Produced by (each run replaces the scenarios it ran):",
        "",
        *(f"- {run['date']}: `{run['command']}` ({', '.join(run['scenarios'])})" for run in report.get("runs", [])),
        "",
        "Medians over the repeated runs; peak RSS is the connector process's own high-water mark (VmHWM);",
        "workers_peak_rss_mb is the sum of its child processes' (the source's Bulk page workers).",
        "",
    ]
    for name, by_size in report["results"].items():
        if name in production.SCENARIOS:
            lines += production.markdown_section(name, by_size)
            continue
        lines += [f"## {name}", "", "| size | figures |", "|---|---|"]
        for size, figures in by_size.items():
            shown = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items() if k != "runs"
            )
            lines.append(f"| {size} | {shown} |")
        lines.append("")
    if any(name in production.SCENARIOS for name in report["results"]):
        lines += ["## The production profile's lower bound", "", production.LOWER_BOUND_TEXT, ""]
        lines += ["## The production scenarios' commands", "", production.COMMANDS_TEXT, ""]
    if report.get("notes"):
        lines += ["## Where the time goes", "", report["notes"], ""]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-large", type=int, default=1, help="repeats for sizes of 1,000,000 and more")
    parser.add_argument("--only", default=",".join([*SCENARIOS, *production.SCENARIOS]))
    parser.add_argument("--scale", type=float, default=1.0, help="the production scenarios' sizes times this")
    parser.add_argument("--airbyte", help="Airbyte's source-salesforce executable ('' to leave it out)")
    parser.add_argument(
        "--no-zero-latency", action="store_true", help="skip the production scenarios' zero-latency runs"
    )
    parser.add_argument("--no-save", action="store_true", help="print the results without writing the files")
    parser.add_argument("--profile", default="default", help="the emulator's latency profile (e.g. production)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    PROFILE["name"] = args.profile
    sizes = [int(s) for s in args.sizes.split(",") if s]
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results: dict[str, Any] = {}
    names = args.only.split(",")
    results.update(run_production([n for n in names if n in production.SCENARIOS], args))
    for name in (n for n in names if n not in production.SCENARIOS):
        function, sized = SCENARIOS[name]
        for size in sizes if sized else [FIXED_SIZE[name]]:
            with tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
                print(f"{name} @ {size} ...", flush=True)
                try:
                    figures = function(Path(tmp), size, args.repeat if size < 1_000_000 else args.repeat_large)
                except Exception as error:  # noqa: BLE001 - one failing scenario must not hide the others
                    figures = {"error": f"{type(error).__name__}: {error}"}
                print(f"  {json.dumps(figures)}", flush=True)
                results.setdefault(name, {})[str(size)] = figures
    report = {
        "command": "python benchmarks/run.py " + shlex.join(sys.argv[1:] if argv is None else list(argv)),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "results": results,
        "notes": previous.get("notes", ""),
    }
    for warning in compare(previous.get("results", {}), results):
        print(f"WARNING: {warning}", file=sys.stderr)
    if not args.no_save:
        runs = [
            *previous.get("runs", []),
            {"date": report["date"], "command": report["command"], "scenarios": list(results)},
        ]
        merged = {**previous, **report, "runs": runs, "results": {**previous.get("results", {}), **results}}
        RESULTS_JSON.write_text(json.dumps(merged, indent=2) + "\n")
        RESULTS_MD.write_text(markdown(merged))
    return 0


def run_production(names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The production-profile scenarios; the first sync and the incremental sync share one org."""
    options = {"airbyte": args.airbyte, "zero_latency": not args.no_zero_latency}
    scale = f"scale {args.scale:g}"
    results: dict[str, Any] = {}
    jobs: list[tuple[list[str], Callable[[Path], dict[str, Any]]]] = []
    if {"prod_first_sync", "prod_incremental"} & set(names):
        jobs.append(
            (
                ["prod_first_sync", "prod_incremental"],
                lambda tmp: production.sync_scenarios(tmp, args.scale, options, free_port),
            )
        )
    if "prod_destination_upsert" in names:
        jobs.append(
            (
                ["prod_destination_upsert"],
                lambda tmp: {
                    "prod_destination_upsert": production.destination_upsert(
                        tmp, args.scale, options, free_port, write_messages
                    )
                },
            )
        )
    for produced, job in jobs:
        with tempfile.TemporaryDirectory(prefix="sf-bench-") as tmp:
            print(f"{', '.join(produced)} @ {scale} ...", flush=True)
            try:
                figures = job(Path(tmp))
            except Exception as error:  # noqa: BLE001 - one failing scenario must not hide the others
                figures = dict.fromkeys(produced, {"error": f"{type(error).__name__}: {error}"})
            for name in produced:
                if name in names or name == "prod_first_sync":  # the first sync is the incremental's set-up
                    results[name] = {scale: figures[name]}
                    print(f"  {name}: {json.dumps(figures[name])}", flush=True)
    return results


def render() -> None:
    """Rewrite results.md from results.json (after editing its notes by hand)."""
    RESULTS_MD.write_text(markdown(json.loads(RESULTS_JSON.read_text())))


if __name__ == "__main__":
    if sys.argv[1:] == ["--render"]:
        sys.exit(render())
    sys.exit(main())

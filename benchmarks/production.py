"""Benchmarks under the emulator's production latency profile, side by side with Airbyte's source-salesforce.

    make bench-production                                        # full size (the committed figures)
    .venv/bin/python benchmarks/run.py --only prod_first_sync,prod_incremental --scale 0.05 --no-save

The org: 30 generic objects (Bench01__c ... Bench30__c, a dozen typical fields each) of 20,000 records and one
(BenchLarge__c) of 1,000,000, times --scale. Every connector reaches it over https through the emulator's CONNECT
proxy with refresh-token credentials (HTTPS_PROXY, REQUESTS_CA_BUNDLE), exactly as Airbyte's unmodified connector
must, so both pay the same TLS and proxy costs. Set-up work (seeding, discovery, changing records) runs at zero
latency; each measured run switches the org to the production profile first.

- prod_first_sync: every stream in one catalog, incremental on SystemModstamp with no state (the first sync of an
  incremental connection), by our source and by Airbyte's; ours again at zero latency (the machine's own bound).
- prod_incremental: the same org after the first sync with 1% of each object's records changed, read from each
  connector's own state; then a variant where only BenchLarge__c changed, read once with every stream and once with
  BenchLarge__c alone from the same state: the difference over the 30 other streams is the API calls an unchanged
  stream costs.
- prod_destination_upsert: 1,000,000 upserts (times --scale) through Bulk into a fresh org.

Each measure is one run (a full-size Airbyte sync takes many minutes). Peak RSS is the sum of the high-water marks
(VmHWM) of the connector and every process below it: an upper bound of the tree's simultaneous peak.
The lower bound each scenario reports is derived from the profile's values; see LOWER_BOUND_TEXT.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from memory import PeakMemory
from salesforce_emulator import oauth

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "scripts"))
from configure_catalog import configure  # noqa: E402 - scripts/ is not a package

SMALL_OBJECTS = 30
SMALL_RECORDS = 20_000
LARGE_RECORDS = 1_000_000
LARGE = "BenchLarge__c"
PREFIX = "Bench"
CHANGED_FRACTION = 0.01
UPSERT_RECORDS = 1_000_000
AIRBYTE = Path.home() / ".cache/salesforce-connectors/airbyte-source-salesforce-2.10.3/bin/source-salesforce"
# Airbyte's source: a start before the seeded data (2021-2024) and yearly windows, as `make compat` runs it. Its
# default window is 30 days (about 70 Bulk jobs per stream over this span); a year is the kinder setting for it.
AIRBYTE_CONFIG = {"start_date": "2020-12-01T00:00:00Z", "stream_slice_step": "P365D"}
TIMEOUT = 3600.0
OAUTH = {"client_id": oauth.CLIENT_ID, "client_secret": oauth.CLIENT_SECRET}
REFRESH_TOKEN = oauth.REFRESH_TOKEN


# ---------------------------------------------------------------- the org: an emulator process over https + proxy


class ProdOrg:
    """An emulator process serving https and its CONNECT proxy for Salesforce's hosts; admin calls go direct."""

    def __init__(self, workdir: Path, free_port: Callable[[], int]) -> None:
        self.port, self.proxy_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        certs = workdir / f"certs-{self.port}"
        self.log = open(workdir / f"emulator-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                *(str(BIN / "salesforce-emulator"), "serve", "--port", str(self.port), "--proxy", str(self.proxy_port)),
                *("--cert-dir", str(certs), "--seed", "empty", "--records", "0"),
                *("--db", str(workdir / f"org-{self.port}.sqlite3"), "--daily-limit", "100000000"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.ca_file = certs / "ca.pem"
        self.http = requests.Session()
        self.http.trust_env = False  # straight to the org, whatever proxy the environment names
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.ca_file.exists():
                    self.http.verify = str(self.ca_file)
                    self.http.get(f"{self.url}/services/data/", timeout=2)
                    break
            except (requests.ConnectionError, OSError):
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the emulator did not start; see {self.log.name}")
            time.sleep(0.1)
        self._token: str | None = None

    def env(self) -> dict[str, str]:
        """What a connector needs to reach the org by Salesforce's own host names."""
        env = {k: v for k, v in os.environ.items() if k.upper() not in {"NO_PROXY", "DEPLOYMENT_MODE"}}
        env.update({"HTTPS_PROXY": f"http://127.0.0.1:{self.proxy_port}", "REQUESTS_CA_BUNDLE": str(self.ca_file)})
        return env

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.url}/__emulator/{path}", timeout=1800, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def profile(self, name: str) -> dict[str, Any]:
        return self.admin("PUT", "latency", json={"profile": name})

    def calls(self) -> dict[str, Any]:
        return self.admin("GET", "calls")

    def reset_calls(self) -> None:
        self.admin("DELETE", "calls")

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A data API call as the API user (set-up work: run at zero latency)."""
        if self._token is None:
            self._token = self.http.post(
                f"{self.url}/services/oauth2/token",
                data={"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, **OAUTH},
                timeout=60,
            ).json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        response = self.http.request(method, f"{self.url}/services/data/v62.0/{path}", headers=headers, **kwargs)
        response.raise_for_status()
        return response

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def our_credentials() -> dict[str, Any]:
    # login.salesforce.com through the proxy, as Airbyte's connector logs in
    return {
        "auth_type": "refresh_token",
        "login_url": "https://login.salesforce.com",
        **OAUTH,
        "refresh_token": REFRESH_TOKEN,
    }


# ---------------------------------------------------------------- running a connector and measuring its process tree


@dataclass
class Measured:
    seconds: float
    records: int
    api_calls: int
    peak_rss_mb: float  # the sum of every process's VmHWM in the tree
    main_rss_mb: float
    processes: int
    states: dict[str, Any] = field(default_factory=dict, repr=False)  # the last STATE of each stream
    error: str | None = None
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        out = {
            "seconds": round(self.seconds, 2),
            "records": self.records,
            "api_calls": self.api_calls,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "main_process_rss_mb": round(self.main_rss_mb, 1),
            "processes": self.processes,
        }
        if self.error:
            out["error"] = self.error
        out["calls_by_endpoint"] = self.by_endpoint
        return out


def measure(
    args: list[str], org: ProdOrg, cwd: Path, *, stdin_path: Path | None = None, timeout: float = TIMEOUT
) -> Measured:
    """Run a connector to completion with the org's proxy environment; count RECORD lines, keep STATE and TRACE."""
    org.reset_calls()
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    stderr = open(cwd / "stderr.log", "wb")  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, cwd=cwd, env=org.env())
    memory = PeakMemory(process.pid)
    killer = _Deadline(process, timeout)
    records, tail, kept = 0, b"", []
    assert process.stdout is not None
    while chunk := process.stdout.read(1 << 20):
        buffer = tail + chunk
        cut = buffer.rfind(b"\n") + 1
        whole, tail = buffer[:cut], buffer[cut:]
        records += whole.count(b'{"type":"RECORD"') + whole.count(b'{"type": "RECORD"')
        if b'"STATE"' in whole or b'"TRACE"' in whole:
            kept += [line for line in whole.split(b"\n") if b'"STATE"' in line[:40] or b'"TRACE"' in line[:40]]
    status = process.wait()
    seconds = time.perf_counter() - started
    killer.cancel()
    for handle in (stdin, stderr):
        if handle is not subprocess.DEVNULL:
            handle.close()
    main, below = memory.stop()
    peak, processes = main + below, memory.processes
    states: dict[str, Any] = {}
    errors = []
    for line in kept:
        message = json.loads(line)
        if message["type"] == "STATE":
            descriptor = message["state"].get("stream", {}).get("stream_descriptor", {})
            states[descriptor.get("name")] = message["state"]
        elif message["trace"].get("type") == "ERROR":
            errors.append(message["trace"]["error"].get("message", ""))
    error = None
    if status != 0:
        reason = "killed after the timeout" if killer.fired else f"exit {status}"
        detail = "; ".join(dict.fromkeys(errors))[:1500] or (cwd / "stderr.log").read_text(errors="replace")[-1500:]
        error = f"{reason}: {detail}"
    calls = org.calls()
    return Measured(seconds, records, calls["total"], peak, main, processes, states, error, calls["by_endpoint"])


class _Deadline:
    def __init__(self, process: subprocess.Popen, seconds: float) -> None:
        import threading

        self.fired = False
        self.timer = threading.Timer(seconds, self._kill, [process])
        self.timer.daemon = True
        self.timer.start()

    def _kill(self, process: subprocess.Popen) -> None:
        self.fired = True
        process.kill()

    def cancel(self) -> None:
        self.timer.cancel()


# ---------------------------------------------------------------- the two connectors


class Connector:
    """One connector's command line, config and catalogs for this org."""

    def __init__(self, name: str, executable: Path, config: dict[str, Any], org: ProdOrg, workdir: Path) -> None:
        self.name, self.executable, self.org = name, executable, org
        self.dir = workdir / name
        self.dir.mkdir()
        (self.dir / "config.json").write_text(json.dumps(config))
        self.catalog: dict[str, Any] = {}

    def discover(self, streams: list[str]) -> None:
        out = subprocess.run(
            [str(self.executable), "discover", "--config", "config.json"],
            cwd=self.dir,
            env=self.org.env(),
            capture_output=True,
            check=False,
            timeout=600,
        )
        for line in out.stdout.splitlines():
            if line.startswith(b"{") and b'"CATALOG"' in line[:40]:
                self.catalog = configure(json.loads(line)["catalog"], streams)
                for entry in self.catalog["streams"]:  # the first sync of an incremental connection
                    if entry["sync_mode"] != "incremental" or entry["cursor_field"] != ["SystemModstamp"]:
                        raise RuntimeError(
                            f"{self.name}: {entry['stream']['name']} is not incremental on SystemModstamp"
                        )
                return
        detail = (out.stdout + out.stderr).decode(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} discover printed no catalog: {detail}")

    def command(self, streams: list[str] | None = None, states: dict[str, Any] | None = None) -> list[str]:
        chosen = [e for e in self.catalog["streams"] if streams is None or e["stream"]["name"] in streams]
        label = "all" if streams is None else "-".join(streams)
        catalog = self.dir / f"catalog-{label}.json"
        catalog.write_text(json.dumps({"streams": chosen}))
        args = [str(self.executable), "read", "--config", "config.json", "--catalog", catalog.name]
        if states is not None:
            state = self.dir / f"state-{len(list(self.dir.glob('state-*')))}.json"
            state.write_text(json.dumps(list(states.values())))
            args += ["--state", state.name]
        return args

    def read(self, streams: list[str] | None = None, states: dict[str, Any] | None = None) -> Measured:
        args = self.command(streams, states)
        print(f"    {self.name}: {' '.join(args[1:])} ...", flush=True)
        result = measure(args, self.org, self.dir)
        print(
            f"      {json.dumps({k: v for k, v in result.figures().items() if k != 'calls_by_endpoint'})}", flush=True
        )
        return result


# ---------------------------------------------------------------- the lower bound the profile allows

LOWER_BOUND_TEXT = """\
The lower bound is the time the emulated org itself needs under the production profile, whatever the client's CPU:
the server-side work of the sync divided by the parallelism the profile allows, plus the one login round trip.

    lower_bound = RT + sum over objects of min(bulk_i, rest_i) / P
    bulk_i = start + n_i / rate + b_csv_i / bw + RT * (2 + pages_i)   (create, final poll, one call per result page)
    rest_i = RT * max(1, ceil(n_i / 2000)) + n_i * q + b_json_i / bw  (query and queryMore pages of 2,000 records)

with the profile's values RT = round_trip_seconds, start = bulk_start_seconds, rate = bulk_rows_per_second (per
job), q = query_seconds_per_record, bw = download_bytes_per_second (per response), and P = max_bulk_query_jobs: a
Bulk job holds one of the org's P job slots from creation to its last row, and its result pages come one after
another (each page's locator is in the previous answer), so P is also taken as the number of download streams and
REST query chains kept busy at once. n_i is an object's records to read, pages_i = ceil(n_i / query_page_size) of
the emulator's Bulk settings, b_csv_i and b_json_i its Bulk CSV and REST JSON bytes (bytes per record measured on
one object of the org, every object having the same fields). Each object takes its cheaper path (Bulk for 20,000
records, REST for 200); an unchanged object still costs one query round trip. It is a bound, not a plan: reaching
it needs every object split into jobs that finish together. A destination upsert reads nothing: its server-side
work is its n records at the ingest rate (ingest_rows_per_second, per job), spread over P jobs at once, plus one
job's start delay (ingest_start_seconds) and round trips (token, create, upload, close, final poll):
RT + 5 RT + start_ingest + n / rate_ingest / P. fraction_of_lower_bound = lower_bound / wall time (1.0 = as fast as
the org allows).

The machine's own bound is the same workload at zero latency (`zero_latency` rows): on 2 shared cores that is what
the emulator and the connector's CPU need; fraction_of_machine_bound = zero-latency wall / production wall. The
better of the two fractions says how much of the available overlap a connector uses."""


COMMANDS_TEXT = """\
`make bench-production` (= the run.py command above) runs, per scenario, in a temporary directory:

    salesforce-emulator serve --port P --proxy PP --cert-dir certs --seed empty --records 0 --db org.sqlite3 \\
        --daily-limit 100000000
    POST /__emulator/schema/generic-objects {"prefix": "Bench", "count": 30}, then {"names": ["BenchLarge__c"]}
    POST /__emulator/records/{object}/generate {"count": 20000}   (1000000 for BenchLarge__c; times --scale)
    PUT /__emulator/latency {"profile": "production"}   before each measured run ("default" for zero latency)

    # both connectors, with the same environment:
    HTTPS_PROXY=http://127.0.0.1:PP REQUESTS_CA_BUNDLE=certs/ca.pem

    # ours (this repository's source-salesforce):
    source-salesforce discover --config config.json
    source-salesforce read --config config.json --catalog catalog-all.json [--state state.json]
    #   config.json: {"credentials": {"auth_type": "refresh_token", "login_url": "https://login.salesforce.com",
    #                 "client_id", "client_secret", "refresh_token": the emulator's test values},
    #                 "streams": [the 31 object names]}

    # Airbyte's, unmodified: pip install airbyte-source-salesforce==2.10.3 in its own venv
    ~/.cache/salesforce-connectors/airbyte-source-salesforce-2.10.3/bin/source-salesforce discover --config config.json
    ~/.cache/salesforce-connectors/airbyte-source-salesforce-2.10.3/bin/source-salesforce read --config config.json \\
        --catalog catalog-all.json [--state state.json]
    #   config.json: {"client_id", "client_secret", "refresh_token": the same values,
    #                 "start_date": "2020-12-01T00:00:00Z", "stream_slice_step": "P365D"}

    # the destination (prod_destination_upsert), into X__c of a fresh org:
    destination-salesforce write --config config.json --catalog catalog.json < messages.jsonl
    #   config.json: {"credentials": as above, "object": "X__c", "operation": "upsert", "api": "bulk",
    #                 "external_id_field": "External_Id__c", "flush_interval_seconds": 0}

Each catalog is the connector's own discover output for the 31 objects, configured by scripts/configure_catalog.py
(incremental on SystemModstamp, append_dedup on Id); `catalog-BenchLarge__c.json` holds that stream alone. State
files are the last STATE of each stream from the connector's previous read on this org. Airbyte's window setting is
a year (its default is 30 days, about 70 Bulk jobs per object over the seeded 2021-2024 span): the kinder setting
for it."""


@dataclass
class Sizes:
    """Bytes per record and the Bulk page size, measured on the org (every generic object has the same fields)."""

    csv_bytes: float
    json_bytes: float
    page_size: int


def measure_sizes(org: ProdOrg, sobject: str) -> Sizes:
    fields = [f["name"] for f in org.api("GET", f"sobjects/{sobject}/describe", timeout=60).json()["fields"]]
    soql = f"SELECT {', '.join(fields)} FROM {sobject}"
    page = org.api("GET", "query", params={"q": soql}, timeout=600)
    json_bytes = len(page.content) / max(1, len(page.json()["records"]))
    job = org.api("POST", "jobs/query", json={"operation": "query", "query": soql}, timeout=60).json()
    while org.api("GET", f"jobs/query/{job['id']}", timeout=60).json()["state"] != "JobComplete":
        time.sleep(0.05)
    result = org.api("GET", f"jobs/query/{job['id']}/results", params={"maxRecords": 2000}, timeout=600)
    rows = int(result.headers.get("Sforce-NumberOfRecords") or max(1, result.content.count(b"\n") - 1))
    return Sizes(len(result.content) / rows, json_bytes, int(org.admin("GET", "bulk")["query_page_size"]))


def read_bound(profile: dict[str, Any], sizes: Sizes, counts: list[int]) -> dict[str, Any]:
    rt, rate, bw = profile["round_trip_seconds"], profile["bulk_rows_per_second"], profile["download_bytes_per_second"]
    start, q, slots = profile["bulk_start_seconds"], profile["query_seconds_per_record"], profile["max_bulk_query_jobs"]
    work = 0.0
    for n in counts:
        bulk = start + n / rate + n * sizes.csv_bytes / bw + rt * (2 + math.ceil(n / sizes.page_size))
        rest = rt * max(1, math.ceil(n / 2000)) + n * q + n * sizes.json_bytes / bw
        work += min(bulk, rest)
    return {
        "lower_bound_s": round(rt + work / slots, 3),
        "server_work_s": round(work, 2),
        "parallelism": slots,
        "csv_bytes_per_record": round(sizes.csv_bytes, 1),
        "json_bytes_per_record": round(sizes.json_bytes, 1),
    }


def upsert_bound(profile: dict[str, Any], csv_bytes: int, records: int) -> dict[str, Any]:
    from salesforce_api.bulk import MAX_JOB_BYTES

    rt, slots = profile["round_trip_seconds"], profile["max_bulk_query_jobs"]
    start, rate = profile.get("ingest_start_seconds", 0.0), profile.get("ingest_rows_per_second", 0.0)
    work = records / rate if rate else 0.0  # job-seconds of ingest, however the records are split into jobs
    return {
        "lower_bound_s": round(rt + 5 * rt + start + work / slots, 3),
        "server_work_s": round(work, 2),
        "parallelism": slots,
        "jobs_of_100_mb": max(1, math.ceil(csv_bytes / MAX_JOB_BYTES)),
        "csv_bytes": csv_bytes,
    }


def add_fractions(result: dict[str, Any], bound: float) -> None:
    zero = result.get("ours_zero_latency", {}).get("seconds")
    for who in ("ours", "airbyte"):
        run = result.get(who)
        if run and not run.get("error") and run.get("seconds"):
            run["fraction_of_lower_bound"] = round(bound / run["seconds"], 3)
            if zero and who == "ours":  # the machine's bound measured with our connector
                run["fraction_of_machine_bound"] = round(zero / run["seconds"], 3)
    ours, airbyte = result.get("ours", {}), result.get("airbyte", {})
    if ours.get("seconds") and airbyte.get("seconds") and not airbyte.get("error"):
        result["airbyte_over_ours"] = round(airbyte["seconds"] / ours["seconds"], 2)


# ---------------------------------------------------------------- scenarios (a) and (b): one org, both connectors


def change(org: ProdOrg, sobject: str, count: int, tag: str) -> int:
    """Update `count` records of an object through sObject Collections (their SystemModstamp moves to now)."""
    ids: list[str] = []
    page = org.api("GET", "query", params={"q": f"SELECT Id FROM {sobject} ORDER BY Id LIMIT {count}"}).json()
    ids += [r["Id"] for r in page["records"]]
    while not page["done"]:
        page = org.api("GET", page["nextRecordsUrl"].split("/v62.0/", 1)[1]).json()
        ids += [r["Id"] for r in page["records"]]
    for start in range(0, len(ids), 200):
        chunk = [{"attributes": {"type": sobject}, "Id": i, "Description__c": tag} for i in ids[start : start + 200]]
        answer = org.api("PATCH", "composite/sobjects", json={"allOrNone": True, "records": chunk}, timeout=600)
        if not all(r.get("success") for r in answer.json()):
            raise RuntimeError(f"changing {sobject}: {answer.text[:500]}")
    return len(ids)


def next_second() -> None:
    """Readers end at the start of the org's current second: wait until the changes' second is over."""
    time.sleep(1.2)


def sync_scenarios(workdir: Path, scale: float, options: dict[str, Any], free_port: Callable[[], int]) -> dict:
    """(a) prod_first_sync and (b) prod_incremental on one org."""
    small, large = max(1, round(SMALL_RECORDS * scale)), max(1, round(LARGE_RECORDS * scale))
    org = ProdOrg(workdir, free_port)
    try:
        print(f"  seeding {SMALL_OBJECTS} x {small:,} + {large:,} records ...", flush=True)
        names = [
            o["name"]
            for o in org.admin("POST", "schema/generic-objects", json={"prefix": PREFIX, "count": SMALL_OBJECTS})
        ]
        org.admin("POST", "schema/generic-objects", json={"names": [LARGE]})
        for name in names:
            org.admin("POST", f"records/{name}/generate", json={"count": small})
        org.admin("POST", f"records/{LARGE}/generate", json={"count": large})
        streams = [*names, LARGE]
        counts = [small] * len(names) + [large]
        sizes = measure_sizes(org, names[0])
        profile = org.profile("production")
        org.profile("default")

        ours = Connector(
            "ours", BIN / "source-salesforce", {"credentials": our_credentials(), "streams": streams}, org, workdir
        )
        ours.discover(streams)
        airbyte = None
        executable = Path(options.get("airbyte") or AIRBYTE)
        if options.get("airbyte") != "" and executable.exists():
            config = {**OAUTH, "refresh_token": REFRESH_TOKEN, **AIRBYTE_CONFIG}
            airbyte = Connector("airbyte", executable, config, org, workdir)
            airbyte.discover(streams)

        first: dict[str, Any] = {
            "objects": len(streams),
            "records": sum(counts),
            "sync_mode": "incremental on SystemModstamp, no state (the first sync of an incremental connection)",
            **read_bound(profile, sizes, counts),
        }
        org.profile("production")
        ours_first = ours.read()
        first["ours"] = ours_first.figures()
        _check(ours_first, sum(counts), "our first sync")
        if airbyte:
            airbyte_first = airbyte.read()
            first["airbyte"] = airbyte_first.figures()
        else:
            first["airbyte"] = {"skipped": f"no Airbyte connector at {executable} (make bench-production installs it)"}
        if options.get("zero_latency", True):
            org.profile("default")
            first["ours_zero_latency"] = ours.read().figures()
        add_fractions(first, first["lower_bound_s"])

        # (b) 1% of every object changed since the first sync
        org.profile("default")
        changed = [
            change(org, s, max(1, round(n * CHANGED_FRACTION)), "changed") for s, n in zip(streams, counts, strict=True)
        ]
        next_second()
        incremental: dict[str, Any] = {
            "changed_records": sum(changed),
            "changed_per_object": {"small": changed[0], "large": changed[-1]},
            **read_bound(profile, sizes, changed),
        }
        org.profile("production")
        ours_second = ours.read(states=ours_first.states)
        incremental["ours"] = ours_second.figures()
        _check(ours_second, sum(changed), "our incremental sync")
        airbyte_second = None
        if airbyte and not airbyte_first.error:
            airbyte_second = airbyte.read(states=airbyte_first.states)
            incremental["airbyte"] = airbyte_second.figures()
        if options.get("zero_latency", True):
            org.profile("default")
            incremental["ours_zero_latency"] = ours.read(states=ours_first.states).figures()
        add_fractions(incremental, incremental["lower_bound_s"])

        # (b') only the large object changed: API calls an unchanged stream costs
        org.profile("default")
        big_changed = change(org, LARGE, max(1, round(large * CHANGED_FRACTION)), "changed again")
        next_second()
        only_big = [0] * len(names) + [big_changed]
        variant: dict[str, Any] = {"changed_records": big_changed, **read_bound(profile, sizes, only_big)}
        org.profile("production")
        for who, connector, states in (
            ("ours", ours, ours_second.states),
            ("airbyte", airbyte, airbyte_second.states if airbyte_second and not airbyte_second.error else None),
        ):
            if connector is None or states is None:
                continue
            every = connector.read(states=states)
            alone = connector.read(streams=[LARGE], states=states)
            variant[who] = every.figures()
            variant[f"{who}_large_stream_alone"] = alone.figures()
            variant[f"{who}_calls_per_unchanged_stream"] = round((every.api_calls - alone.api_calls) / len(names), 2)
        add_fractions(variant, variant["lower_bound_s"])
        incremental["only_large_changed"] = variant
        return {"prod_first_sync": first, "prod_incremental": incremental}
    finally:
        org.stop()


def _check(run: Measured, expected: int, what: str) -> None:
    if run.error:
        raise RuntimeError(f"{what} failed: {run.error}")
    if run.records != expected:
        raise RuntimeError(f"{what} gave {run.records} records, expected {expected}")


# ---------------------------------------------------------------- scenario (c): destination upsert through Bulk


def destination_upsert(
    workdir: Path, scale: float, options: dict[str, Any], free_port: Callable[[], int], write_messages: Callable
) -> dict:
    size = max(1, round(UPSERT_RECORDS * scale))
    messages = workdir / f"messages-{size}.jsonl"
    write_messages(messages, size)
    result: dict[str, Any] = {"records": size, "operation": "upsert on External_Id__c, Bulk API 2.0, batch mode"}
    for label, profile_name in (("ours", "production"), ("ours_zero_latency", "default")):
        if label == "ours_zero_latency" and not options.get("zero_latency", True):
            continue
        run_dir = workdir / label
        run_dir.mkdir()
        org = ProdOrg(run_dir, free_port)
        try:
            profile = org.profile("production")
            org.profile(profile_name)
            config = {
                "credentials": our_credentials(),
                "object": "X__c",
                "operation": "upsert",
                "api": "bulk",
                "external_id_field": "External_Id__c",
                "flush_interval_seconds": 0,  # batch mode, as a large load is configured
            }
            (run_dir / "config.json").write_text(json.dumps(config))
            catalog = {
                "streams": [
                    {
                        "stream": {"name": "rows", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "append",
                    }
                ]
            }
            (run_dir / "catalog.json").write_text(json.dumps(catalog))
            args = [
                str(BIN / "destination-salesforce"),
                "write",
                "--config",
                "config.json",
                "--catalog",
                "catalog.json",
            ]
            print(f"    {label}: destination-salesforce {' '.join(args[1:])} < {messages.name} ...", flush=True)
            run = measure(args, org, run_dir, stdin_path=messages)
            result[label] = {k: v for k, v in run.figures().items() if k != "records"}  # a destination emits none
            print(f"      {json.dumps(result[label])}", flush=True)
            org.profile("default")
            held = int(org.api("GET", "query", params={"q": "SELECT COUNT() FROM X__c"}).json()["totalSize"])
            if run.error or held != size:
                raise RuntimeError(f"{label}: the org holds {held} of {size} records ({run.error or 'no error'})")
            if label == "ours":
                result.update(upsert_bound(profile, _csv_bytes(messages), size))
        finally:
            org.stop()
    add_fractions(result, result["lower_bound_s"])
    return result


def _csv_bytes(messages: Path) -> int:
    """The size of the records as Bulk CSV (what the destination uploads)."""
    from destination_salesforce.mapping import csv_value
    from salesforce_api.bulk import csv_bytes

    total = 0
    header: list[str] | None = None
    with messages.open("rb") as lines:
        for line in lines:
            if b'"RECORD"' in line[:20]:
                data = json.loads(line)["record"]["data"]
                if header is None:
                    header = list(data)
                    total += len(csv_bytes([header]))
                total += len(csv_bytes([[csv_value(data[name]) for name in header]]))
    return total


# ---------------------------------------------------------------- results

SCENARIOS = ("prod_first_sync", "prod_incremental", "prod_destination_upsert")
ROWS = (
    ("ours", "ours, production profile"),
    ("airbyte", "Airbyte 2.10.3, production profile"),
    ("ours_zero_latency", "ours, zero latency"),
)


def markdown_section(name: str, by_scale: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    for scale, result in by_scale.items():
        if "error" in result:
            lines += [f"{scale}: failed: {result['error']}", ""]
            continue
        facts = {k: v for k, v in result.items() if not isinstance(v, dict)}
        lines += [f"{scale}: " + ", ".join(f"{k}={v}" for k, v in facts.items()), ""]
        lines += _table(result)
        variant = result.get("only_large_changed")
        if variant:
            facts = {k: v for k, v in variant.items() if not isinstance(v, dict)}
            lines += ["Only BenchLarge__c changed: " + ", ".join(f"{k}={v}" for k, v in facts.items()), ""]
            lines += _table(
                variant,
                (
                    ("ours", "ours, every stream"),
                    ("ours_large_stream_alone", "ours, BenchLarge__c alone"),
                    ("airbyte", "Airbyte, every stream"),
                    ("airbyte_large_stream_alone", "Airbyte, BenchLarge__c alone"),
                ),
            )
    return lines


def _table(result: dict[str, Any], rows: tuple[tuple[str, str], ...] = ROWS) -> list[str]:
    keys = ("seconds", "records", "api_calls", "peak_rss_mb", "fraction_of_lower_bound", "fraction_of_machine_bound")
    lines = ["| run | " + " | ".join(keys) + " | note |", "|---|" + "---|" * (len(keys) + 1)]
    for key, label in rows:
        run = result.get(key)
        if not isinstance(run, dict):
            continue
        note = run.get("error") or run.get("skipped") or ""
        cells = [str(run.get(k, "")) for k in keys]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {note[:300]} |")
    return [*lines, ""]

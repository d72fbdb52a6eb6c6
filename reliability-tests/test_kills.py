"""kill -9 part way, resume from the last STATE printed: nothing lost, re-reads bounded by one page per resume;
the same for the destination, with an exact account of what an insert re-sends."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from destination_messages import catalog as destination_catalog
from destination_messages import destination_config, row, written_rows
from destination_messages import lines as message_lines
from reliability_harness import DESTINATION, SOURCE, TALLY, Live, Workdir, command, compare_records, run
from source_sync import PAGE, large_org, read_until

SOURCE_SCALES = [
    pytest.param(20_000, 5, id="20k-5-kills"),
    pytest.param(100_000, 20, id="100k-20-kills", marks=pytest.mark.soak),
]


@pytest.mark.parametrize(("records", "kills"), SOURCE_SCALES)
def test_source_resumes_after_kill_9_without_gap(org_factory, records: int, kills: int) -> None:
    org, config, catalog = large_org(org_factory, records)
    chooser = random.Random(records + kills)
    delivered: list[dict] = []
    state = None
    reread_allowance = 0
    for _ in range(kills):
        attempt = read_until(org, config, catalog, state, kill_after=chooser.randint(PAGE + 1, 2 * records // kills))
        assert attempt.killed, "the sync ended before the kill point: make the org larger"
        assert attempt.last_state is not None, "no STATE before the kill"
        assert attempt.after_last_state <= PAGE, "more than one page delivered after the last STATE"
        delivered += attempt.records
        reread_allowance += attempt.after_last_state
        state = [attempt.last_state]
        TALLY["source kill -9 survived"] += 1
    final = read_until(org, config, catalog, state, kill_after=None)
    assert final.run.returncode == 0, final.run.describe()
    delivered += final.records

    counts = Counter(r["Id"] for r in delivered)
    rows = org.admin.records("X__c")
    assert set(counts) == {r["Id"] for r in rows}, "a gap: some records were never delivered"
    reread = sum(n - 1 for n in counts.values())
    assert reread <= reread_allowance <= kills * PAGE
    latest = {r["Id"]: r for r in delivered}
    assert compare_records(rows, list(latest.values())) == []
    TALLY["source records re-read after kills"] += reread


def child_processes(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text() if entry.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="Bulk page workers start only with 2 CPUs or more")
def test_a_killed_bulk_read_leaves_no_worker_processes_and_reruns_completely(org_factory) -> None:
    """A large Bulk result is shaped in worker processes. kill -9 of the source must not leave them running (they
    watch their parent); the rerun still delivers every record."""
    org, config, catalog = large_org(org_factory, 60_000)
    config = {**config, "force_api": "bulk"}
    catalog["streams"][0]["stream"]["json_schema"]["properties"].pop("Attachment__c")  # base64 is read by REST
    work = Workdir()
    live = Live(command(SOURCE, "read", work, config, catalog, None), work)
    workers: list[int] = []
    for message in live.messages():
        if message["type"] == "RECORD":
            workers = child_processes(live.process.pid)
            break
    live.kill()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:  # they hold the source's stdout open: reading it to the end would wait for them forever
        os.kill(pid, signal.SIGKILL)
    live.finish(config, org)
    assert len(workers) >= 2, "the read shaped its Bulk pages without worker processes"
    assert not survivors, "worker processes outlived the killed source"
    final = read_until(org, config, catalog, None, kill_after=None)
    assert final.run.returncode == 0, final.run.describe()
    assert {r["Id"] for r in final.records} == {r["Id"] for r in org.admin.records("X__c")}
    TALLY["source kill -9 survived"] += 1


def kill_destination_after_states(config: dict, mode: str, total: int, prefix: str, states: int, org) -> int:
    """Write records with a STATE every 500 and SIGKILL once `states` STATEs came back; the last position."""
    work = Workdir()
    stdin = message_lines(0, total, state_every=500, prefix=prefix)
    live = Live(command(DESTINATION, "write", work, config, destination_catalog(mode)), work, stdin=stdin)
    position = 0
    seen = 0
    for message in live.messages():
        if message["type"] == "STATE":
            position = message["state"]["stream"]["stream_state"]["position"]
            seen += 1
            if seen >= states:
                live.kill()
                break
    live.finish(config, org)
    TALLY["destination kill -9 survived"] += 1
    return position


# Bulk in batch mode: jobs of 20,000 of these rows (the cap with several jobs in flight), two in flight, so STATEs come
# out when the first job settles, while the second is in flight and the next ones wait; with more in flight, all four
# jobs could settle together and the kill would find everything written.
DESTINATION_KILL_CASES = [
    pytest.param("collections", 10_000, {"batch_size": 500}, id="collections"),
    pytest.param("bulk", 80_000, {"batch_size": 500, "bulk_job_size_mb": 1, "concurrency": 2}, id="bulk-batch-mode"),
]


@pytest.mark.parametrize(("api", "total", "settings"), DESTINATION_KILL_CASES)
def test_destination_upsert_rerun_after_kill_loses_nothing_and_duplicates_nothing(
    org_factory, api: str, total: int, settings: dict
) -> None:
    org = org_factory()
    config = destination_config(org, api, **settings)
    position = kill_destination_after_states(config, "append_dedup", total, "U", states=6, org=org)
    assert 0 < position < total
    assert len(written_rows(org, "U")) < total, "the STATEs came out only once everything was written"
    rerun = run(
        DESTINATION,
        "write",
        config=config,
        catalog=destination_catalog("append_dedup"),
        stdin="".join(message_lines(position, total, state_every=500, prefix="U")),
        org=org,
    )
    assert rerun.returncode == 0, rerun.describe()
    written = written_rows(org, "U")
    keys = Counter(r["External_Id__c"] for r in written)
    assert len(keys) == total and set(keys.values()) == {1}
    for r in written:
        expected = row(int(r["External_Id__c"][2:]), "U")
        assert {k: r[k] for k in expected} == expected


def test_destination_insert_rerun_after_kill_resends_exactly_the_records_after_the_last_state(org_factory) -> None:
    org = org_factory()
    total = 10_000
    config = destination_config(org, "collections", batch_size=500, operation="insert")
    del config["external_id_field"]
    position = kill_destination_after_states(config, "append", total, "I", states=6, org=org)
    landed_before_rerun = Counter(r["External_Id__c"] for r in written_rows(org, "I"))
    assert max(landed_before_rerun.values()) == 1
    rerun = run(
        DESTINATION,
        "write",
        config=config,
        catalog=destination_catalog("append"),
        stdin="".join(message_lines(position, total, state_every=500, prefix="I")),
        org=org,
    )
    assert rerun.returncode == 0, rerun.describe()
    after = Counter(r["External_Id__c"] for r in written_rows(org, "I"))
    expected_keys = {row(i, "I")["External_Id__c"] for i in range(total)}
    assert set(after) == expected_keys, "a record was lost"
    # Exact account: every record up to the last STATE once; every re-sent record once more than it had landed.
    for i in range(total):
        key = row(i, "I")["External_Id__c"]
        if i < position:
            assert after[key] == 1 and landed_before_rerun[key] == 1, key
        else:
            assert after[key] == 1 + landed_before_rerun[key], key
    duplicates = sum(after.values()) - total
    assert duplicates == sum(landed_before_rerun[row(i, "I")["External_Id__c"]] for i in range(position, total))
    TALLY["destination insert records re-sent after a kill"] += total - position
    TALLY["destination insert duplicates, all accounted for"] += duplicates

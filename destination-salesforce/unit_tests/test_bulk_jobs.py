"""Bulk API 2.0 jobs gathered across flushes: one job per 100 MB in batch mode, keys applied in order, outcomes read
from the job's counters and matched back to records only when something failed."""

from __future__ import annotations

import json
import logging
from collections import Counter

from destination_salesforce.bulk_jobs import BulkJobs
from destination_salesforce.mapping import PreparedRecord
from salesforce_api import BulkClient, connect


def endpoints(org) -> Counter:
    counts = Counter()
    for endpoint, n in org.admin.calls()["by_endpoint"].items():
        counts[endpoint.split(" ", 1)[0] + " " + endpoint.rsplit("/", 1)[-1]] += n
    return counts


def ours(rows, prefix: str) -> list:
    return [r for r in rows if str(r.get("External_Id__c")).startswith(prefix)]


def records_and_states(h, total: int, state_every: int, text=lambda i: f"text {i}", extra=lambda i: {}):
    for i in range(1, total + 1):
        yield h.record("s", {"External_Id__c": f"T-{i}", "Text__c": text(i), "Integer__c": i, **extra(i)})
        if i % state_every == 0:
            yield h.state("s", upto=i)


def batch_config(org, h, **settings):
    return h.config(org, api="bulk", external_id_field="External_Id__c", batch_size=100, flush_interval_seconds=0,
                    **settings)  # fmt: skip


def test_batch_mode_gathers_every_flush_into_one_job_and_downloads_nothing(emulator, h) -> None:
    emulator.admin.reset_calls()
    out = h.write(batch_config(emulator, h), h.catalog(h.stream("s")), records_and_states(h, 1000, 100))

    calls = endpoints(emulator)
    assert calls["POST ingest"] == 1, calls  # ten full buffers and ten STATEs, one job
    assert not [e for e in calls if e.endswith("Results") or e.endswith("unprocessedrecords")], calls
    assert [m.state.stream.stream_state.upto for m in out] == list(range(100, 1001, 100))
    assert {m.state.destinationStats.recordCount for m in out} == {100.0}
    rows = {r["External_Id__c"]: r for r in h.live(emulator, "X__c") if str(r.get("External_Id__c")).startswith("T-")}
    assert len(rows) == 1000 and rows["T-777"]["Text__c"] == "text 777"


def test_failed_rows_are_matched_to_their_records_and_states(emulator, h, tmp_path) -> None:
    path = tmp_path / "rejects.jsonl"
    cfg = batch_config(emulator, h, rejected_records_path=str(path))
    refused = {7, 150, 151, 420}  # refused by Salesforce, not before upload: the job has failed rows
    emulator.admin.reset_calls()
    out = h.write(
        cfg,
        h.catalog(h.stream("s")),
        records_and_states(h, 500, 100, extra=lambda i: {"Email__c": "not an address"} if i in refused else {}),
    )

    assert [m.state.destinationStats.rejectedRecordCount for m in out] == [1.0, 2.0, 0.0, 0.0, 1.0]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["position"] for line in lines) == sorted(refused)
    assert {line["error"]["code"] for line in lines} == {"INVALID_EMAIL_ADDRESS"}
    assert lines[0]["data"]["External_Id__c"] == f"T-{lines[0]['position']}"
    assert endpoints(emulator)["GET successfulResults"] == 0  # the failed rows and the counters sufficed
    assert len(ours(h.live(emulator, "X__c"), "T-")) == 500 - len(refused)


def test_a_failed_job_has_its_unprocessed_records_written_again(emulator, h) -> None:
    emulator.admin.add_fault(kind="bulk_job_failed", path="/jobs/ingest", rows=120, count=1)
    out = h.write(batch_config(emulator, h), h.catalog(h.stream("s")), records_and_states(h, 300, 100))

    assert emulator.admin.faults() == []  # the job did fail after 120 rows
    assert [m.state.destinationStats.rejectedRecordCount for m in out] == [0.0, 0.0, 0.0]
    assert len(ours(h.live(emulator, "X__c"), "T-")) == 300


def prepared(position: int, key: str, text: str) -> PreparedRecord:
    values = {"External_Id__c": key, "Text__c": text}
    return PreparedRecord(position, f"External_Id__c={key}", values, values)


def test_jobs_split_at_the_size_limit_and_a_repeated_key_waits_for_the_earlier_job(emulator) -> None:
    bulk = BulkClient(connect(emulator.credentials("username_password")), poll_interval=0.05)
    jobs = BulkJobs(bulk, "X__c", "upsert", external_id_field="External_Id__c", max_bytes=600)
    emulator.admin.reset_calls()
    failures = jobs.add([prepared(i, f"K-{i}", f"first {i}") for i in range(1, 101)])
    assert jobs.oldest_position() is not None  # the last job still gathering or in flight
    failures += jobs.add([prepared(101, "K-5", "second 5"), prepared(102, "K-200", "new")])
    failures += jobs.settle()
    jobs.close()

    assert failures == [] and jobs.oldest_position() is None
    assert endpoints(emulator)["POST ingest"] >= 4  # 1.5 KB of rows in jobs under 600 bytes, then the repeated key
    rows = {r["External_Id__c"]: r["Text__c"] for r in ours(emulator.admin.records("X__c"), "K-")}
    assert rows["K-5"] == "second 5" and rows["K-200"] == "new" and rows["K-99"] == "first 99"
    assert len(rows) == 101


def test_a_new_field_starts_a_new_job(emulator, caplog) -> None:
    bulk = BulkClient(connect(emulator.credentials("username_password")), poll_interval=0.05)
    jobs = BulkJobs(bulk, "X__c", "insert")
    plain = [PreparedRecord(1, "#1", {"Name": "a"}), PreparedRecord(2, "#2", {"Name": "b"})]
    wider = [PreparedRecord(3, "#3", {"Name": "c", "Integer__c": 3})]
    narrower = [PreparedRecord(4, "#4", {"Integer__c": 4})]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        assert jobs.add(plain) + jobs.add(wider) + jobs.add(narrower) + jobs.settle() == []
    uploads = [r.getMessage() for r in caplog.records if "uploaded" in r.getMessage()]
    assert [m.split(": ")[1].split(" records")[0] for m in uploads] == ["2", "2"]
    rows = emulator.admin.records("X__c")
    assert {r["Name"] for r in rows} >= {"a", "b", "c"}
    assert [r["Name"] for r in rows if r.get("Integer__c") == 4] == [r["Id"] for r in rows if r.get("Integer__c") == 4]


def test_a_value_that_fails_whole_jobs_costs_no_other_record(emulator, h, caplog) -> None:
    """A 200,000-character cell fails the whole Bulk job (past Bulk's 131,072 characters a field). The job's
    errorMessage is logged, and its records go again in halves until the offending one goes through Collections."""
    messages = [h.record("s", {"External_Id__c": f"T-{i}", "Text__c": "ok"}) for i in range(1000)]
    messages.insert(500, h.record("s", {"External_Id__c": "T-huge", "Attachment__c": "QUJD" * 50_000}))
    emulator.admin.reset_calls()
    with caplog.at_level(logging.INFO, logger="airbyte"):
        out = h.write(batch_config(emulator, h), h.catalog(h.stream("s")), [*messages, h.state("s")])

    assert out[0].state.destinationStats.rejectedRecordCount == 0
    rows = {r["External_Id__c"]: r for r in ours(h.live(emulator, "X__c"), "T-")}
    assert len(rows) == 1001 and len(rows["T-huge"]["Attachment__c"]) == 200_000
    assert any(
        "ended Failed: ClientInputError : field larger than field limit" in r.getMessage() for r in caplog.records
    )
    calls = endpoints(emulator)
    assert calls["POST ingest"] <= 6, calls  # halves, not five futile retries of all 1,001
    assert calls["PATCH External_Id__c"] <= 2, calls  # only the last 250 or fewer through Collections

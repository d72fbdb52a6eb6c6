"""Several Collections calls and Bulk jobs in flight at once (the `concurrency` setting): writes of one key never
overlap, STATEs still come out only once every record before them is in the org, failures are counted as before.

The org runs with server time per Collections record and a start delay per Bulk job, so calls and jobs really
overlap; spies on the client record what was in flight whenever a call or an upload started.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from destination_salesforce import plan as plan_module
from destination_salesforce.bulk_jobs import BulkJobs
from destination_salesforce.mapping import PreparedRecord
from destination_salesforce.writers import CollectionsWriter
from salesforce_api import BulkClient, RestClient, connect
from salesforce_api.errors import ConfigError

JOB_RECORDS = 100  # records per Bulk job with concurrency, instead of 50,000, so that small tests have several jobs


class CallSpy:
    """Wraps RestClient.upsert/update: the keys of every call in flight, and the calls that overlapped."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[int, set[str]] = {}
        self.shared: list[set[str]] = []  # keys found in two calls in flight at once
        self.most = 0
        self.key = key
        for name in ("upsert", "update"):
            monkeypatch.setattr(RestClient, name, self.wrap(getattr(RestClient, name)))

    def wrap(self, original: Any) -> Any:
        spy = self

        def call(client: RestClient, *args: Any, **kwargs: Any) -> Any:
            records = args[-1]
            keys = {str(r[spy.key]) for r in records}
            with spy.lock:
                for held in spy.in_flight.values():
                    if keys & held:
                        spy.shared.append(keys & held)
                token = id(keys)
                spy.in_flight[token] = keys
                spy.most = max(spy.most, len(spy.in_flight))
            try:
                return original(client, *args, **kwargs)
            finally:
                with spy.lock:
                    del spy.in_flight[token]

        return call


class UploadSpy:
    """Wraps BulkClient.start_ingest: at each upload, the earlier jobs not finished yet and the keys they hold."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, key: str, on_upload: Any = None) -> None:
        self.jobs: list[tuple[str, set[str]]] = []
        self.shared: list[set[str]] = []
        self.most_unfinished = 0
        self.key = key
        self.on_upload = on_upload
        original = BulkClient.start_ingest
        spy = self

        def start_ingest(client: BulkClient, sobject: str, operation: str, part: Any, **kwargs: Any) -> str:
            part.seek(0)
            lines = part.read().decode().splitlines()
            column = lines[0].split(",").index(spy.key)
            keys = {line.split(",")[column] for line in lines[1:]}
            done = ("JobComplete", "Failed", "Aborted")
            unfinished = [held for job_id, held in spy.jobs if client.job_info(job_id, "ingest")["state"] not in done]
            spy.most_unfinished = max(spy.most_unfinished, len(unfinished))
            spy.shared.extend(keys & held for held in unfinished if keys & held)
            job_id = original(client, sobject, operation, part, **kwargs)
            spy.jobs.append((job_id, keys))
            if spy.on_upload is not None:
                spy.on_upload(len(spy.jobs), job_id)
            return job_id

        monkeypatch.setattr(BulkClient, "start_ingest", start_ingest)


def prepared(position: int, key: str, text: str) -> PreparedRecord:
    values = {"External_Id__c": key, "Text__c": text}
    return PreparedRecord(position, f"External_Id__c={key}", values, values)


def texts(org, prefix: str) -> dict[str, str]:
    return {
        r["External_Id__c"]: r["Text__c"]
        for r in org.admin.records("X__c")
        if str(r.get("External_Id__c")).startswith(prefix)
    }


# --- Collections ----------------------------------------------------------------------------------------------------


def test_collections_calls_overlap_but_never_on_one_key(emulator, monkeypatch) -> None:
    emulator.admin.latency(collections_seconds_per_record=0.001)  # 0.2 s per call of 200
    spy = CallSpy(monkeypatch, "External_Id__c")
    writer = CollectionsWriter(
        RestClient(connect(emulator.credentials("username_password"))), "X__c", "upsert",
        external_id_field="External_Id__c", concurrency=4,
    )  # fmt: skip
    # Keys 0-499 over and over: calls 0 and 1 share none, call 2 (keys 400-499 and 0-99) repeats keys of call 0.
    records = [prepared(i, f"C-{i % 500}", f"v{i}") for i in range(1200)]
    try:
        outcomes = writer.write(records)
    finally:
        writer.close()

    assert [o.success for o in outcomes] == [True] * 1200
    assert spy.shared == []  # no key was in two calls at once
    assert spy.most > 1  # and yet calls did overlap
    final = texts(emulator, "C-")
    assert final == {f"C-{k}": f"v{1000 + k if k < 200 else 500 + k}" for k in range(500)}  # the last write won


def test_collections_with_concurrency_count_rejects_and_states_as_before(emulator, h, monkeypatch) -> None:
    emulator.admin.latency(collections_seconds_per_record=0.001)
    spy = CallSpy(monkeypatch, "External_Id__c")
    bad = {5, 333, 334, 901}

    def messages() -> Iterator[Any]:
        for i in range(1, 1201):
            data = {"External_Id__c": f"T-{i}", "Text__c": f"t{i}"}
            if i in bad:
                data["Email__c"] = "not an address"
            yield h.record("s", data)
            if i % 400 == 0:
                yield h.state("s", upto=i)

    cfg = h.config(emulator, api="collections", external_id_field="External_Id__c", batch_size=1000,
                   flush_interval_seconds=0, concurrency=6)  # fmt: skip
    out = h.write(cfg, h.catalog(h.stream("s")), messages())

    assert [m.state.stream.stream_state.upto for m in out] == [400, 800, 1200]
    assert [m.state.destinationStats.rejectedRecordCount for m in out] == [3.0, 0.0, 1.0]
    assert spy.most > 1 and spy.shared == []
    assert len(texts(emulator, "T-")) == 1200 - len(bad)


def test_an_update_repeating_an_id_in_a_later_call_waits_for_the_earlier_one(emulator, h, monkeypatch) -> None:
    """An update (matching on Id) is not split into rounds: the writer alone keeps the calls of one Id apart."""
    emulator.admin.latency(collections_seconds_per_record=0.001)
    ids = [r["Id"] for r in h.live(emulator, "X__c")][:5]
    spy = CallSpy(monkeypatch, "Id")
    writer = CollectionsWriter(RestClient(connect(emulator.credentials("username_password"))), "X__c", "update",
                               concurrency=3)  # fmt: skip
    prefix = ids[0][:3]

    def call(wave: int, real: bool) -> list[PreparedRecord]:
        """200 records: the five real Ids (when `real`) and fillers with Ids of no record (each its own)."""
        start = wave * 200
        found = [PreparedRecord(start + i, f"#{i}", {"Id": ids[i], "Text__c": f"w{wave}"}) for i in range(5)]
        fillers = [PreparedRecord(start + 5 + j, f"x{j}", {"Id": f"{prefix}{wave:03d}{j:012d}"}) for j in range(195)]
        return (found if real else []) + fillers[: 200 - (5 if real else 0)]

    # Calls 0 and 2 hold the five Ids; call 2 must wait for call 0, and may overlap call 1.
    records = call(0, True) + call(1, False) + call(2, True) + call(3, False)
    try:
        writer.write(records)
    finally:
        writer.close()
    assert spy.shared == []
    assert spy.most > 1
    final = {r["Id"]: r["Text__c"] for r in h.live(emulator, "X__c") if r["Id"] in ids}
    assert set(final.values()) == {"w2"}


# --- Bulk -----------------------------------------------------------------------------------------------------------


def test_bulk_jobs_overlap_but_a_repeated_key_waits_for_its_earlier_job(emulator, monkeypatch) -> None:
    emulator.admin.latency(ingest_start_seconds=0.5)
    spy = UploadSpy(monkeypatch, "External_Id__c")
    bulk = BulkClient(connect(emulator.credentials("username_password")), poll_interval=0.05)
    jobs = BulkJobs(bulk, "X__c", "upsert", external_id_field="External_Id__c", max_records=50, concurrency=4)
    try:
        failures = jobs.add([prepared(i, f"K-{i}", f"first {i}") for i in range(1, 151)])  # three jobs of 50
        failures += jobs.add([prepared(151, "K-5", "second 5"), prepared(152, "K-120", "second 120")])
        failures += jobs.add([prepared(153 + i, f"K-{200 + i}", "new") for i in range(10)])
        failures += jobs.settle()
    finally:
        jobs.close()

    assert failures == []
    assert spy.most_unfinished >= 2  # jobs were in flight together
    assert spy.shared == []  # but never two holding one key
    final = texts(emulator, "K-")
    assert final["K-5"] == "second 5" and final["K-120"] == "second 120" and final["K-50"] == "first 50"
    assert len(final) == 160


def bulk_messages(h, total: int, state_every: int, extra=lambda i: {}) -> Iterator[Any]:
    for i in range(1, total + 1):
        yield h.record("s", {"External_Id__c": f"T-{i}", "Text__c": f"text {i}", **extra(i)})
        if i % state_every == 0:
            yield h.state("s", upto=i)


def bulk_config(org, h, **settings):
    return h.config(org, api="bulk", external_id_field="External_Id__c", batch_size=50, flush_interval_seconds=0,
                    concurrency=3, **settings)  # fmt: skip


def test_states_come_out_only_after_their_records_with_several_jobs_in_flight(emulator, h, monkeypatch) -> None:
    monkeypatch.setattr(plan_module, "CONCURRENT_JOB_RECORDS", JOB_RECORDS)
    emulator.admin.latency(ingest_start_seconds=0.3)
    spy = UploadSpy(monkeypatch, "External_Id__c")
    seen = []
    for message in h.DestinationSalesforce().write(
        bulk_config(emulator, h), h.catalog(h.stream("s")), bulk_messages(h, 600, 50)
    ):
        upto = message.state.stream.stream_state.upto
        present = texts(emulator, "T-")
        assert {f"T-{i}" for i in range(1, upto + 1)} <= set(present)  # committed before the STATE came out
        seen.append((upto, message.state.destinationStats.recordCount))

    assert seen == [(upto, 50.0) for upto in range(50, 601, 50)]
    assert len(spy.jobs) == 6 and spy.most_unfinished >= 2


def test_a_job_failing_between_jobs_in_flight_has_its_records_written_again(emulator, h, monkeypatch) -> None:
    monkeypatch.setattr(plan_module, "CONCURRENT_JOB_RECORDS", JOB_RECORDS)
    emulator.admin.latency(ingest_start_seconds=0.3)

    def fail_the_second(uploaded: int, job_id: str) -> None:
        if uploaded == 2:  # the second of four jobs fails after 30 rows (it waits 0.3 s before it runs)
            emulator.admin.add_fault(kind="bulk_job_failed", path=job_id, rows=30, count=1)

    spy = UploadSpy(monkeypatch, "External_Id__c", on_upload=fail_the_second)
    out = h.write(bulk_config(emulator, h), h.catalog(h.stream("s")), bulk_messages(h, 400, 100))

    assert emulator.admin.faults() == []  # the fault was used: a job did fail
    assert spy.most_unfinished >= 2
    assert [m.state.stream.stream_state.upto for m in out] == [100, 200, 300, 400]
    assert [m.state.destinationStats.rejectedRecordCount for m in out] == [0.0] * 4
    assert texts(emulator, "T-") == {f"T-{i}": f"text {i}" for i in range(1, 401)}


def test_rejected_rows_of_jobs_in_flight_are_counted_by_their_states(emulator, h, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(plan_module, "CONCURRENT_JOB_RECORDS", JOB_RECORDS)
    emulator.admin.latency(ingest_start_seconds=0.3)
    spy = UploadSpy(monkeypatch, "External_Id__c")
    path = tmp_path / "rejects.jsonl"
    refused = {7, 150, 151, 420}
    out = h.write(
        bulk_config(emulator, h, rejected_records_path=str(path)),
        h.catalog(h.stream("s")),
        bulk_messages(h, 500, 100, extra=lambda i: {"Email__c": "not an address"} if i in refused else {}),
    )

    assert spy.most_unfinished >= 2
    assert [m.state.destinationStats.rejectedRecordCount for m in out] == [1.0, 2.0, 0.0, 0.0, 1.0]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["position"] for line in lines) == sorted(refused)
    assert len(texts(emulator, "T-")) == 500 - len(refused)


# --- the setting ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 26, "four", 2.5])
def test_a_concurrency_out_of_range_is_a_config_error_naming_it(emulator, h, value) -> None:
    cfg = h.config(emulator, concurrency=value)
    with pytest.raises(ConfigError) as raised:
        h.DestinationSalesforce().validate_config(cfg)
    assert raised.value.setting == "concurrency"
    assert "'concurrency'" in str(raised.value)


def test_concurrency_one_sends_one_call_at_a_time(emulator, h, monkeypatch) -> None:
    emulator.admin.latency(collections_seconds_per_record=0.001)
    spy = CallSpy(monkeypatch, "External_Id__c")
    cfg = h.config(emulator, api="collections", external_id_field="External_Id__c", concurrency=1,
                   flush_interval_seconds=0)  # fmt: skip
    h.write(cfg, h.catalog(h.stream("s")), [h.record("s", {"External_Id__c": f"T-{i}"}) for i in range(800)])
    assert spy.most == 1
    assert len(texts(emulator, "T-")) == 800

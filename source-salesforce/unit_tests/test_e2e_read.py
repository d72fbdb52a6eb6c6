"""End-to-end reads against the emulated org: full refresh, incremental per cursor, resume, REST vs Bulk, faults."""

from __future__ import annotations

import json
import re

import pytest
import requests
from airbyte_cdk.models import AirbyteStreamStatus, ConfiguredAirbyteCatalogSerializer, SyncMode
from airbyte_cdk.test.state_builder import StateBuilder
from salesforce_api import RestClient, connect
from source_salesforce import SourceSalesforce, record_blocks
from source_salesforce.entrypoint import SourceEntrypoint
from source_salesforce.record_blocks import RecordBlocks

CURSORS = ["SystemModstamp", "LastModifiedDate", "CreatedDate"]
RFC3339_MILLIS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})")


def datetime_fields(stream) -> list[str]:
    return [n for n, p in stream.json_schema["properties"].items() if p.get("format") == "date-time"]


def by_id(records):
    return {r["Id"]: r for r in records}


def test_full_refresh_reads_every_row_including_deleted(sf, org, admin, config):
    streams = sf.discover(config)
    output = sf.read(config, sf.configured_catalog(streams, ["Account", "X__c"], SyncMode.full_refresh))
    for name in ("Account", "X__c"):
        records = sf.records(output, name)
        expected = {r["Id"] for r in admin.records(name)}
        assert {r["Id"] for r in records} == expected
        assert len(records) == len(expected)
        assert all("attributes" not in r for r in records)
        assert output.get_stream_statuses(name)[-1] == AirbyteStreamStatus.COMPLETE
    assert sf.states(output)[-1].stream.stream_state.__dict__ == {"__ab_full_refresh_sync_complete": True}


@pytest.mark.parametrize("cursor", CURSORS)
def test_incremental_with_each_cursor_then_no_changes_costs_little(sf, org, admin, config, cursor):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Contact"], SyncMode.incremental, cursor)
    first = sf.read(config, catalog)
    records = sf.records(first)
    assert {r["Id"] for r in records} == {r["Id"] for r in admin.records("Contact")}
    assert len(records) == len({r["Id"] for r in records})
    values = [r[cursor] for r in records]
    assert values == sorted(values)
    last_state = sf.states(first)[-1]
    assert last_state.stream.stream_state.__dict__["cursor_field"] == cursor

    admin.reset_calls()
    second = sf.read(config, catalog, [last_state])
    assert sf.records(second) == []
    assert sf.states(second), "a sync with no changes still emits a state"
    calls = admin.calls()
    data_calls = calls["total"] - sum(n for k, n in calls["by_endpoint"].items() if "oauth2" in k)
    assert data_calls <= 2, calls


def test_unfilterable_or_unknown_cursor_is_a_config_error(sf, config):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account"], SyncMode.incremental, "Name")
    output = sf.read(config, catalog, expect_failure=True)
    assert any("SystemModstamp" in (e.trace.error.message or "") for e in output.errors)


@pytest.mark.parametrize(
    "settings",
    [{"force_api": "rest"}, {"force_api": "bulk", "window_days": 500}],
    ids=["rest-pages", "bulk-windows"],
)
def test_resume_from_every_state_loses_and_duplicates_nothing(sf, org, admin, settings):
    config = sf.config(org, **settings)
    admin.configure(rest_page_size=7)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account"], SyncMode.incremental)
    full = sf.read(config, catalog)
    all_ids = [m.record.data["Id"] for m in full.records]
    assert len(all_ids) == len(set(all_ids)) > 14
    # After the k-th STATE, the records delivered so far plus what a resumed read delivers are every record, once.
    assert sf.resumes_from_every_checkpoint(config, catalog, full, sorted(all_ids)) >= 3


def test_full_refresh_resumes_from_a_checkpoint(sf, org, admin, config):
    admin.configure(rest_page_size=5)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account"], SyncMode.full_refresh)
    full = sf.read(config, catalog)
    all_ids = [r["Id"] for r in sf.records(full)]
    first_state = sf.states(full)[0]
    resumed = sf.read(config, catalog, [first_state])
    assert sorted(all_ids[:5] + [r["Id"] for r in sf.records(resumed)]) == sorted(all_ids)


@pytest.mark.parametrize("sync_mode", [SyncMode.full_refresh, SyncMode.incremental])
def test_rest_and_bulk_give_identical_records(sf, org, admin, sync_mode):
    streams = sf.discover(sf.config(org))
    # Bulk cannot select base64 fields (X__c.Attachment__c): an object selecting one is always read through REST,
    # so the field is deselected here to compare the two APIs on every other type.
    x_stream = next(s for s in streams if s.name == "X__c")
    del x_stream.json_schema["properties"]["Attachment__c"]
    names = ["Account", "Contact", "X__c"]
    catalog = sf.configured_catalog(streams, names, sync_mode)
    rest = sf.read(sf.config(org, force_api="rest"), catalog)
    admin.reset_calls()
    bulk = sf.read(sf.config(org, force_api="bulk"), catalog)
    assert admin.calls()["by_endpoint"].get("POST /jobs/query", 0) >= len(names)
    for name in names:
        rest_records, bulk_records = by_id(sf.records(rest, name)), by_id(sf.records(bulk, name))
        assert rest_records and rest_records == bulk_records
        fields = datetime_fields(next(s for s in streams if s.name == name))
        values = [r[f] for r in rest_records.values() for f in fields if r.get(f) is not None]
        assert values and all(RFC3339_MILLIS.fullmatch(v) for v in values), values[:3]
    x = next(iter(by_id(sf.records(bulk, "X__c")).values()))
    assert "Attachment__c" not in x and "attributes" not in x
    assert isinstance(x["Integer__c"], int | None) and isinstance(x["Checkbox__c"], bool)
    assert x["Location__c"] is None or set(x["Location__c"]) == {"latitude", "longitude"}


def test_auto_switches_to_bulk_above_the_threshold(sf, org, admin):
    config = sf.config(org, bulk_threshold=1)
    streams = sf.discover(config)
    admin.reset_calls()
    output = sf.read(config, sf.configured_catalog(streams, ["Contact"], SyncMode.incremental))
    assert {r["Id"] for r in sf.records(output)} == {r["Id"] for r in admin.records("Contact")}
    assert any("jobs/query" in endpoint for endpoint in admin.calls()["by_endpoint"])


def test_session_expiry_mid_sync_logs_in_again(sf, org, admin, config):
    admin.configure(rest_page_size=5)
    streams = sf.discover(config)
    admin.fault(path="/query", kind="expire_session", count=1)
    output = sf.read(config, sf.configured_catalog(streams, ["Account"], SyncMode.incremental))
    assert org.admin.faults() == []  # the 401 was served
    ids = [r["Id"] for r in sf.records(output)]
    assert sorted(ids) == sorted(r["Id"] for r in admin.records("Account"))


def test_query_timeout_splits_the_window(sf, org, admin, config):
    streams = sf.discover(config)
    admin.configure(query_timeout_rows=sf.largest_tie(admin, "Contact"))
    output = sf.read(config, sf.configured_catalog(streams, ["Contact"], SyncMode.incremental))
    records = sf.records(output)
    assert len(records) == len({r["Id"] for r in records})
    assert {r["Id"] for r in records} == {r["Id"] for r in admin.records("Contact")}
    assert output.is_in_logs("splitting")


def test_api_budget_stops_cleanly_with_state_and_resumes(sf, org, admin):
    config = sf.config(org, api_budget_percent=50)
    streams = sf.discover(sf.config(org))
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.incremental)
    admin.configure(rest_page_size=5, daily_api_limit=100, api_usage=45)
    stopped = sf.read(config, catalog)
    assert stopped.is_in_logs("budget")
    assert AirbyteStreamStatus.INCOMPLETE in (
        stopped.get_stream_statuses("Account") + stopped.get_stream_statuses("Contact")
    )
    assert sf.states(stopped)
    admin.configure(api_usage=0, daily_api_limit=100000)
    last = {}
    for state in sf.states(stopped):
        last[state.stream.stream_descriptor.name] = state
    resumed = sf.read(sf.config(org), catalog, list(last.values()))
    for name in ("Account", "Contact"):
        ids = [r["Id"] for r in sf.records(stopped, name) + sf.records(resumed, name)]
        assert sorted(ids) == sorted(r["Id"] for r in admin.records(name))


def test_removed_field_warns_and_read_continues(sf, org, admin, config):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["X__c"], SyncMode.full_refresh)
    x_stream = next(s for s in streams if s.name == "X__c")
    removed = next(name for name in x_stream.json_schema["properties"] if name.endswith("__c") and name != "Name")
    admin.remove_field("X__c", removed)
    output = sf.read(config, catalog)
    assert output.is_in_logs(removed)
    records = sf.records(output)
    assert records and all(removed not in r for r in records)


def test_bulk_query_timeout_splits_the_window(sf, org, admin):
    config = sf.config(org, force_api="bulk")
    streams = sf.discover(config)
    admin.configure(query_timeout_rows=sf.largest_tie(admin, "Contact"))
    output = sf.read(config, sf.configured_catalog(streams, ["Contact"], SyncMode.incremental))
    ids = [r["Id"] for r in sf.records(output)]
    assert len(ids) == len(set(ids))
    assert set(ids) == {r["Id"] for r in admin.records("Contact")}
    assert output.is_in_logs("splitting")


def test_a_future_state_reads_nothing_and_still_emits_a_state(sf, org, config):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account"], SyncMode.incremental)
    future = StateBuilder().with_stream_state(
        "Account", {"cursor_field": "SystemModstamp", "cursor": "2999-01-01T00:00:00.000Z", "last_id": ""}
    )
    output = sf.read(config, catalog, future.build())
    assert sf.records(output) == []
    assert sf.states(output)[-1].stream.stream_state.__dict__["cursor"] == "2999-01-01T00:00:00.000Z"


def test_daily_limit_reached_stops_with_state(sf, org, admin, config):
    admin.configure(rest_page_size=5)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account"], SyncMode.incremental)
    admin.fault(path="/query", kind="request_limit", count=1)
    stopped = sf.read(config, catalog)
    assert stopped.is_in_logs("daily API limit")
    assert AirbyteStreamStatus.INCOMPLETE in stopped.get_stream_statuses("Account")
    resumed = sf.read(config, catalog, [sf.states(stopped)[-1]])
    ids = [r["Id"] for r in sf.records(stopped) + sf.records(resumed)]
    assert sorted(ids) == sorted(r["Id"] for r in admin.records("Account"))


def test_full_refresh_resumes_from_every_checkpoint(sf, org, admin, config):
    admin.configure(rest_page_size=6)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Contact"], SyncMode.full_refresh)
    full = sf.read(config, catalog)
    all_ids = sorted(r["Id"] for r in sf.records(full))
    assert sf.resumes_from_every_checkpoint(config, catalog, full, all_ids) >= 3


def test_deleted_records_are_delivered(sf, org, admin, config):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Contact"], SyncMode.incremental)
    first = sf.read(sf.config(org, include_purged_deletes=True), catalog)
    victim = sf.records(first)[0]["Id"]
    RestClient(connect(org.credentials("username_password"))).delete_one("Contact", victim)
    sf.let_org_clock_pass_changes()
    second = sf.read(sf.config(org, include_purged_deletes=True), catalog, [sf.states(first)[-1]])
    deleted = [r for r in sf.records(second) if r["Id"] == victim]
    assert deleted and all(r["IsDeleted"] is True for r in deleted)


def test_console_entrypoint_read_matches_the_cdk_output(sf, org, admin, config, tmp_path):
    """The console entrypoint's `read` (records in blocks) gives the same messages as the CDK's entrypoint, state
    record counts included."""
    admin.configure(rest_page_size=7)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.incremental)
    expected = sf.read(config, catalog)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
    entrypoint = SourceEntrypoint(SourceSalesforce())
    args = ["read", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    lines = "\n".join(entrypoint.run(entrypoint.parse_args(args))).splitlines()
    messages = [json.loads(line) for line in lines]
    records = [m["record"]["data"] for m in messages if m["type"] == "RECORD"]
    # Streams are read at once, so their messages interleave differently in each run: compared stream by stream.
    for stream in ("Account", "Contact"):
        got = [m["record"]["data"] for m in messages if m["type"] == "RECORD" and m["record"]["stream"] == stream]
        # The CDK's serialiser drops null values from record data; record blocks keep them, so every record
        # of a stream has the same keys.
        assert [{k: v for k, v in r.items() if v is not None} for r in got] == [
            m.record.data for m in expected.records if m.record.stream == stream
        ]
    assert len({tuple(r) for r in records if "AccountId" not in r}) == 1

    def end_free(state: dict) -> dict:
        # A state with no last_id stands at the sync's end time, which differs between the two runs.
        return {**state, "cursor": "<end>"} if not state.get("last_id") else state

    def stream_of(state: dict) -> str:
        return state["stream"]["stream_descriptor"]["name"]

    states = [
        (stream_of(m["state"]), end_free(m["state"]["stream"]["stream_state"]), m["state"]["sourceStats"])
        for m in messages
        if "state" in m
    ]
    expected_states = [
        (
            m.state.stream.stream_descriptor.name,
            end_free(m.state.stream.stream_state.__dict__),
            {"recordCount": m.state.sourceStats.recordCount},
        )
        for m in expected.state_messages
    ]
    assert by_stream((name, rest) for name, *rest in states) == by_stream(
        (name, rest) for name, *rest in expected_states
    )
    assert len(states) > 4 and sum(s["recordCount"] for _, _, s in states) == len(records)


def by_stream(pairs):
    """(stream, item) pairs as each stream's items in order: streams read at once interleave differently per run."""
    grouped = {}
    for stream, item in pairs:
        grouped.setdefault(stream, []).append(item)
    return grouped


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "worker-processes"])
def test_console_entrypoint_bulk_read_matches_the_cdk_output(
    sf, org, admin, config, tmp_path, monkeypatch, caplog, workers
):
    """Bulk rows go out as record blocks through the console entrypoint, shaped in this process or in workers:
    the same records, states and counts as the CDK's own read."""
    monkeypatch.setattr("source_salesforce.record_output.BLOCK_RECORDS", 3)  # several blocks per page
    monkeypatch.setattr("source_salesforce.source.worker_count", lambda: workers)
    monkeypatch.setattr("source_salesforce.record_output.PARALLEL_MIN_RECORDS", 0)
    monkeypatch.setattr("source_salesforce.page_workers.CHUNK_BYTES", 600)  # several chunks per page
    blocks = []

    class Blocks(RecordBlocks):
        def block(self, records):
            blocks.append(super().block(records))
            return blocks[-1]

    def record_block(*args):
        blocks.append(record_blocks.record_block(*args))
        return blocks[-1]

    monkeypatch.setattr("source_salesforce.record_output.RecordBlocks", Blocks)
    if workers:
        monkeypatch.setattr("source_salesforce.record_output.record_block", record_block)
    requests.put(org.url + "/__emulator/bulk", json={"query_page_size": 8}, timeout=30).raise_for_status()
    config = {**config, "force_api": "bulk"}
    streams = sf.discover(config)
    next(s for s in streams if s.name == "X__c").json_schema["properties"].pop("Attachment__c")  # not in Bulk
    catalog = sf.configured_catalog(streams, ["Account", "X__c"], SyncMode.full_refresh)
    expected = sf.read(config, catalog)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
    entrypoint = SourceEntrypoint(SourceSalesforce())
    args = ["read", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    caplog.clear()
    lines = "\n".join(entrypoint.run(entrypoint.parse_args(args))).splitlines()
    messages = [json.loads(line) for line in lines]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) >= 40
    # Streams are read at once: their messages interleave differently in each run, so compared stream by stream.
    assert by_stream((r["stream"], {k: v for k, v in r["data"].items() if v is not None}) for r in records) == (
        by_stream((m.record.stream, m.record.data) for m in expected.records)
    )
    fields = {s.name: datetime_fields(s) for s in streams}
    values = [r["data"][f] for r in records for f in fields[r["stream"]] if r["data"].get(f) is not None]
    assert values and all(RFC3339_MILLIS.fullmatch(v) for v in values), values[:3]
    assert sum(block.count for block in blocks if block) == len(records)  # all of them went out in blocks

    def job_free(state: dict) -> dict:
        # Bulk job ids differ between the two runs: compare how many were in flight.
        return {**state, "bulk_jobs": len(state["bulk_jobs"])} if "bulk_jobs" in state else state

    states = by_stream(
        (
            m["state"]["stream"]["stream_descriptor"]["name"],
            (job_free(m["state"]["stream"]["stream_state"]), m["state"]["sourceStats"]),
        )
        for m in messages
        if "state" in m
    )
    assert states == by_stream(
        (
            m.state.stream.stream_descriptor.name,
            (job_free(m.state.stream.stream_state.__dict__), {"recordCount": m.state.sourceStats.recordCount}),
        )
        for m in expected.state_messages
    )
    for name in ("Account", "X__c"):
        count = sum(r["stream"] == name for r in records)
        assert f"Read {count} records from {name} stream" in caplog.messages
    assert ("Shaping Bulk results in 2 worker processes" in caplog.messages) == bool(workers)
    statuses = by_stream(
        (m["trace"]["stream_status"]["stream_descriptor"]["name"], m["trace"]["stream_status"]["status"])
        for m in messages
        if m.get("trace", {}).get("stream_status")
    )
    assert statuses == by_stream(
        (m.trace.stream_status.stream_descriptor.name, m.trace.stream_status.status.name)
        for m in expected.trace_messages
        if m.trace.stream_status
    )


def test_one_failing_stream_does_not_lose_the_others(sf, org, admin, config):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.incremental)
    catalog.streams[0].cursor_field = ["Name"]  # Account: not a datetime, so that stream fails with a config error
    output = sf.read(config, catalog, expect_failure=True)
    assert output.get_stream_statuses("Account")[-1] == AirbyteStreamStatus.INCOMPLETE
    assert output.get_stream_statuses("Contact")[-1] == AirbyteStreamStatus.COMPLETE
    assert {r["Id"] for r in sf.records(output, "Contact")} == {r["Id"] for r in admin.records("Contact")}


def test_lookback_rereads_recent_changes(sf, org, admin, config):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Contact"], SyncMode.incremental)
    first = sf.read(config, catalog)
    state = sf.states(first)[-1]
    assert sf.records(sf.read(config, catalog, [state])) == []
    # The seeded changes lie years back: a lookback longer than that reads them all again.
    again = sf.read(sf.config(org, lookback_seconds=20 * 365 * 86400), catalog, [state])
    assert {r["Id"] for r in sf.records(again)} == {r["Id"] for r in admin.records("Contact")}


@pytest.mark.parametrize("sync_mode", [SyncMode.full_refresh, SyncMode.incremental])
def test_object_bulk_refuses_is_read_through_rest(sf, org, admin, sync_mode):
    config = sf.config(org, force_api="bulk")
    streams = sf.discover(config)
    requests.put(org.url + "/__emulator/bulk", json={"unsupported_objects": ["Contact"]}, timeout=30).raise_for_status()
    output = sf.read(config, sf.configured_catalog(streams, ["Contact", "Account"], sync_mode))
    assert output.is_in_logs("reading it through REST")
    for name in ("Contact", "Account"):
        ids = [r["Id"] for r in sf.records(output, name)]
        assert sorted(ids) == sorted(r["Id"] for r in admin.records(name))


def test_bulk_read_is_sized_by_one_count_call_including_deleted_rows(sf, org, admin, config, monkeypatch):
    counted: list[tuple[str, bool, int]] = []
    original = RestClient.count

    def spy(self, soql_from_where, include_deleted=False):
        total = original(self, soql_from_where, include_deleted=include_deleted)
        counted.append((soql_from_where, include_deleted, total))
        return total

    monkeypatch.setattr(RestClient, "count", spy)
    streams = sf.discover(config)
    RestClient(connect(org.credentials("username_password"))).delete_one("Contact", admin.records("Contact")[0]["Id"])
    sf.let_org_clock_pass_changes()
    admin.reset_calls()
    catalog = sf.configured_catalog(streams, ["Contact"], SyncMode.incremental)
    output = sf.read(sf.config(org, force_api="bulk"), catalog)
    ids = {r["Id"] for r in sf.records(output)}
    assert ids == {r["Id"] for r in admin.records("Contact")}
    assert [r for r in sf.records(output) if r["IsDeleted"]], "the deleted row is read and counted"
    ((query, include_deleted, total),) = counted
    assert query.startswith("FROM Contact WHERE") and include_deleted and total == len(ids)
    assert admin.calls()["by_endpoint"].get("GET /queryAll") == 1


def test_bulk_full_refresh_in_windows_resumes_from_every_window(sf, org, admin, config, monkeypatch):
    from source_salesforce import windows as window_module

    monkeypatch.setattr(window_module, "BULK_FULL_REFRESH_WINDOW_RECORDS", 6)
    bulk_config = sf.config(org, force_api="bulk")
    catalog = sf.configured_catalog(sf.discover(bulk_config), ["Contact"], SyncMode.full_refresh)
    admin.reset_calls()
    full = sf.read(bulk_config, catalog)
    all_ids = sorted(r["Id"] for r in sf.records(full))
    assert all_ids == sorted(r["Id"] for r in admin.records("Contact"))
    assert admin.calls()["by_endpoint"].get("POST /jobs/query", 0) >= 3, "the read ran one job per window"
    assert sf.resumes_from_every_checkpoint(bulk_config, catalog, full, all_ids) >= 2


@pytest.mark.parametrize("api", ["rest", "bulk"])
def test_nullable_custom_cursor_reads_records_where_it_is_null(sf, org, admin, api):
    admin.add_field("Contact", "Reviewed__c", "datetime")
    rest = RestClient(connect(org.credentials("username_password")))
    contacts = admin.records("Contact")
    reviewed = {r["Id"] for r in contacts[:5]}
    for record_id in reviewed:
        rest.update_one("Contact", record_id, {"Reviewed__c": "2024-01-31T12:00:00.000Z"})
    config = sf.config(org, force_api=api)
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.incremental, "Reviewed__c")
    first = sf.read(config, catalog)
    ids = [r["Id"] for r in sf.records(first)]
    assert sorted(ids) == sorted(r["Id"] for r in contacts)  # the null-cursor ones too, each once
    assert first.is_in_logs(f"{len(contacts) - 5} records have no value in the cursor field Reviewed__c")
    second = sf.read(config, catalog, [sf.states(first)[-1]])
    # Never lost: they are read again, since no cursor range selects them.
    assert sorted(r["Id"] for r in sf.records(second)) == sorted(r["Id"] for r in contacts if r["Id"] not in reviewed)


def test_api_choice_is_logged_and_base64_fields_can_be_left_out_to_keep_bulk(sf, org, admin):
    streams = sf.discover(sf.config(org))
    catalog = sf.configured_catalog(streams, ["X__c", "Account"], SyncMode.full_refresh)
    forced = sf.read(sf.config(org, force_api="bulk"), catalog)
    assert forced.is_in_logs("Account: reading through Bulk API 2.0 \\(force_api: bulk\\)")
    assert forced.is_in_logs("X__c: reading through REST .*base64 field\\(s\\) Attachment__c")
    assert any(r.get("Attachment__c") for r in sf.records(forced, "X__c"))

    admin.reset_calls()
    kept = sf.read(sf.config(org, force_api="bulk", exclude_base64_fields=True), catalog)
    assert kept.is_in_logs("X__c: base64 fields left out \\(exclude_base64_fields\\): Attachment__c")
    assert kept.is_in_logs("X__c: reading through Bulk API 2.0")
    records = sf.records(kept, "X__c")
    assert sorted(r["Id"] for r in records) == sorted(r["Id"] for r in admin.records("X__c"))
    assert all("Attachment__c" not in r for r in records)
    assert admin.calls()["by_endpoint"].get("POST /jobs/query") == 2  # X__c and Account

    auto = sf.read(sf.config(org), catalog)
    assert auto.is_in_logs("Account: reading through REST, or Bulk API 2.0 if it has more than 50000 records")

"""Streams read at once and Bulk jobs run ahead, against the emulator: the same records and states per stream as a
one-at-a-time read, the largest objects first, and never more Bulk jobs at once than the sync allows."""

import threading

import pytest
from airbyte_cdk.models import AirbyteStreamStatus, SyncMode
from salesforce_api import BulkClient, connect


def by_stream(output):
    """Each stream's records and states, in the order the stream gave them."""
    grouped = {}
    for message in output.records_and_state_messages:
        if message.record:
            grouped.setdefault(message.record.stream, []).append(message.record.data["Id"])
        else:
            state = dict(message.state.stream.stream_state.__dict__)
            state.pop("bulk_jobs", None)
            if "last_id" not in state or not state["last_id"]:
                state.pop("cursor", None)  # the end of the read: the org's time, which differs between reads
            grouped.setdefault(message.state.stream.stream_descriptor.name, []).append(state)
    return grouped


def test_streams_are_read_at_once_with_each_streams_records_and_states_in_order(sf, org, admin, config):
    admin.configure(rest_page_size=4)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account", "Contact", "X__c"], SyncMode.incremental)
    one_at_a_time = sf.read({**config, "concurrent_streams": 1}, catalog)
    org.admin.latency(round_trip_seconds=0.05)  # each page waits, as on a real org: streams overlap
    at_once = sf.read({**config, "concurrent_streams": 3}, catalog)
    assert by_stream(at_once) == by_stream(one_at_a_time)
    order = [m.record.stream for m in at_once.records]
    last_account = len(order) - 1 - order[::-1].index("Account")
    assert {"Contact", "X__c"} <= set(order[:last_account]), "the streams did not overlap"
    assert any("Reading up to 3 streams at once" in m.log.message for m in at_once.logs)


def test_the_largest_objects_are_read_first(sf, org, admin, config):
    org.admin.generate("X__c", 200)
    org.admin.generate("Account", 60)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Contact", "Account", "X__c"], SyncMode.full_refresh)
    output = sf.read({**config, "concurrent_streams": 2}, catalog)
    started = [
        m.trace.stream_status.stream_descriptor.name
        for m in output.trace_messages
        if m.trace.stream_status and m.trace.stream_status.status == AirbyteStreamStatus.STARTED
    ]
    # Two at once: X__c and Account start first (in either order), Contact, first in the catalog, when one is done.
    assert set(started[:2]) == {"X__c", "Account"} and started[2] == "Contact"


class CountingBulkClient(BulkClient):
    """A BulkClient that counts the query jobs that exist at once (submitted, not yet deleted)."""

    lock = threading.Lock()
    open_jobs: set = set()
    most = 0

    def submit_query(self, *args, **kwargs):
        job_id = super().submit_query(*args, **kwargs)
        with self.lock:
            self.open_jobs.add(job_id)
            type(self).most = max(type(self).most, len(self.open_jobs))
        return job_id

    def delete_job(self, job_id, kind, *, quiet=False):
        with self.lock:
            self.open_jobs.discard(job_id)
        return super().delete_job(job_id, kind, quiet=quiet)


@pytest.fixture
def counting_bulk(monkeypatch):
    CountingBulkClient.open_jobs = set()
    CountingBulkClient.most = 0
    monkeypatch.setattr("source_salesforce.source.BulkClient", CountingBulkClient)
    return CountingBulkClient


def test_bulk_jobs_run_ahead_within_the_syncs_limit(sf, org, admin, config, monkeypatch, counting_bulk):
    """Two streams in windows of 10 records: their jobs run ahead of the one being read, never more than 3 at once
    (the limit here), and every record is read once, with a state after each window."""
    org.admin.generate("X__c", 60)
    org.admin.generate("Account", 40)
    monkeypatch.setattr("source_salesforce.windows.BULK_WINDOW_RECORDS", 10)
    monkeypatch.setattr("source_salesforce.readers.MAX_BULK_QUERY_JOBS", 3)
    org.admin.latency(bulk_start_seconds=0.2)  # jobs take a while: the reader has time to submit the next ones
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["X__c", "Account"], SyncMode.incremental)
    output = sf.read({**config, "force_api": "bulk", "exclude_base64_fields": True, "concurrent_streams": 2}, catalog)
    for name in ("X__c", "Account"):
        ids = [r["Id"] for r in sf.records(output, name)]
        assert sorted(ids) == sorted(r["Id"] for r in admin.records(name))
    assert counting_bulk.most == 3
    assert not counting_bulk.open_jobs  # every job deleted
    windows = [s for s in sf.states(output) if s.stream.stream_descriptor.name == "X__c"]
    assert len(windows) >= 7


def test_a_bulk_job_refused_at_the_orgs_limit_is_submitted_again(sf, org, admin, config, monkeypatch, caplog):
    """Another tool holds the org's only Bulk query job slot: the job the read needs is submitted again until there
    is room, and jobs ahead are not pushed; every record is read."""
    org.admin.generate("X__c", 40)
    monkeypatch.setattr("source_salesforce.windows.BULK_WINDOW_RECORDS", 10)
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["X__c"], SyncMode.incremental)
    org.admin.latency(bulk_start_seconds=1.5, max_bulk_query_jobs=1)
    with connect(org.credentials()) as session:
        BulkClient(session).submit_query("SELECT Id FROM Account")  # another tool's job, in progress for a while
    output = sf.read({**config, "force_api": "bulk", "exclude_base64_fields": True}, catalog)
    assert sorted(r["Id"] for r in sf.records(output, "X__c")) == sorted(r["Id"] for r in admin.records("X__c"))
    assert any("Bulk query jobs are at the org's limit" in m for m in caplog.messages)

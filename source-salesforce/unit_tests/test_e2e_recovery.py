"""Reads that meet a failure on the way finish with every record: timeouts in full refresh, failed Bulk jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from airbyte_cdk.models import (
    AirbyteStateMessageSerializer,
    AirbyteStreamStatus,
    ConfiguredAirbyteCatalogSerializer,
    SyncMode,
)
from salesforce_api import BulkClient, connect
from salesforce_api.errors import NotFoundError


def all_ids(admin, name: str) -> list[str]:
    return sorted(r["Id"] for r in admin.records(name))


def assert_every_record_once(sf, admin, output, name: str = "Contact") -> None:
    ids = [r["Id"] for r in sf.records(output, name)]
    assert sorted(ids) == all_ids(admin, name)
    assert output.get_stream_statuses(name)[-1] == AirbyteStreamStatus.COMPLETE


@pytest.mark.parametrize("api", ["rest", "bulk", "auto"])
def test_full_refresh_splits_on_query_timeout_and_finishes(sf, org, admin, api):
    """A full refresh whose query (REST, the COUNT() before Bulk, the Bulk job) times out is read in windows."""
    config = sf.config(org, force_api=api, bulk_threshold=5)
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.full_refresh)
    admin.configure(query_timeout_rows=sf.largest_tie(admin, "Contact"))
    output = sf.read(config, catalog)
    ids = [r["Id"] for r in sf.records(output)]
    assert len(ids) == len(set(ids))  # each record once: windows do not overlap
    assert_every_record_once(sf, admin, output)
    assert output.is_in_logs("splitting")
    assert sf.states(output)[-1].stream.stream_state.__dict__ == {"__ab_full_refresh_sync_complete": True}


def test_full_refresh_after_a_timeout_resumes_from_every_checkpoint(sf, org, admin):
    admin.configure(query_timeout_rows=sf.largest_tie(admin, "Contact"), rest_page_size=3)
    config = sf.config(org, force_api="rest")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.full_refresh)
    full = sf.read(config, catalog)
    delivered = [r["Id"] for r in sf.records(full)]
    assert sorted(delivered) == all_ids(admin, "Contact")
    assert sf.resumes_from_every_checkpoint(config, catalog, full, sorted(delivered)) >= 3


@pytest.mark.parametrize("sync_mode", [SyncMode.incremental, SyncMode.full_refresh])
def test_a_failed_bulk_job_is_tried_again_in_a_new_job(sf, org, admin, sync_mode):
    config = sf.config(org, force_api="bulk")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], sync_mode)
    admin.fault(path="/jobs/query", kind="bulk_job_failed", count=1)
    admin.reset_calls()
    output = sf.read(config, catalog)
    assert_every_record_once(sf, admin, output)
    assert output.is_in_logs("reading the window again in a new Bulk job")
    assert admin.calls()["by_endpoint"].get("POST /jobs/query") == 2
    assert not output.is_in_logs("through REST")


@pytest.mark.parametrize("sync_mode", [SyncMode.incremental, SyncMode.full_refresh])
def test_a_bulk_job_failing_every_time_falls_back_to_rest_for_its_window(sf, org, admin, sync_mode):
    config = sf.config(org, force_api="bulk")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], sync_mode)
    admin.fault(path="/jobs/query", kind="bulk_job_failed", count=100)
    admin.reset_calls()
    output = sf.read(config, catalog)
    assert_every_record_once(sf, admin, output)
    assert output.is_in_logs("3 Bulk jobs failed")
    assert output.is_in_logs("reading the window through REST")
    assert admin.calls()["by_endpoint"].get("POST /jobs/query") == 3


@pytest.mark.parametrize("api", ["rest", "bulk"])
def test_full_refresh_given_an_incremental_state_ignores_it(sf, org, admin, api):
    config = sf.config(org, force_api=api)
    streams = sf.discover(config)
    incremental = sf.read(config, sf.configured_catalog(streams, ["Contact"], SyncMode.incremental))
    state = sf.states(incremental)[-1]
    assert state.stream.stream_state.__dict__["cursor"]
    output = sf.read(config, sf.configured_catalog(streams, ["Contact"], SyncMode.full_refresh), [state])
    assert_every_record_once(sf, admin, output)
    assert output.is_in_logs("is an incremental one; this full refresh ignores it")


def test_a_bulk_job_left_by_a_killed_read_is_deleted_by_the_next(sf, org, admin, tmp_path):
    """kill -9 while a Bulk job runs: its id is in the last STATE, and the next sync deletes the job."""
    config = sf.config(org, force_api="bulk")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.incremental)
    requests.put(org.url + "/__emulator/bulk", json={"processing_delay": 5}, timeout=30).raise_for_status()
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
    script = Path(sys.executable).with_name("source-salesforce")
    args = [str(script), "read", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    state = None
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as live:
        try:
            for line in live.stdout:
                message = json.loads(line)
                if message["type"] == "STATE" and message["state"]["stream"]["stream_state"].get("bulk_jobs"):
                    state = message["state"]
                    break
        finally:
            live.kill()
    assert state is not None, "a STATE names the running job"
    (job_id,) = state["stream"]["stream_state"]["bulk_jobs"]
    bulk = BulkClient(connect(org.credentials("username_password")))
    assert bulk.job_info(job_id, "query")["state"]  # the job is still there

    requests.put(org.url + "/__emulator/bulk", json={"processing_delay": 0.05}, timeout=30).raise_for_status()
    resumed = sf.read(config, catalog, [AirbyteStateMessageSerializer.load(state)])
    assert resumed.is_in_logs(f"deleting Bulk job {job_id}, left by an earlier sync that was cut off")
    with pytest.raises(NotFoundError):
        bulk.job_info(job_id, "query")
    assert_every_record_once(sf, admin, resumed)
    assert resumed.is_in_logs("Setting state of Contact stream to")  # the stream's name, not the source's
    assert "bulk_jobs" not in sf.states(resumed)[-1].stream.stream_state.__dict__


def restart_org_after_first_page(org, monkeypatch) -> None:
    """The first request for a next page finds every query locator gone, as after an org restart."""
    cursors = type(org.org.cursors)
    original = cursors.more
    restarted = []

    def more(self, *args, **kwargs):
        if not restarted:
            restarted.append(True)
            self.close_all()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cursors, "more", more)


@pytest.mark.parametrize("sync_mode", [SyncMode.incremental, SyncMode.full_refresh])
@pytest.mark.parametrize("lost", ["INVALID_QUERY_LOCATOR", "NOT_FOUND"])
def test_a_lost_query_locator_restarts_from_the_last_checkpoint(sf, org, admin, monkeypatch, sync_mode, lost):
    admin.configure(rest_page_size=4)
    config = sf.config(org, force_api="rest")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], sync_mode)
    if lost == "INVALID_QUERY_LOCATOR":
        restart_org_after_first_page(org, monkeypatch)
    else:
        admin.fault(path="/query/[^/?]+$", method="GET", kind="status", status=404, count=1)
    output = sf.read(config, catalog)
    ids = [r["Id"] for r in sf.records(output)]
    assert len(ids) == len(set(ids)), "read again from the last checkpoint, not from the start"
    assert_every_record_once(sf, admin, output)
    assert output.is_in_logs("the query's next page is gone")


@pytest.mark.parametrize("sync_mode", [SyncMode.incremental, SyncMode.full_refresh])
def test_a_bulk_job_gone_mid_read_is_run_again(sf, org, admin, sync_mode):
    """NOT_FOUND for a running job (an org restart lost it): a new job reads its window."""
    config = sf.config(org, force_api="bulk")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], sync_mode)
    admin.fault(path="/jobs/query/[^/]+$", method="GET", kind="status", status=404, count=1)
    admin.reset_calls()
    output = sf.read(config, catalog)
    assert_every_record_once(sf, admin, output)
    assert output.is_in_logs("reading the window again in a new Bulk job")
    assert admin.calls()["by_endpoint"].get("POST /jobs/query") == 2

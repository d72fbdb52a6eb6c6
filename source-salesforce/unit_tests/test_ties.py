"""Ties: thousands of records share one cursor value, as a data load leaves them on a real org (whole-second stamps).

Each read here runs against an org whose Accounts hold the seed's bursts plus one data load of TIE_ROWS records all
created and modified at the same second, and checks that no record is lost or delivered twice, whether a REST page, a
Bulk result page or a Bulk window boundary falls inside the tie, and when a read resumes from any of its checkpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from airbyte_cdk.models import SyncMode
from salesforce_api import SalesforceSession
from source_salesforce import windows as window_module

TIE = "2023-06-01T12:00:00.000Z"  # inside the seeded history: records before and after it
TIE_ROWS = 3000
PAGE = 700  # REST and Bulk result pages: several boundaries fall inside the tie


@pytest.fixture
def org(emulator_factory):
    org = emulator_factory(seed="demo", records=200)
    org.admin.generate("Account", TIE_ROWS, stamp=TIE)
    org.admin.configure(rest_page_size=PAGE)
    requests.put(f"{org.url}/__emulator/bulk", json={"query_page_size": PAGE}, timeout=30).raise_for_status()
    return org


def account_ids(admin) -> list[str]:
    return sorted(r["Id"] for r in admin.records("Account"))


def tied(admin) -> int:
    """How many Accounts share the most common SystemModstamp."""
    stamps = [r["SystemModstamp"] for r in admin.records("Account")]
    return max(stamps.count(s) for s in set(stamps))


def test_the_org_is_tied_like_a_real_one(org, admin):
    assert tied(admin) >= TIE_ROWS
    stamps = [r["SystemModstamp"] for r in admin.records("Account")]
    assert all(s.endswith(".000+0000") for s in stamps)
    seeded = [r for r in admin.records("Account") if r["SystemModstamp"] != TIE.replace("Z", "+0000")]
    assert len({r["SystemModstamp"] for r in seeded}) < len(seeded) / 2, "the seed's own stamps come in bursts"


def test_rest_pages_and_resumes_inside_a_tie_lose_and_duplicate_nothing(sf, org, admin):
    config = sf.config(org, force_api="rest")
    catalog = sf.configured_catalog(sf.discover(config), ["Account"], SyncMode.incremental)
    full = sf.read(config, catalog)
    delivered = sorted(r["Id"] for r in sf.records(full))
    assert delivered == account_ids(admin)
    inside = [
        s.stream.stream_state.__dict__
        for s in sf.states(full)
        if s.stream.stream_state.__dict__.get("cursor") == TIE and s.stream.stream_state.__dict__.get("last_id")
    ]
    assert len(inside) >= 3, "page checkpoints fell inside the tie"
    assert sf.resumes_from_every_checkpoint(config, catalog, full, delivered) >= 6


@pytest.mark.parametrize(
    "settings",
    [
        # Windows of a year from a year before the tie: a window boundary is exactly the tie's second.
        {"window_days": 365, "start_date": "2022-06-01T12:00:00Z"},
        # Windows sized by record count (patched below to about 400 records): the tie overfills its window.
        {},
    ],
    ids=["window-boundary-at-the-tie", "count-sized-windows"],
)
def test_bulk_windows_and_resumes_around_a_tie_lose_and_duplicate_nothing(sf, org, admin, monkeypatch, settings):
    monkeypatch.setattr(window_module, "BULK_WINDOW_RECORDS", 400)
    config = sf.config(org, force_api="bulk", **settings)
    catalog = sf.configured_catalog(sf.discover(config), ["Account"], SyncMode.incremental)
    admin.reset_calls()
    full = sf.read(config, catalog)
    delivered = sorted(r["Id"] for r in sf.records(full))
    expected = account_ids(admin)
    if settings.get("start_date"):
        expected = sorted(r["Id"] for r in admin.records("Account") if r["SystemModstamp"] >= "2022-06-01T12")
        cursors = [s.stream.stream_state.__dict__.get("cursor") for s in sf.states(full)]
        assert TIE in cursors, "a window ended exactly at the tie's second"
    assert delivered == expected
    assert admin.calls()["by_endpoint"].get("POST /jobs/query", 0) >= 3
    assert sf.resumes_from_every_checkpoint(config, catalog, full, delivered) >= 3


def test_bulk_full_refresh_windows_with_a_tie_resume_from_every_window(sf, org, admin, monkeypatch):
    monkeypatch.setattr(window_module, "BULK_FULL_REFRESH_WINDOW_RECORDS", 800)
    config = sf.config(org, force_api="bulk")
    catalog = sf.configured_catalog(sf.discover(config), ["Account"], SyncMode.full_refresh)
    full = sf.read(config, catalog)
    delivered = sorted(r["Id"] for r in sf.records(full))
    assert delivered == account_ids(admin)
    assert sf.resumes_from_every_checkpoint(config, catalog, full, delivered) >= 2


def test_a_change_in_the_second_a_sync_ended_is_read_by_the_next_sync(sf, org, admin, monkeypatch):
    """Salesforce stamps whole seconds, so a record changed after a read that ended 0.6 s into a second is stamped
    with that second's start, before the read's end: the read must stop at the start of its second for the next
    sync to see the change."""
    second = datetime(2030, 1, 1, tzinfo=UTC)
    server_now = [second + timedelta(milliseconds=600)]
    monkeypatch.setattr(SalesforceSession, "server_time", lambda self: server_now[0])
    monkeypatch.setattr("salesforce_emulator.org.now_text", lambda: "2030-01-01T00:00:00.000+0000")
    config = sf.config(org, force_api="rest")
    catalog = sf.configured_catalog(sf.discover(config), ["Contact"], SyncMode.incremental)
    first = sf.read(config, catalog)
    assert len(sf.records(first)) == len(admin.records("Contact"))
    victim = sf.records(first)[0]["Id"]
    org.org.dml("Contact", "update", [{"Id": victim, "LastName": "Changed"}])  # stamped 00:00:00, after the read
    server_now[0] = second + timedelta(seconds=2)
    second_read = sf.read(config, catalog, [sf.states(first)[-1]])
    assert [(r["Id"], r["LastName"]) for r in sf.records(second_read)] == [(victim, "Changed")]

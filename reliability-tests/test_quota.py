"""API quota: a budget stops the source cleanly with a STATE; REQUEST_LIMIT_EXCEEDED mid-sync leaves a resumable
state; the resumed sync gives the rest."""

from __future__ import annotations

from collections import Counter

from reliability_harness import TALLY
from source_sync import PAGE, large_org, read_until

RECORDS = 10_000


def stream_statuses(result) -> list[str]:
    return [
        m["trace"]["stream_status"]["status"] for m in result.of_type("TRACE") if m["trace"]["type"] == "STREAM_STATUS"
    ]


def assert_complete(org, delivered: list[dict], resumes: int) -> None:
    counts = Counter(r["Id"] for r in delivered)
    assert set(counts) == {r["Id"] for r in org.admin.records("X__c")}, "records missing after the resume"
    assert sum(n - 1 for n in counts.values()) <= resumes * PAGE


def test_budget_stops_the_source_cleanly_before_the_daily_limit(org_factory) -> None:
    org, config, catalog = large_org(org_factory, RECORDS, daily_api_limit=1000)
    org.admin.configure(api_usage=770)
    org.admin.reset_calls()
    config = {**config, "api_budget_percent": 80}

    stopped = read_until(org, config, catalog, None, kill_after=None)

    used = org.admin.calls()["total"]
    assert stopped.run.returncode == 0, stopped.run.describe()
    assert 0 < len(stopped.records) < RECORDS
    assert used <= 800 - 770 + 1, f"{used} calls sent past a budget of 30"
    assert stopped.last_state is not None
    text = " ".join(stopped.run.logs + [e["message"] for e in stopped.run.errors]).lower()
    assert "budget" in text or "quota" in text or "limit" in text, stopped.run.describe()
    TALLY["quota stops checked"] += 1

    org.admin.configure(api_usage=0)
    resumed = read_until(org, config, catalog, [stopped.last_state], kill_after=None)
    assert resumed.run.returncode == 0, resumed.run.describe()
    assert_complete(org, stopped.records + resumed.records, resumes=1)


def test_request_limit_exceeded_mid_sync_is_resumable(org_factory) -> None:
    org, config, catalog = large_org(org_factory, RECORDS)
    org.admin.add_fault(path="/query/", kind="request_limit", count=1)

    failed = read_until(org, config, catalog, None, kill_after=None)

    assert failed.last_state is not None
    assert 0 < len(failed.records) < RECORDS
    # Either a transient error TRACE or a clean INCOMPLETE stop (as for the budget), but always a message that says
    # the org's API limit was hit.
    errors = failed.run.errors
    assert all(e["failure_type"] == "transient_error" for e in errors), failed.run.describe()
    said = [e["message"] for e in errors] + [m for m in failed.run.logs if "limit" in m.lower()]
    assert any("limit" in m.lower() for m in said), failed.run.logs[-5:]
    assert "INCOMPLETE" in stream_statuses(failed.run) or errors, failed.run.describe()
    TALLY["quota stops checked"] += 1

    resumed = read_until(org, config, catalog, [failed.last_state], kill_after=None)
    assert resumed.run.returncode == 0, resumed.run.describe()
    assert_complete(org, failed.records + resumed.records, resumes=1)

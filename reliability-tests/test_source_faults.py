"""A large source sync of X__c, by REST and by Bulk, while ~5% of calls fail and the access token keeps expiring:
every record arrives exactly once with the org's values."""

from __future__ import annotations

import pytest
from reliability_harness import SOURCE, TALLY, compare_records, configured_catalog, discover_stream, run
from salesforce_emulator.testing import Emulator

MAKE_TEST, SOAK = 20_000, 100_000
SCALES = [pytest.param(MAKE_TEST, id="20k"), pytest.param(SOAK, id="100k", marks=pytest.mark.soak)]


def transient_faults(org: Emulator, rate: float, expire_every: int) -> None:
    """~rate of data calls fail, split over the transient kinds; the session dies about every `expire_every` calls."""
    share = rate / 5
    data = "^/services/data/"
    org.admin.add_fault(path=data, kind="status", status=500, probability=share)
    org.admin.add_fault(path=data, kind="status", status=503, probability=share)
    org.admin.add_fault(path=data, kind="reset", probability=share)
    org.admin.add_fault(path=data, kind="slow", delay=0.2, probability=share)
    org.admin.add_fault(path=data, kind="truncate", probability=share)
    org.admin.add_fault(path=data, kind="expire_session", probability=1 / expire_every)


def big_org(org_factory, records: int, api: str) -> tuple[Emulator, dict]:
    # Small pages give many calls, so that a 5% rate lands on tens of them.
    org = org_factory(records=5, rest_page_size=200)
    org.admin.generate("X__c", records - 5)
    if api == "bulk":
        # Objects with base64 fields are always read by REST: drop the one field so that Bulk is exercised.
        org.admin.remove_field("X__c", "Attachment__c")
        org.admin._call("PUT", "/bulk", json={"query_page_size": 500})
    config = {"credentials": org.credentials("username_password"), "streams": ["X__c"], "force_api": api}
    return org, config


@pytest.mark.parametrize("api", ["rest", "bulk"])
@pytest.mark.parametrize("records", SCALES)
def test_source_sync_survives_transient_faults(org_factory, records: int, api: str) -> None:
    org, config = big_org(org_factory, records, api)
    catalog = configured_catalog(discover_stream(config, "X__c", org))
    transient_faults(org, rate=0.05, expire_every=30)

    result = run(SOURCE, "read", config=config, catalog=catalog, org=org)

    org.admin.clear_faults()
    assert result.returncode == 0, result.describe()
    assert not result.errors, result.describe()
    emitted = result.records("X__c")
    rows = org.admin.records("X__c")
    assert len(rows) == records
    assert compare_records(rows, emitted) == []
    calls = org.admin.calls()["by_endpoint"]
    if api == "bulk":
        assert any(key.startswith("POST /jobs/query") for key in calls), calls
    TALLY[f"source records delivered under faults ({api})"] += len(emitted)

"""A large destination upsert while ~5% of calls fail and the session keeps expiring: the org ends with exactly the
expected records."""

from __future__ import annotations

from collections import Counter

import pytest
from destination_messages import catalog, destination_config, lines, row, written_rows
from reliability_harness import DESTINATION, TALLY, run
from test_source_faults import transient_faults

SCALES = [pytest.param(20_000, id="20k"), pytest.param(100_000, id="100k", marks=pytest.mark.soak)]


@pytest.mark.parametrize("api", ["collections", "bulk"])
@pytest.mark.parametrize("records", SCALES)
def test_destination_upsert_survives_transient_faults(org_factory, records: int, api: str) -> None:
    org = org_factory(records=5)
    if api == "bulk":
        org.admin._call("PUT", "/bulk", json={"ingest_batch_size": 2000})
    config = destination_config(org, api, batch_size=5000 if api == "bulk" else 2000)
    transient_faults(org, rate=0.05, expire_every=30)

    result = run(
        DESTINATION,
        "write",
        config=config,
        catalog=catalog("append_dedup"),
        stdin="".join(lines(0, records, state_every=1000)),
        org=org,
    )

    org.admin.clear_faults()
    assert result.returncode == 0, result.describe()
    assert [s["stream"]["stream_state"]["position"] for s in result.states][-1] == records
    written = written_rows(org)
    keys = Counter(r["External_Id__c"] for r in written)
    assert len(keys) == records and max(keys.values()) == 1, "records missing or duplicated"
    for r in written:
        expected = row(int(r["External_Id__c"][2:]))
        assert {k: r[k] for k in expected} == expected
    TALLY[f"destination records upserted under faults ({api})"] += len(written)
    TALLY["records compared with the org"] += len(written)

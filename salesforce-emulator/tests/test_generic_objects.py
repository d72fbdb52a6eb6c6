"""Generic objects for load tests: one admin call adds N objects of a dozen typical fields, which generate fills and
both REST and Bulk read."""

from __future__ import annotations

import time

import requests
from salesforce_emulator.generic_objects import FIELDS
from salesforce_emulator.testing import Emulator


def test_generic_objects_are_added_filled_and_read_by_rest_and_bulk() -> None:
    with Emulator(seed="empty", records=0) as org:
        added = org.admin.add_generic_objects(3, prefix="Load")
        assert [a["name"] for a in added] == ["Load01__c", "Load02__c", "Load03__c"]
        assert len({a["keyPrefix"] for a in added}) == 3
        ids = org.admin.generate("Load02__c", 25)
        assert all(i.startswith(added[1]["keyPrefix"]) for i in ids)

        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {org.access_token()}"
        base = f"{org.url}/services/data/v62.0"
        describe = http.get(f"{base}/sobjects/Load02__c/describe", timeout=30).json()
        names = {f["name"] for f in describe["fields"]}
        assert {f["name"] for f in FIELDS} <= names
        assert {"Id", "Name", "OwnerId", "SystemModstamp"} <= names
        assert not {f["type"] for f in describe["fields"]} & {"address", "location", "base64"}

        soql = f"SELECT {', '.join(sorted(names))} FROM Load02__c"
        page = http.get(f"{base}/query", params={"q": soql}, timeout=30).json()
        assert page["totalSize"] == 25
        assert all(r["Status__c"] in {"New", "Active", "On Hold", "Closed", None} for r in page["records"])
        assert len({r["Code__c"] for r in page["records"]}) == 25  # the external id is unique

        job = http.post(f"{base}/jobs/query", json={"operation": "query", "query": soql}, timeout=30).json()
        deadline = time.monotonic() + 30
        while http.get(f"{base}/jobs/query/{job['id']}", timeout=30).json()["state"] != "JobComplete":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rows = http.get(f"{base}/jobs/query/{job['id']}/results", timeout=30).text.splitlines()
        assert len(rows) == 26  # the header and 25 rows


def test_a_name_that_exists_is_refused() -> None:
    with Emulator(seed="empty", records=0) as org:
        org.admin.add_generic_objects(1)
        answer = requests.post(
            f"{org.url}/__emulator/schema/generic-objects", json={"names": ["Bench01__c"]}, timeout=30
        )
        assert answer.status_code == 400 and "exists" in answer.json()["error"]
        answer = requests.post(f"{org.url}/__emulator/schema/generic-objects", json={}, timeout=30)
        assert answer.status_code == 400 and "count" in answer.json()["error"]

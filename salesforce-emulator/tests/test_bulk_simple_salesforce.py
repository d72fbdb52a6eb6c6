"""simple-salesforce's Bulk 2.0 client (an independent implementation) works against the emulator unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from salesforce_emulator.testing import Emulator
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

WAIT = 0.05  # simple-salesforce's poll interval, in seconds


def parse(pages: list[str]) -> list[dict[str, str]]:
    return [row for page in pages for row in csv.DictReader(io.StringIO(page))]


def test_query_pages_through_every_record(sf: Salesforce) -> None:
    pages = list(sf.bulk2.X__c.query("SELECT Id, Name, Checkbox__c FROM X__c ORDER BY Id", max_records=6, wait=WAIT))

    assert len(pages) == 4
    rows = parse(pages)
    expected = sf.query_all("SELECT Id, Name, Checkbox__c FROM X__c ORDER BY Id")["records"]
    assert [r["Id"] for r in rows] == [r["Id"] for r in expected]
    assert [r["Checkbox__c"] for r in rows] == [str(r["Checkbox__c"]).lower() for r in expected]


def test_query_all_sees_deleted_records(sf: Salesforce, emulator: Emulator) -> None:
    victim = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf.Contact.delete(victim)

    live = parse(list(sf.bulk2.Contact.query("SELECT Id FROM Contact", wait=WAIT)))
    everything = parse(list(sf.bulk2.Contact.query_all("SELECT Id, IsDeleted FROM Contact", wait=WAIT)))

    assert victim not in {r["Id"] for r in live}
    assert {"Id": victim, "IsDeleted": "true"} in everything


def test_insert_upsert_and_failed_records(sf: Salesforce, emulator: Emulator) -> None:
    [inserted] = sf.bulk2.X__c.insert(records=[{"Name": "ss-1", "External_Id__c": "SS-1"},
                                               {"Name": "ss-2", "Number__c": "-1"}], wait=WAIT)  # fmt: skip

    assert (inserted["numberRecordsProcessed"], inserted["numberRecordsFailed"]) == (2, 1)
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.X__c.get_failed_records(inserted["job_id"]))))
    assert [(f["Name"], f["sf__Error"].split(":")[0]) for f in failed] == [
        ("ss-2", "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    ]
    ok = list(csv.DictReader(io.StringIO(sf.bulk2.X__c.get_successful_records(inserted["job_id"]))))
    assert ok[0]["sf__Created"] == "true" and ok[0]["Name"] == "ss-1"

    [upserted] = sf.bulk2.X__c.upsert(records=[{"External_Id__c": "SS-1", "Name": "renamed"}],
                                      external_id_field="External_Id__c", wait=WAIT)  # fmt: skip

    assert upserted["numberRecordsFailed"] == 0
    assert sf.X__c.get(ok[0]["sf__Id"])["Name"] == "renamed"


def test_a_failed_job_raises_in_the_client(sf: Salesforce, emulator: Emulator) -> None:
    emulator.admin.add_fault(path="/jobs/query", kind="bulk_job_failed", count=1)

    with pytest.raises(SalesforceOperationError, match="Job failure"):
        list(sf.bulk2.X__c.query("SELECT Id FROM X__c", wait=WAIT))

"""One write call's records see the effects of the earlier records of the same call, as if each ran alone."""

from __future__ import annotations

import time

from salesforce_emulator.testing import Emulator


def upsert(api, records: list[dict], field: str = "External_Id__c", all_or_none: bool = False) -> list[dict]:
    body = {"allOrNone": all_or_none, "records": [{"attributes": {"type": "X__c"}, **r} for r in records]}
    response = api("PATCH", f"/composite/sobjects/X__c/{field}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def rows_with(emulator: Emulator, field: str, value: str) -> list[dict]:
    return [r for r in emulator.admin.records("X__c") if r[field] == value]


def test_second_upsert_of_a_key_updates_the_first(api, emulator: Emulator) -> None:
    results = upsert(
        api, [{"External_Id__c": "B-1", "Text__c": "first"}, {"External_Id__c": "B-1", "Text__c": "again"}]
    )
    assert [r["created"] for r in results] == [True, False]
    assert results[0]["id"] == results[1]["id"]
    [row] = rows_with(emulator, "External_Id__c", "B-1")
    assert row["Text__c"] == "again" and row["Id"] == results[0]["id"]


def test_unique_value_taken_earlier_in_the_call_clashes(api, emulator: Emulator) -> None:
    created = upsert(api, [{"External_Id__c": "B-2"}])[0]["id"]
    body = {"records": [{"attributes": {"type": "X__c"}, "External_Id__c": v} for v in ("B-3", "B-3")]}
    results = api("POST", "/composite/sobjects", json=body).json()
    assert results[0]["success"] and not results[1]["success"]
    assert results[1]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert results[0]["id"] in results[1]["errors"][0]["message"]
    # A value freed by an earlier record of the call is free for a later one.
    update = {
        "records": [
            {"attributes": {"type": "X__c"}, "Id": created, "External_Id__c": "B-2-renamed"},
            {"attributes": {"type": "X__c"}, "Id": results[0]["id"], "External_Id__c": "B-2"},
        ]
    }
    assert all(r["success"] for r in api("PATCH", "/composite/sobjects", json=update).json())
    assert rows_with(emulator, "External_Id__c", "B-2")[0]["Id"] == results[0]["id"]


def test_record_deleted_earlier_in_the_call_is_gone(api, emulator: Emulator) -> None:
    record_id = upsert(api, [{"External_Id__c": "B-4"}])[0]["id"]
    deleted = api("DELETE", "/composite/sobjects", params={"ids": f"{record_id},{record_id}"}).json()
    assert deleted[0]["success"] and deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    # The key no longer matches a live record, so upserting it creates a new one.
    again = upsert(api, [{"External_Id__c": "B-4"}])[0]
    assert again["created"] and again["id"] != record_id
    assert [r["IsDeleted"] for r in rows_with(emulator, "External_Id__c", "B-4")] == [1, 0]


def test_all_or_none_writes_nothing(api, emulator: Emulator) -> None:
    results = upsert(api, [{"External_Id__c": "B-6"}, {"External_Id__c": "B-7", "Number__c": -1}], all_or_none=True)
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    ]
    assert not rows_with(emulator, "External_Id__c", "B-6")


def test_bulk_upsert_repeats_a_key_within_one_job(api, emulator: Emulator) -> None:
    csv_rows = "External_Id__c,Text__c,Number__c\nB-8,one,1.5\nB-8,two,2.25\nB-9,three,-1\n"
    spec = {"object": "X__c", "operation": "upsert", "externalIdFieldName": "External_Id__c"}
    job_id = api("POST", "/jobs/ingest", json=spec).json()["id"]
    api("PUT", f"/jobs/ingest/{job_id}/batches", data=csv_rows, headers={"Content-Type": "text/csv"})
    api("PATCH", f"/jobs/ingest/{job_id}", json={"state": "UploadComplete"})
    info = wait_for_job(api, job_id)
    assert info["numberRecordsProcessed"] == 3 and info["numberRecordsFailed"] == 1
    successful = api("GET", f"/jobs/ingest/{job_id}/successfulResults").text.splitlines()
    assert [line.split(",")[1] for line in successful[1:]] == ['"true"', '"false"']
    [row] = rows_with(emulator, "External_Id__c", "B-8")
    assert row["Text__c"] == "two" and row["Number__c"] == 2.25


def wait_for_job(api, job_id: str) -> dict:
    for _ in range(400):
        info = api("GET", f"/jobs/ingest/{job_id}").json()
        if info["state"] in {"JobComplete", "Failed", "Aborted"}:
            return info
        time.sleep(0.025)
    raise AssertionError("job did not finish")

"""Bulk API 2.0 ingest jobs over real HTTP: create, upload, close, process, and the three result files."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from salesforce_emulator.testing import Emulator

Api = Callable[..., requests.Response]

# The key sets of real answers: create has no counters; the close answer ends at apiVersion; job info has no
# contentUrl and puts jobType right after apiVersion.
HEAD_KEYS = [
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
    "contentType", "apiVersion",
]  # fmt: skip
CREATE_KEYS = [*HEAD_KEYS, "contentUrl", "lineEnding", "columnDelimiter"]
INFO_KEYS = [
    *HEAD_KEYS, "jobType", "lineEnding", "columnDelimiter", "numberRecordsProcessed", "numberRecordsFailed", "retries",
    "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime",
]  # fmt: skip


def create(api: Api, obj: str, operation: str, **extra: Any) -> dict[str, Any]:
    response = api("POST", "/jobs/ingest", json={"object": obj, "operation": operation, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def upload(api: Api, job: dict[str, Any], data: str) -> requests.Response:
    return api("PUT", "/" + job["contentUrl"], data=data.encode(), headers={"Content-Type": "text/csv"})


def wait_done(api: Api, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = api("GET", f"/jobs/ingest/{job_id}").json()
        if info["state"] in {"JobComplete", "Failed", "Aborted"}:
            return info
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


def ingest(api: Api, obj: str, operation: str, data: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    job = create(api, obj, operation, **extra)
    assert upload(api, job, data).status_code == 201
    closed = api("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert closed.status_code == 200 and closed.json()["state"] == "UploadComplete"
    assert [k for k in closed.json() if k != "externalIdFieldName"] == HEAD_KEYS
    assert list(closed.json())[-1] == "apiVersion"
    return job["id"], wait_done(api, job["id"])


def results(api: Api, job_id: str, name: str) -> str:
    response = api("GET", f"/jobs/ingest/{job_id}/{name}/")
    assert response.status_code == 200
    return response.text


def records(emulator: Emulator, obj: str) -> dict[str, dict[str, Any]]:
    return {r["Id"]: r for r in emulator.admin.records(obj)}


def test_create_answers_an_open_job_with_a_content_url(api: Api) -> None:
    job = create(api, "X__c", "insert", contentType="CSV", lineEnding="LF", columnDelimiter="COMMA")

    assert list(job) == CREATE_KEYS
    assert job["state"] == "Open"
    assert job["apiVersion"] == 62.0
    assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
    assert job["createdDate"].endswith(".000+0000") and job["systemModstamp"].endswith(".000+0000")


def test_insert_reports_successes_and_failures(api: Api, emulator: Emulator) -> None:
    data = "Name,Number__c,Date__c\nok-1,1.5,2024-01-02\nnegative,-3,\nbad-number,abc,\n"

    job_id, info = ingest(api, "X__c", "insert", data)

    assert info["state"] == "JobComplete"
    assert list(info) == INFO_KEYS
    assert info["jobType"] == "V2Ingest"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 2)
    successful = results(api, job_id, "successfulResults").splitlines()
    assert successful[0] == '"sf__Id","sf__Created",Name,Number__c,Date__c'
    new_id = successful[1].split(",")[0].strip('"')
    assert successful[1] == f'"{new_id}","true","ok-1","1.5","2024-01-02"'
    row = records(emulator, "X__c")[new_id]
    assert (row["Name"], row["Number__c"], row["Date__c"]) == ("ok-1", 1.5, "2024-01-02")
    assert results(api, job_id, "failedResults").splitlines() == [
        '"sf__Id","sf__Error",Name,Number__c,Date__c',
        '"","FIELD_CUSTOM_VALIDATION_EXCEPTION:Number must not be negative:Number__c --","negative","-3",""',
        '"","INVALID_TYPE_ON_FIELD_IN_RECORD:Number: value not of required type: abc:Number__c --","bad-number",'
        '"abc",""',
    ]
    assert results(api, job_id, "unprocessedrecords") == "Name,Number__c,Date__c\n"


def test_update_empty_leaves_a_value_and_na_sets_null(api: Api, emulator: Emulator) -> None:
    [target] = [
        r["id"] for r in emulator.org.dml("X__c", "insert", [{"Name": "u", "Text__c": "keep", "Integer__c": 7}])
    ]

    job_id, info = ingest(api, "X__c", "update", f"Id,Text__c,Integer__c\n{target},,#N/A\n")

    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (1, 0)
    row = records(emulator, "X__c")[target]
    assert (row["Text__c"], row["Integer__c"]) == ("keep", None)
    assert results(api, job_id, "successfulResults").splitlines()[1] == f'"{target}","false","{target}","","#N/A"'


def test_upsert_by_external_id_creates_then_updates(api: Api, emulator: Emulator) -> None:
    first_id, first = ingest(
        api, "X__c", "upsert", "External_Id__c,Name\nE-1,one\n", externalIdFieldName="External_Id__c"
    )
    second_id, second = ingest(api, "X__c", "upsert", "External_Id__c,Name\nE-1,uno\nE-2,two\n",
                               externalIdFieldName="External_Id__c")  # fmt: skip

    assert first["externalIdFieldName"] == "External_Id__c"
    assert results(api, first_id, "successfulResults").splitlines()[1].split(",")[1] == '"true"'
    created = [line.split(",")[1] for line in results(api, second_id, "successfulResults").splitlines()[1:]]
    assert created == ['"false"', '"true"']
    names = {r["External_Id__c"]: r["Name"] for r in records(emulator, "X__c").values() if r["External_Id__c"]}
    assert names["E-1"] == "uno" and names["E-2"] == "two"


def test_relationship_column_resolves_the_parent_by_external_id(api: Api, emulator: Emulator) -> None:
    emulator.admin.add_field("Account", "External_Id__c", "string", external_id=True, length=40)
    account = next(iter(records(emulator, "Account")))
    emulator.org.dml("Account", "update", [{"Id": account, "External_Id__c": "A-1"}])
    data = "LastName,Account.External_Id__c,Birthdate\nJohnson,A-1,1990-04-01\nLee,A-404,#N/A\n"

    job_id, info = ingest(api, "Contact", "insert", data)

    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    new_id = results(api, job_id, "successfulResults").splitlines()[1].split(",")[0].strip('"')
    assert records(emulator, "Contact")[new_id]["AccountId"] == account
    failed = results(api, job_id, "failedResults").splitlines()[1]
    assert failed.startswith('"","INVALID_FIELD:Foreign key external ID: A-404 not found')
    assert failed.endswith(' --","Lee","A-404","#N/A"')


def test_delete_and_hard_delete(api: Api, emulator: Emulator) -> None:
    ids = [r["id"] for r in emulator.org.dml("X__c", "insert", [{"Name": "d1"}, {"Name": "d2"}])]

    _, soft = ingest(api, "X__c", "delete", f"Id\n{ids[0]}\n")
    _, hard = ingest(api, "X__c", "hardDelete", f"Id\n{ids[1]}\n")
    _, again = ingest(api, "X__c", "delete", f"Id\n{ids[1]}\n")

    assert soft["numberRecordsFailed"] == hard["numberRecordsFailed"] == 0
    rows = records(emulator, "X__c")
    assert rows[ids[0]]["IsDeleted"] == 1
    assert ids[1] not in rows
    assert again["numberRecordsFailed"] == 1


def test_internal_batches_cover_every_row(api: Api, emulator: Emulator) -> None:
    requests.put(emulator.url + "/__emulator/bulk", json={"ingest_batch_size": 3}, timeout=10)
    data = "Name\n" + "".join(f"batch-{i}\n" for i in range(8))

    job_id, info = ingest(api, "X__c", "insert", data)

    assert info["numberRecordsProcessed"] == 8
    lines = results(api, job_id, "successfulResults").splitlines()[1:]
    assert [line.split(",")[2] for line in lines] == [f'"batch-{i}"' for i in range(8)]


def test_injected_failure_leaves_the_rest_unprocessed(api: Api, emulator: Emulator) -> None:
    emulator.admin.add_fault(path="/jobs/ingest", kind="bulk_job_failed", count=1, rows=2,
                             message="InternalServerError : injected")  # fmt: skip
    data = "Name,Text__c\n" + "".join(f"f-{i},x{i}\n" for i in range(5))

    job_id, info = ingest(api, "X__c", "insert", data)

    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InternalServerError : injected"
    assert info["numberRecordsProcessed"] == 2
    assert len(results(api, job_id, "successfulResults").splitlines()) == 3
    assert results(api, job_id, "unprocessedrecords") == "Name,Text__c\nf-2,x2\nf-3,x3\nf-4,x4\n"


def test_unknown_column_fails_the_job(api: Api) -> None:
    _, info = ingest(api, "X__c", "insert", "Name,Nope__c\na,b\n")

    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    assert info["numberRecordsProcessed"] == 0


def test_line_ending_must_match_the_job(api: Api) -> None:
    _, info = ingest(api, "X__c", "insert", "Name\r\na\r\n")

    assert info["state"] == "Failed"
    assert "LineEnding is invalid on user data. Current LineEnding setting is LF" in info["errorMessage"]


def test_crlf_and_other_delimiter(api: Api, emulator: Emulator) -> None:
    job_id, info = ingest(api, "X__c", "insert", "Name;Text__c\r\nsemi;a,b\r\n", columnDelimiter="SEMICOLON",
                          lineEnding="CRLF")  # fmt: skip

    assert info["numberRecordsFailed"] == 0
    assert results(api, job_id, "successfulResults").split("\r\n")[0] == '"sf__Id";"sf__Created";Name;Text__c'
    assert any(r["Text__c"] == "a,b" for r in records(emulator, "X__c").values())


def test_only_one_upload_per_job(api: Api) -> None:
    job = create(api, "X__c", "insert")
    assert upload(api, job, "Name\na\n").status_code == 201

    second = upload(api, job, "Name\nb\n")

    assert second.status_code == 400
    assert second.json()[0]["errorCode"] == "BULK_API_ERROR"
    assert "Found multiple contents for job" in second.json()[0]["message"]


def test_upload_over_the_limit_is_refused(api: Api, emulator: Emulator) -> None:
    requests.put(emulator.url + "/__emulator/bulk", json={"max_upload_bytes": 40}, timeout=10)
    job = create(api, "X__c", "insert")

    assert upload(api, job, "Name\n" + "x" * 40 + "\n").status_code == 400
    assert upload(api, job, "Name\nshort\n").status_code == 201  # 12 bytes are 16 after base64


def test_abort_an_open_job_leaves_its_upload_unprocessed(api: Api) -> None:
    job = create(api, "X__c", "insert")
    upload(api, job, "Name\nnever\n")

    aborted = api("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"})

    assert aborted.json()["state"] == "Aborted"
    assert results(api, job["id"], "unprocessedrecords") == "Name\nnever\n"
    assert api("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).status_code == 400


def test_bad_create_requests(api: Api) -> None:
    def error(body: dict[str, Any]) -> str:
        response = api("POST", "/jobs/ingest", json=body)
        assert response.status_code == 400
        return response.json()[0]["errorCode"]

    assert error({"object": "Nope__c", "operation": "insert"}) == "INVALIDJOB"
    assert error({"object": "X__c", "operation": "merge"}) == "INVALIDJOB"
    assert error({"object": "X__c", "operation": "upsert"}) == "INVALIDJOB"
    assert error({"object": "X__c", "operation": "upsert", "externalIdFieldName": "Text__c"}) == "INVALIDJOB"
    assert error({"object": "X__c", "operation": "insert", "lineEnding": "CR"}) == "INVALIDJOB"


def test_results_wait_for_the_job_and_list_shows_it(api: Api) -> None:
    job = create(api, "X__c", "insert")

    assert api("GET", f"/jobs/ingest/{job['id']}/successfulResults/").status_code == 400
    listed = api("GET", "/jobs/ingest").json()
    assert job["id"] in {j["id"] for j in listed["records"]}
    assert api("DELETE", f"/jobs/ingest/{job['id']}").status_code == 204
    assert api("GET", f"/jobs/ingest/{job['id']}").status_code == 404


def test_bulk_bad_date_names_its_column(api) -> None:
    job_id, info = ingest(api, "X__c", "insert", "Name,Date__c\nok,2024-01-02\nbad,2024-13-45\n")
    assert info["numberRecordsFailed"] == 1
    failed = results(api, job_id, "failedResults").splitlines()[1]
    assert failed.startswith(
        '"","INVALID_FIELD:Failed to deserialize field at col 2. Due to, \'2024-13-45\' is not a valid value for the'
        ' type xsd:date:Date__c --"'
    )


def test_get_deleted_reports_hard_deleted_records(api, emulator: Emulator) -> None:
    soft, hard = (api("POST", "/sobjects/Account/", json={"Name": n}).json()["id"] for n in ("soft", "hard"))
    api("DELETE", f"/sobjects/Account/{soft}")
    ingest(api, "Account", "hardDelete", f"Id\n{hard}\n")
    assert hard not in {r["Id"] for r in emulator.admin.records("Account")}, "a hard delete removes the row"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    window = {"start": "2020-01-01T00:00:00Z", "end": now}
    deleted = api("GET", "/sobjects/Account/deleted/", params=window).json()["deletedRecords"]
    assert {d["id"] for d in deleted} == {soft, hard}
    # A purged record is still known as deleted, not as an id that never existed.
    again = api("PATCH", "/composite/sobjects", json={"records": [{"attributes": {"type": "Account"}, "Id": hard}]})
    assert again.json()[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_get_deleted_forgets_purged_records_after_15_days(api, emulator: Emulator) -> None:
    record_id = api("POST", "/sobjects/Account/", json={"Name": "old"}).json()["id"]
    ingest(api, "Account", "hardDelete", f"Id\n{record_id}\n")
    with emulator.org.store.transaction() as conn:
        conn.execute(
            "UPDATE _emulator_purged SET deletedDate = '2020-01-01T00:00:00.000+0000' WHERE Id = ?", (record_id,)
        )
    window = {"start": "2019-12-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
    assert api("GET", "/sobjects/Account/deleted/", params=window).json()["deletedRecords"] == []

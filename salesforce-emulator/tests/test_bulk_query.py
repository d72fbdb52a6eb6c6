"""Bulk API 2.0 query jobs over real HTTP: job JSON, state transitions, CSV pages by locator, errors, faults."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from salesforce_emulator.bulk_query import decode_locator, encode_locator
from salesforce_emulator.testing import Emulator

Api = Callable[..., requests.Response]

CREATE_KEYS = [
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
    "contentType", "apiVersion", "lineEnding", "columnDelimiter",
]  # fmt: skip
INFO_KEYS = [
    *CREATE_KEYS[:10], "jobType", "lineEnding", "columnDelimiter", "numberRecordsProcessed", "retries",
    "totalProcessingTime",
]  # fmt: skip


def create(api: Api, query: str, operation: str = "query", **extra: Any) -> requests.Response:
    body = {"operation": operation, "query": query, "contentType": "CSV", "columnDelimiter": "COMMA",
            "lineEnding": "LF", **extra}  # fmt: skip
    return api("POST", "/jobs/query", json=body)


def wait_done(api: Api, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = api("GET", f"/jobs/query/{job_id}").json()
        if info["state"] in {"JobComplete", "Failed", "Aborted"}:
            return info
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


def run(api: Api, query: str, operation: str = "query") -> str:
    response = create(api, query, operation)
    assert response.status_code == 200, response.text
    job_id = response.json()["id"]
    assert wait_done(api, job_id)["state"] == "JobComplete"
    return job_id


def rows_of(response: requests.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


def rest_ids(api: Api, soql: str, path: str = "/query") -> list[str]:
    return [r["Id"] for r in api("GET", path, params={"q": soql}).json()["records"]]


def test_create_answers_upload_complete_job(api: Api) -> None:
    response = create(api, "SELECT Id, Name FROM X__c")

    assert response.status_code == 200
    job = response.json()
    assert list(job) == CREATE_KEYS
    assert job["state"] == "UploadComplete"
    assert job["object"] == "X__c"
    assert job["operation"] == "query"
    assert job["apiVersion"] == 62.0 and isinstance(job["apiVersion"], float)
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert job["concurrencyMode"] == "Parallel"


def test_job_moves_to_job_complete_with_counters(api: Api) -> None:
    job_id = create(api, "SELECT Id FROM X__c").json()["id"]

    info = wait_done(api, job_id)

    assert list(info) == INFO_KEYS
    assert info["state"] == "JobComplete"
    assert info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == len(rest_ids(api, "SELECT Id FROM X__c")) == 20
    assert info["retries"] == 0


def test_results_pages_follow_locators_until_null(api: Api) -> None:
    job_id = run(api, "SELECT Id, Name FROM X__c ORDER BY Name")
    pages, locator = [], None
    while locator != "null":
        params: dict[str, Any] = {"maxRecords": 7}
        if locator:
            params["locator"] = locator
        response = api("GET", f"/jobs/query/{job_id}/results", params=params)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        locator = response.headers["Sforce-Locator"]
        rows = rows_of(response)
        assert rows[0] == ["Id", "Name"]  # every page repeats the header
        assert int(response.headers["Sforce-NumberOfRecords"]) == len(rows) - 1
        pages.append(rows[1:])

    assert [len(p) for p in pages] == [7, 7, 6]
    assert [r[0] for p in pages for r in p] == rest_ids(api, "SELECT Id FROM X__c ORDER BY Name")


def test_every_value_is_double_quoted_and_nulls_are_empty(api: Api, emulator: Emulator) -> None:
    emulator.org.dml("X__c", "insert", [{"Name": "zz-null", "Text__c": None}])
    job_id = run(api, "SELECT Name, Text__c, Checkbox__c FROM X__c WHERE Name = 'zz-null'")

    response = api("GET", f"/jobs/query/{job_id}/results")

    assert response.text == '"Name","Text__c","Checkbox__c"\n"zz-null","","false"\n'
    assert response.headers["Sforce-Locator"] == "null"
    assert response.headers["Sforce-NumberOfRecords"] == "1"


def test_values_with_delimiters_quotes_and_newlines_survive_paging(api: Api, emulator: Emulator) -> None:
    tricky = ["a,b", 'say "hi"', "two\nlines", "crlf\r\nend", "plain"]
    emulator.org.dml("X__c", "insert", [{"Name": f"zq{i}", "Long_Text__c": v} for i, v in enumerate(tricky)])
    job_id = run(api, "SELECT Name, Long_Text__c FROM X__c WHERE Name LIKE 'zq%' ORDER BY Name")
    seen, locator = [], ""
    while locator != "null":
        response = api("GET", f"/jobs/query/{job_id}/results", params={"maxRecords": 2, "locator": locator})
        locator = response.headers["Sforce-Locator"]
        seen += rows_of(response)[1:]

    assert seen == [[f"zq{i}", v] for i, v in enumerate(tricky)]


def test_a_nul_character_in_text_is_kept(api: Api, emulator: Emulator) -> None:
    emulator.org.dml("X__c", "insert", [{"Name": "zn1", "Text__c": "nul\x00here"}, {"Name": "zn2", "Text__c": 'q"'}])
    job_id = run(api, "SELECT Name, Text__c, Number__c FROM X__c WHERE Name LIKE 'zn%' ORDER BY Name")

    response = api("GET", f"/jobs/query/{job_id}/results", params={"maxRecords": 1, "locator": encode_locator(1)})

    assert response.content == b'"Name","Text__c","Number__c"\n"zn2","q""",""\n'
    full = api("GET", f"/jobs/query/{job_id}/results")
    assert rows_of(full)[1:] == [["zn1", "nul\x00here", ""], ["zn2", 'q"', ""]]


def test_without_max_records_one_page_holds_everything(api: Api) -> None:
    job_id = run(api, "SELECT Id FROM Contact")

    response = api("GET", f"/jobs/query/{job_id}/results")

    assert response.headers["Sforce-Locator"] == "null"
    assert len(rows_of(response)) == 21


def test_a_locator_can_be_read_again(api: Api) -> None:
    job_id = run(api, "SELECT Id FROM Account ORDER BY Id")
    first = api("GET", f"/jobs/query/{job_id}/results", params={"maxRecords": 5})
    locator = first.headers["Sforce-Locator"]

    again = [api("GET", f"/jobs/query/{job_id}/results", params={"maxRecords": 5, "locator": locator}) for _ in "ab"]

    assert again[0].text == again[1].text
    assert rows_of(again[0])[1][0] == rest_ids(api, "SELECT Id FROM Account ORDER BY Id")[5]


def test_locators_are_base64_row_positions() -> None:
    assert encode_locator(10000) == "MTAwMDA"
    assert decode_locator("MTAwMDA") == 10000


def test_results_are_a_snapshot_taken_when_the_job_ran(api: Api, emulator: Emulator) -> None:
    job_id = run(api, "SELECT Id FROM X__c")
    emulator.org.dml("X__c", "insert", [{"Name": "late"}])

    response = api("GET", f"/jobs/query/{job_id}/results")

    assert len(rows_of(response)) == 21


def test_query_all_includes_deleted_rows(api: Api, emulator: Emulator) -> None:
    victim = rest_ids(api, "SELECT Id FROM X__c LIMIT 1")[0]
    emulator.org.dml("X__c", "delete", [{"Id": victim}])

    plain = run(api, "SELECT Id, IsDeleted FROM X__c")
    everything = run(api, "SELECT Id, IsDeleted FROM X__c", operation="queryAll")

    assert victim not in {r[0] for r in rows_of(api("GET", f"/jobs/query/{plain}/results"))}
    rows = rows_of(api("GET", f"/jobs/query/{everything}/results"))
    assert [victim, "true"] in rows
    assert len(rows) == 21


def test_limit_and_where_apply(api: Api) -> None:
    job_id = run(api, "SELECT Id FROM X__c WHERE Number__c > 0 ORDER BY Id LIMIT 3")

    rows = rows_of(api("GET", f"/jobs/query/{job_id}/results"))

    assert [r[0] for r in rows[1:]] == rest_ids(api, "SELECT Id FROM X__c WHERE Number__c > 0 ORDER BY Id LIMIT 3")
    assert api("GET", f"/jobs/query/{job_id}").json()["numberRecordsProcessed"] == 3


def test_other_delimiters_and_line_endings(api: Api) -> None:
    response = create(api, "SELECT Id, Name FROM X__c LIMIT 2", columnDelimiter="PIPE", lineEnding="CRLF")
    assert response.json()["columnDelimiter"] == "PIPE"
    job_id = response.json()["id"]
    wait_done(api, job_id)

    text = api("GET", f"/jobs/query/{job_id}/results").text

    assert text.startswith('"Id"|"Name"\r\n')
    assert text.count("\r\n") == 3


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("SELECT Id, Foo FROM X__c", "INVALID_FIELD", "No such column 'Foo' on entity 'X__c'"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported"),
        ("SELECT Id, BillingAddress FROM Account", "FEATURENOTENABLED",
         "Selecting compound data not supported in Bulk Query"),
        ("SELECT COUNT() FROM Account", "INVALIDJOB", "Aggregate queries are not supported in Bulk Query"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "INVALIDJOB",
         "Aggregate Relationships not supported in Bulk Query"),
        # Bulk API 2.0 does not support TYPEOF (its guide's SOQL considerations), though REST queries take it.
        ("SELECT Id, TYPEOF Owner WHEN User THEN Username WHEN Group THEN Name END FROM Case", "INVALIDJOB",
         "TYPEOF is not supported in Bulk Query"),
    ],
)  # fmt: skip
def test_queries_bulk_refuses_fail_at_creation(api: Api, query: str, code: str, message: str) -> None:
    response = create(api, query)

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code
    assert message in error["message"]


def test_bad_job_requests_are_refused(api: Api) -> None:
    assert create(api, "SELECT Id FROM X__c", operation="insert").json()[0]["errorCode"] == "INVALIDJOB"
    assert create(api, "SELECT Id FROM X__c", columnDelimiter="SPACE").status_code == 400
    assert create(api, "SELECT Id FROM X__c", contentType="JSON").status_code == 400
    assert api("POST", "/jobs/query", data=b"{not json").json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_an_object_bulk_does_not_support_is_invalidentity(api: Api, emulator: Emulator) -> None:
    requests.put(emulator.url + "/__emulator/bulk", json={"unsupported_objects": ["Case"]}, timeout=10)

    response = create(api, "SELECT Id FROM Case")

    assert response.status_code == 400
    assert response.json() == [
        {"message": "Entity 'Case' is not supported by the Bulk API.", "errorCode": "INVALIDENTITY"}
    ]


def test_abort_then_delete(api: Api, emulator: Emulator) -> None:
    requests.put(emulator.url + "/__emulator/bulk", json={"processing_delay": 30}, timeout=10)
    job_id = create(api, "SELECT Id FROM X__c").json()["id"]

    aborted = api("PATCH", f"/jobs/query/{job_id}", json={"state": "Aborted"})

    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert api("GET", f"/jobs/query/{job_id}").json()["state"] == "Aborted"
    assert api("GET", f"/jobs/query/{job_id}/results").status_code == 400
    assert api("PATCH", f"/jobs/query/{job_id}", json={"state": "Aborted"}).status_code == 400
    assert api("DELETE", f"/jobs/query/{job_id}").status_code == 204
    gone = api("GET", f"/jobs/query/{job_id}")
    assert gone.status_code == 404
    assert gone.json() == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    assert list(gone.json()[0]) == ["errorCode", "message"]


def test_aborting_a_completed_job_is_refused(api: Api) -> None:
    job_id = run(api, "SELECT Id FROM X__c")

    refused = api("PATCH", f"/jobs/query/{job_id}", json={"state": "Aborted"})

    assert refused.status_code == 400
    assert refused.json() == [{"message": "Aborting already Completed Job not allowed", "errorCode": "INVALIDJOBSTATE"}]


def test_state_change_answer_ends_at_api_version(api: Api, emulator: Emulator) -> None:
    requests.put(emulator.url + "/__emulator/bulk", json={"processing_delay": 30}, timeout=10)
    job_id = create(api, "SELECT Id FROM X__c").json()["id"]

    aborted = api("PATCH", f"/jobs/query/{job_id}", json={"state": "Aborted"}).json()

    assert list(aborted) == CREATE_KEYS[:10] and aborted["state"] == "Aborted"


def test_results_before_completion_are_refused(api: Api, emulator: Emulator) -> None:
    requests.put(emulator.url + "/__emulator/bulk", json={"processing_delay": 30}, timeout=10)
    job_id = create(api, "SELECT Id FROM X__c").json()["id"]

    response = api("GET", f"/jobs/query/{job_id}/results")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_list_holds_created_jobs(api: Api) -> None:
    ids = {create(api, "SELECT Id FROM X__c").json()["id"] for _ in range(2)}

    body = api("GET", "/jobs/query").json()

    assert body["done"] is True and body["nextRecordsUrl"] is None
    assert ids <= {job["id"] for job in body["records"]}
    assert all(job["jobType"] == "V2Query" for job in body["records"])


def test_bad_locator_and_max_records(api: Api) -> None:
    job_id = run(api, "SELECT Id FROM X__c")

    assert api("GET", f"/jobs/query/{job_id}/results", params={"locator": "%%%"}).status_code == 400
    assert api("GET", f"/jobs/query/{job_id}/results", params={"maxRecords": "0"}).status_code == 400
    assert api("GET", "/jobs/query/750000000000000AAA/results").status_code == 404


def test_injected_job_failure(api: Api, emulator: Emulator) -> None:
    emulator.admin.add_fault(path="/jobs/query", kind="bulk_job_failed", count=1, message="InternalServerError : boom")

    job_id = create(api, "SELECT Id FROM X__c").json()["id"]
    info = wait_done(api, job_id)

    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InternalServerError : boom"
    assert run(api, "SELECT Id FROM X__c")  # the fault was used up


def test_query_timeout_threshold_fails_the_job(api: Api, emulator: Emulator) -> None:
    emulator.admin.configure(query_timeout_rows=10)

    big = wait_done(api, create(api, "SELECT Id FROM X__c").json()["id"])
    small = wait_done(api, create(api, "SELECT Id FROM X__c LIMIT 10").json()["id"])

    assert big["state"] == "Failed"
    assert "QUERY_TIMEOUT" in big["errorMessage"]
    assert small["state"] == "JobComplete"

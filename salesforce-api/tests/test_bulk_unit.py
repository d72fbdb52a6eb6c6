"""Bulk API 2.0 on mocked endpoints: job polling, CSV streaming across pages, ingest split into jobs."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from salesforce_api import BulkClient, BulkJobError, BulkNotSupportedError
from salesforce_api.bulk import csv_bytes

from .conftest import DATA


def bulk(session) -> BulkClient:
    return BulkClient(session, poll_interval=0.001, poll_max=0.001)


def test_query_rows_stream_across_locator_pages(session, mocked):
    mocked.post(DATA + "/jobs/query", json={"id": "750Q", "state": "UploadComplete"})
    mocked.get(DATA + "/jobs/query/750Q", [{"json": {"state": "InProgress"}}, {"json": {"state": "JobComplete"}}])
    page1 = 'Id,Name,Description\n001A,"Acme, Inc.","two\nlines"\n001B,Bolt,\n'
    page2 = 'Id,Name,Description\n001C,"say ""hi""",NA\n'

    def results(request, context):
        last = request.qs.get("locator") == ["loc1"]
        context.headers["Sforce-Locator"] = "null" if last else "loc1"
        return page2 if last else page1

    route = mocked.get(DATA + "/jobs/query/750Q/results", text=results)
    deleted = mocked.delete(DATA + "/jobs/query/750Q", status_code=204)
    result = bulk(session).query("SELECT Id, Name, Description FROM Account", include_deleted=True, max_records=2)
    assert mocked.request_history[1].json()["operation"] == "queryAll"
    rows = result.rows()
    assert next(rows) == {"Id": "001A", "Name": "Acme, Inc.", "Description": "two\nlines"}
    assert route.call_count == 1  # one page at a time
    assert list(rows) == [
        {"Id": "001B", "Name": "Bolt", "Description": ""},
        {"Id": "001C", "Name": 'say "hi"', "Description": "NA"},
    ]
    assert [r.qs.get("maxrecords") for r in route.request_history] == [["2"], ["2"]]
    assert deleted.call_count == 1


def test_a_failed_query_job_raises_with_its_message(session, mocked):
    mocked.post(DATA + "/jobs/query", json={"id": "750F"})
    mocked.get(DATA + "/jobs/query/750F", json={"state": "Failed", "errorMessage": "INVALID_FIELD: bad"})
    with pytest.raises(BulkJobError) as caught:
        bulk(session).query("SELECT Id FROM Account")
    assert caught.value.job_id == "750F" and "INVALID_FIELD" in caught.value.error_message


@pytest.mark.parametrize("expected", [None, 10_000])
def test_a_query_wait_polls_again_when_the_job_should_be_done(session, mocked, monkeypatch, expected):
    """A job processing 1,000 records/s reports its progress: given its size, the wait ends near its end."""
    clock = [0.0]
    monkeypatch.setattr("salesforce_api.bulk.time", SimpleNamespace(monotonic=lambda: clock[0]))
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    session.sleep = sleep

    def info(request, context):
        done = clock[0] >= 10
        return {
            "state": "JobComplete" if done else "InProgress",
            "numberRecordsProcessed": min(10_000, int(clock[0] * 1000)),
        }

    mocked.get(DATA + "/jobs/query/750W", json=info)
    client = BulkClient(session, poll_interval=1, poll_max=100)
    result = client.wait_query("750W", expected_records=expected)
    assert result.number_records == 10_000
    if expected is None:  # back-off only: noticed at 13.2 s
        assert pauses == [1, 1.5, 2.25, 3.375, 5.0625]
    else:  # once two polls have seen progress, straight to the estimated end
        assert pauses == [1, 1.5, pytest.approx(7.5)]


def test_objects_bulk_cannot_serve_raise_not_supported(session, mocked):
    mocked.post(
        DATA + "/jobs/query",
        status_code=400,
        json=[{"errorCode": "INVALIDENTITY", "message": "Entity 'X' is not supported by the Bulk API."}],
    )
    with pytest.raises(BulkNotSupportedError):
        bulk(session).query("SELECT Id FROM X")


def test_ingest_uploads_the_file_as_one_job_and_waits_for_it(session, mocked):
    uploads: dict[str, str] = {}

    def upload(request, context):
        body = request.body.read() if hasattr(request.body, "read") else request.body
        uploads[request.url.split("/")[-2]] = body.decode()
        context.status_code = 201
        return ""

    contents = "services/data/v62.0/jobs/ingest/750A/batches"
    mocked.post(DATA + "/jobs/ingest", json={"id": "750A", "state": "Open", "contentUrl": contents})
    mocked.put(requests_mock_any_batches(), text=upload)
    mocked.patch(requests_mock_any_job(), json={"state": "UploadComplete"})
    mocked.get(requests_mock_any_job(), json={"state": "JobComplete", "numberRecordsProcessed": 6})
    client = BulkClient(session, poll_interval=0.001, poll_max=0.001)
    rows = [[f"name-{i:02d}", "x,y"] for i in range(6)]
    part = io.BytesIO(csv_bytes([["Name", "Ext__c"], *rows]))
    job = client.wait_ingest(client.start_ingest("Account", "upsert", part, external_id_field="Ext__c"))
    assert job.state == "JobComplete" and job.records_processed == 6 and part.closed
    assert uploads["750A"].splitlines() == ["Name,Ext__c", *(f'name-{i:02d},"x,y"' for i in range(6))]
    create_body = mocked.request_history[1].json()
    assert create_body["externalIdFieldName"] == "Ext__c" and create_body["lineEnding"] == "LF"


def requests_mock_any_batches():
    import re

    return re.compile(r".*/jobs/ingest/750[A-D]/batches$")


def requests_mock_any_job():
    import re

    return re.compile(r".*/jobs/ingest/750[A-D]$")

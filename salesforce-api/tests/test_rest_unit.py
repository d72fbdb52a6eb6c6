"""REST helpers on one mocked function at a time: paging, attributes removal, batching, collection results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from salesforce_api import RestClient
from salesforce_api.errors import ApiError, NotFoundError

from .conftest import DATA


def record(i: int, **extra) -> dict:
    return {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{i}"},
        "Id": str(i),
        **extra,
    }


def test_query_pages_follow_next_records_url_and_drop_attributes(session, mocked):
    mocked.get(
        DATA + "/queryAll",
        json={
            "totalSize": 3,
            "done": False,
            "nextRecordsUrl": "/services/data/v62.0/query/01gAB-2",
            "records": [record(1), record(2)],
        },
    )
    mocked.get(DATA + "/query/01gAB-2", json={"totalSize": 3, "done": True, "records": [record(3)]})
    pages = list(RestClient(session).query_pages("SELECT Id FROM Account", include_deleted=True, batch_size=2))
    assert [p.total_size for p in pages] == [3, 3]
    assert [p.next_records_url for p in pages] == ["/services/data/v62.0/query/01gAB-2", None]
    assert [r for p in pages for r in p.records] == [{"Id": "1"}, {"Id": "2"}, {"Id": "3"}]
    assert mocked.request_history[1].qs["q"] == ["select id from account"]
    assert mocked.request_history[1].headers["Sforce-Query-Options"] == "batchSize=2"


def test_nested_parent_and_child_records_lose_attributes_too(session, mocked):
    parent = {"attributes": {"type": "User"}, "Name": "Ann"}
    children = {"totalSize": 1, "done": True, "records": [{"attributes": {"type": "Contact"}, "Id": "c1"}]}
    mocked.get(
        DATA + "/query",
        json={
            "totalSize": 2,
            "done": True,
            "records": [record(1, Owner=parent, Contacts=children), record(2, Owner=None)],
        },
    )
    rows = list(RestClient(session).query("SELECT Id, Owner.Name, (SELECT Id FROM Contacts) FROM Account"))
    assert rows == [
        {"Id": "1", "Owner": {"Name": "Ann"}, "Contacts": {"totalSize": 1, "done": True, "records": [{"Id": "c1"}]}},
        {"Id": "2", "Owner": None},
    ]


def test_a_page_cut_short_is_fetched_again(session, mocked):
    route = mocked.get(
        DATA + "/query",
        [{"text": '{"totalSize": 1, "done": true, "recor'}, {"json": {"totalSize": 1, "done": True, "records": []}}],
    )
    assert list(RestClient(session).query_pages("SELECT Id FROM Account"))[0].total_size == 1
    assert route.call_count == 2


def test_count_wraps_from_clause(session, mocked):
    mocked.get(DATA + "/query", json={"totalSize": 42, "done": True, "records": []})
    assert RestClient(session).count("FROM Account WHERE Name != null") == 42
    assert mocked.last_request.qs["q"] == ["select count() from account where name != null"]


def test_count_with_deleted_rows_uses_query_all(session, mocked):
    mocked.get(DATA + "/queryAll", json={"totalSize": 7, "done": True, "records": []})
    assert RestClient(session).count("FROM Account", include_deleted=True) == 7
    assert mocked.last_request.path.endswith("/queryall")


def test_describe_many_batches_25_per_call_and_yields_errors(session, mocked):
    names = [f"Obj{i}__c" for i in range(30)]

    def answer(request, context):
        results = []
        for sub in request.json()["batchRequests"]:
            name = sub["url"].split("/")[2]
            if name == "Obj7__c":
                results.append({"statusCode": 404, "result": [{"errorCode": "NOT_FOUND", "message": "gone"}]})
            else:
                results.append({"statusCode": 200, "result": {"name": name}})
        return {"hasErrors": True, "results": results}

    route = mocked.post(DATA + "/composite/batch", json=answer)
    out = list(RestClient(session).describe_many(names))
    assert route.call_count == 2
    assert [len(r.json()["batchRequests"]) for r in route.request_history] == [25, 5]
    assert route.request_history[0].json()["batchRequests"][0]["url"] == "v62.0/sobjects/Obj0__c/describe"
    assert [n for n, _ in out] == names
    assert isinstance(out[7][1], NotFoundError)
    assert out[8][1] == {"name": "Obj8__c"}


def test_describe_many_asks_again_for_a_transient_subrequest_failure(session, mocked):
    mocked.post(
        DATA + "/composite/batch",
        json={"hasErrors": True, "results": [{"statusCode": 503, "result": [{"errorCode": "SERVER_UNAVAILABLE"}]}]},
    )
    mocked.get(DATA + "/sobjects/Account/describe", json={"name": "Account"})
    assert list(RestClient(session).describe_many(["Account"])) == [("Account", {"name": "Account"})]


def test_collections_create_adds_type_and_maps_results(session, mocked):
    mocked.post(
        DATA + "/composite/sobjects",
        json=[
            {"id": "001A", "success": True, "errors": []},
            {
                "success": False,
                "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "m", "fields": ["Name"]}],
            },
        ],
    )
    results = RestClient(session).create("Account", [{"Name": "a"}, {}])
    assert mocked.last_request.json() == {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Account"}, "Name": "a"}, {"attributes": {"type": "Account"}}],
    }
    assert results[0].id == "001A" and results[0].success
    assert not results[1].success
    assert results[1].errors[0].status_code == "REQUIRED_FIELD_MISSING"
    assert results[1].errors[0].fields == ["Name"]


def test_collection_size_limits():
    client = RestClient(session=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most 200"):
        client.create("Account", [{}] * 201)
    with pytest.raises(ValueError, match="at least one"):
        client.delete([])
    with pytest.raises(ValueError, match="Id"):
        client.update("Account", [{"Name": "x"}])


def test_upsert_one_with_several_matches_raises(session, mocked):
    mocked.patch(DATA + "/sobjects/Account/Ext__c/A-1", status_code=300, json=["/a", "/b"])
    with pytest.raises(ApiError) as caught:
        RestClient(session).upsert_one("Account", "Ext__c", "A-1", {"Name": "x", "Ext__c": "A-1"})
    assert caught.value.error_code == "MULTIPLE_CHOICES"
    assert mocked.last_request.json() == {"Name": "x"}


def test_deleted_accepts_datetimes_in_any_zone(session, mocked):
    mocked.get(DATA + "/sobjects/Account/deleted/", json={"deletedRecords": []})
    start = datetime(2024, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    RestClient(session).deleted("Account", start, datetime(2024, 1, 2, tzinfo=UTC))
    assert mocked.last_request.qs == {"start": ["2024-01-01t00:00:00+00:00"], "end": ["2024-01-02t00:00:00+00:00"]}

"""describe, sObject rows, upsert and Collections, driven by simple-salesforce and by raw requests for exact shapes."""

from __future__ import annotations

import pytest
from salesforce_emulator.testing import Emulator
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound


def test_versions_and_describe_global(api) -> None:
    versions = api("GET", "/services/data/").json()
    assert isinstance(versions, list) and {"label", "url", "version"} == set(versions[0])
    assert any(v["version"] == "62.0" for v in versions)
    body = api("GET", "/sobjects").json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    names = {o["name"] for o in body["sobjects"]}
    assert {"Account", "Contact", "Lead", "Opportunity", "Case", "User", "X__c", "X__e"} <= names
    for entry in body["sobjects"]:
        assert list(entry) == sorted(entry)
    event = next(o for o in body["sobjects"] if o["name"] == "X__e")
    assert "eventSchema" in event["urls"]


def test_describe_fields_share_sorted_keys(sf: Salesforce) -> None:
    fields = sf.X__c.describe()["fields"]
    keys = list(fields[0])
    assert keys == sorted(keys)
    assert all(list(f) == keys for f in fields)
    by_name = {f["name"]: f for f in fields}
    assert by_name["Id"]["type"] == "id" and by_name["Id"]["soapType"] == "tns:ID" and by_name["Id"]["length"] == 18
    assert by_name["Id"]["idLookup"] and not by_name["Id"]["createable"] and not by_name["Id"]["updateable"]
    ext = by_name["External_Id__c"]
    assert ext["externalId"] and ext["unique"] and ext["idLookup"]
    assert by_name["Address__City__s"]["compoundFieldName"] == "Address__c"
    types = {f["type"] for f in fields}
    assert {
        "address",
        "location",
        "textarea",
        "multipicklist",
        "picklist",
        "currency",
        "percent",
        "time",
        "base64",
        "boolean",
        "int",
        "double",
        "date",
        "datetime",
        "email",
        "phone",
        "url",
        "reference",
        "string",
    } <= types
    assert by_name["Restricted_Picklist__c"]["restrictedPicklist"]


def test_unknown_object_and_version_are_404(api) -> None:
    missing = api("GET", "/sobjects/Nope__c/describe")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
    assert api("GET", "/services/data/v99.0/sobjects").status_code == 404


def test_create_read_update_delete(sf: Salesforce, api, emulator: Emulator) -> None:
    created = api("POST", "/sobjects/Account/", json={"Name": "Acme"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "success", "errors"} and body["success"] and body["errors"] == []
    assert created.headers["location"].endswith(body["id"])
    record = sf.Account.get(body["id"])
    assert record["attributes"]["type"] == "Account" and record["Name"] == "Acme"
    assert record["LastModifiedDate"].endswith("+0000")
    assert api("PATCH", f"/sobjects/Account/{body['id']}", json={"Name": "Acme 2"}).status_code == 204
    assert sf.Account.get(body["id"])["Name"] == "Acme 2"
    assert api("DELETE", f"/sobjects/Account/{body['id']}").status_code == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(body["id"])
    row = next(r for r in emulator.admin.records("Account") if r["Id"] == body["id"])
    assert row["IsDeleted"] == 1


def test_create_errors_use_error_code(api) -> None:
    missing = api("POST", "/sobjects/Contact/", json={"FirstName": "No last name"})
    assert missing.status_code == 400
    assert missing.json() == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    unknown = api("POST", "/sobjects/Account/", json={"Name": "a", "Foo": 1}).json()[0]
    assert unknown["errorCode"] == "INVALID_FIELD"
    assert unknown["message"] == "No such column 'Foo' on sobject of type Account"


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"Text__c": "x" * 101}, "STRING_TOO_LONG"),
        ({"Restricted_Picklist__c": "Purple"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Email__c": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        ({"Integer__c": "abc"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"Number__c": -5}, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        ({"External_Id__c": "X-0000001"}, "DUPLICATE_VALUE"),
    ],
)
def test_validation(api, values: dict, code: str) -> None:
    response = api("POST", "/sobjects/X__c/", json=values)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


def test_upsert_created_updated_and_multiple_matches(api, emulator: Emulator) -> None:
    created = api("PATCH", "/sobjects/X__c/External_Id__c/NEW-1", json={"Text__c": "one"})
    assert created.status_code == 201
    assert created.json()["created"] is True
    updated = api("PATCH", "/sobjects/X__c/External_Id__c/NEW-1", json={"Text__c": "two"})
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    # Seeded records share Secondary_Key__c in pairs (K-0000001 is on records 2 and 3).
    several = api("PATCH", "/sobjects/X__c/Secondary_Key__c/K-0000001", json={"Text__c": "x"})
    assert several.status_code == 300
    assert len(several.json()) == 2 and all("/sobjects/X__c/" in url for url in several.json())
    assert api("PATCH", "/sobjects/X__c/Text__c/whatever", json={}).status_code == 404


def test_upsert_resolves_parent_by_external_id(api) -> None:
    response = api(
        "PATCH", "/sobjects/X__c/External_Id__c/CHILD-1", json={"Account__r": {"AccountNumber": "AC-000001"}}
    )
    assert response.status_code == 400  # AccountNumber is not an external id
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_collections_partial_failure_and_all_or_none(api, emulator: Emulator) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": "Good"},
        {"attributes": {"type": "Contact"}, "FirstName": "Missing last name"},
    ]
    partial = api("POST", "/composite/sobjects", json={"allOrNone": False, "records": records})
    assert partial.status_code == 200
    ok, bad = partial.json()
    assert ok["success"] and ok["errors"] == [] and len(ok["id"]) == 18
    assert bad == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    before = len(emulator.admin.records("Account"))
    rolled = api("POST", "/composite/sobjects", json={"allOrNone": True, "records": records}).json()
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK" and "id" not in rolled[0]
    assert rolled[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(emulator.admin.records("Account")) == before


def test_collections_empty_and_too_many(api) -> None:
    empty = api("POST", "/composite/sobjects", json={"records": []})
    assert empty.status_code == 400 and empty.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    many = [{"attributes": {"type": "Account"}, "Name": str(i)} for i in range(201)]
    assert api("POST", "/composite/sobjects", json={"records": many}).status_code == 400


def test_collections_update_upsert_delete(api) -> None:
    ids = [
        r["id"]
        for r in api(
            "POST",
            "/composite/sobjects",
            json={
                "records": [
                    {"attributes": {"type": "Account"}, "Name": "A"},
                    {"attributes": {"type": "Account"}, "Name": "B"},
                ]
            },
        ).json()
    ]
    updated = api(
        "PATCH",
        "/composite/sobjects",
        json={"records": [{"attributes": {"type": "Account"}, "id": ids[0], "Name": "A2"}]},
    ).json()
    assert updated == [{"id": ids[0], "success": True, "errors": []}]
    upserted = api(
        "PATCH",
        "/composite/sobjects/X__c/External_Id__c",
        json={
            "records": [
                {"attributes": {"type": "X__c"}, "External_Id__c": "X-0000001", "Text__c": "u"},
                {"attributes": {"type": "X__c"}, "External_Id__c": "BRAND-NEW", "Text__c": "n"},
            ]
        },
    ).json()
    assert [r["created"] for r in upserted] == [False, True]
    deleted = api("DELETE", "/composite/sobjects", params={"ids": ",".join(ids)}).json()
    assert [r["success"] for r in deleted] == [True, True]
    again = api("DELETE", "/composite/sobjects", params={"ids": ids[0]}).json()
    assert again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_auto_assign_header(api, emulator: Emulator) -> None:
    admin_id, assignee_id = emulator.org.api_user_id, emulator.org.assignee_id
    kept = api(
        "POST",
        "/sobjects/Lead/",
        json={"LastName": "L", "Company": "C", "OwnerId": admin_id},
        headers={"Sforce-Auto-Assign": "FALSE"},
    ).json()["id"]
    assigned = api("POST", "/sobjects/Lead/", json={"LastName": "L", "Company": "C", "OwnerId": admin_id}).json()["id"]
    owners = {r["Id"]: r["OwnerId"] for r in emulator.admin.records("Lead")}
    assert owners[kept] == admin_id and owners[assigned] == assignee_id


def test_events_are_published_on_the_bus(api, emulator: Emulator) -> None:
    one = api("POST", "/sobjects/X__e/", json={"Message__c": "hello", "Amount__c": 2.5})
    assert one.status_code == 201
    assert one.json()["success"] and one.json()["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    many = api(
        "POST",
        "/composite/sobjects",
        json={
            "records": [
                {"attributes": {"type": "X__e"}, "Message__c": "a"},
                {"attributes": {"type": "X__e"}, "Nope__c": "b"},
            ]
        },
    ).json()
    assert many[0]["success"] and not many[1]["success"]
    events = emulator.admin.events("X__e")
    assert [e["Message__c"] for e in events] == ["hello", "a"]
    assert all(e["EventUuid"] and e["ReplayId"] for e in events)


def test_composite_batch(api) -> None:
    body = {
        "batchRequests": [
            {"method": "GET", "url": "v62.0/sobjects/Account/describe"},
            {"method": "GET", "url": "v62.0/sobjects/Nope/describe"},
            {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": "From batch"}},
        ]
    }
    response = api("POST", "/composite/batch", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["hasErrors"] is True
    assert [r["statusCode"] for r in result["results"]] == [200, 404, 201]
    assert result["results"][0]["result"]["name"] == "Account"
    too_many = api("POST", "/composite/batch", json={"batchRequests": body["batchRequests"] * 9})
    assert too_many.status_code == 400


def test_limits_and_usage_header(api) -> None:
    response = api("GET", "/limits")
    limits = response.json()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert set(limits["DailyBulkV2QueryJobs"]) == {"Max", "Remaining"}
    used = int(response.headers["sforce-limit-info"].removeprefix("api-usage=").split("/")[0])
    assert used >= 1


def test_deleted_and_updated(api) -> None:
    record_id = api("POST", "/sobjects/Account/", json={"Name": "Gone"}).json()["id"]
    api("DELETE", f"/sobjects/Account/{record_id}")
    window = {"start": "2020-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00"}
    deleted = api("GET", "/sobjects/Account/deleted/", params=window).json()
    assert [d["id"] for d in deleted["deletedRecords"]] == [record_id]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    updated = api("GET", "/sobjects/Account/updated/", params=window).json()
    assert len(updated["ids"]) == 20


def test_simple_salesforce_write_errors_raise(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.create({"FirstName": "x"})

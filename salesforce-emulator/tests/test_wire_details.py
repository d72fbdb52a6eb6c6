"""Details real orgs send that clients may depend on: error codes and bodies, headers, versions, limits, describe,
/composite. Each assertion is what recorded real responses show."""

from __future__ import annotations

import time

from salesforce_emulator.ids import make_id
from salesforce_emulator.seed import generate

NEVER = make_id("001", 999_999)  # a well-formed Account id no record ever had


def test_an_id_that_never_existed_is_an_invalid_cross_reference(api) -> None:
    updated = api("PATCH", "/composite/sobjects", json={"records": [{"attributes": {"type": "Account"}, "Id": NEVER}]})
    assert updated.json()[0]["errors"] == [
        {"statusCode": "INVALID_CROSS_REFERENCE_KEY", "message": "invalid cross reference id", "fields": []}
    ]
    created = api("POST", "/sobjects/Contact/", json={"LastName": "Orphan", "AccountId": NEVER})
    assert created.status_code == 400
    assert created.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_a_deleted_id_is_entity_is_deleted(api) -> None:
    record_id = api("POST", "/sobjects/Account/", json={"Name": "Gone"}).json()["id"]
    assert api("DELETE", f"/sobjects/Account/{record_id}").status_code == 204
    again = api(
        "PATCH", "/composite/sobjects", json={"records": [{"attributes": {"type": "Account"}, "Id": record_id}]}
    )
    assert again.json()[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_unknown_field_on_create_and_update_has_no_fields_key(api) -> None:
    created = api("POST", "/sobjects/Account/", json={"Name": "A", "Foo__c": 1})
    assert created.status_code == 400
    assert created.json() == [
        {"message": "No such column 'Foo__c' on sobject of type Account", "errorCode": "INVALID_FIELD"}
    ]
    record_id = api("POST", "/sobjects/Account/", json={"Name": "B"}).json()["id"]
    updated = api("PATCH", f"/sobjects/Account/{record_id}", json={"Foo__c": 1})
    assert updated.status_code == 400 and "fields" not in updated.json()[0]


def test_not_found_body_names_the_code_first(api) -> None:
    missing = api("GET", "/sobjects/NoSuchObject__c/describe")
    assert missing.status_code == 404
    assert list(missing.json()[0]) == ["errorCode", "message"]
    assert list(api("GET", "/services/data/v10.0/sobjects").json()[0]) == ["errorCode", "message"]


def test_json_answers_say_charset_utf8(api) -> None:
    for path in ("/sobjects", "/limits", "/query?q=SELECT+Id+FROM+Account"):
        assert api("GET", path).headers["content-type"] == "application/json;charset=UTF-8"
    assert api("GET", "/sobjects/Nope").headers["content-type"] == "application/json;charset=UTF-8"


def test_upsert_answers_carry_a_location(api) -> None:
    created = api("PATCH", "/sobjects/X__c/External_Id__c/LOC-1", json={"Text__c": "one"})
    assert created.status_code == 201
    location = f"/services/data/v62.0/sobjects/X__c/{created.json()['id']}"
    assert created.headers["location"] == location
    updated = api("PATCH", "/sobjects/X__c/External_Id__c/LOC-1", json={"Text__c": "two"})
    assert updated.status_code == 200 and updated.headers["location"] == location


def test_collection_upsert_failures_keep_created_false_and_untyped_records_fail_alone(api) -> None:
    answer = api(
        "PATCH",
        "/composite/sobjects/X__c/External_Id__c",
        json={
            "records": [
                {"attributes": {"type": "X__c"}, "External_Id__c": "U-1", "Number__c": -1},
                {"External_Id__c": "U-2"},
                {"attributes": {"type": "X__c"}, "External_Id__c": "U-3"},
            ]
        },
    )
    assert answer.status_code == 200
    first, untyped, good = answer.json()
    assert first["success"] is False and first["created"] is False
    assert untyped["success"] is False and untyped["created"] is False
    assert untyped["errors"][0]["statusCode"] == "JSON_PARSER_ERROR"
    assert good["success"] is True and good["created"] is True


def test_versions_reach_66_with_release_labels_and_all_answer(api) -> None:
    versions = api("GET", "/services/data/").json()
    assert versions[-1] == {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    for v in versions:
        assert api("GET", v["url"] + "/limits").status_code == 200, v


# Every name a real org (v62, 2025) answered /limits with; a Developer Edition Dev Hub adds the scratch-org two.
REAL_LIMIT_NAMES = {
    "AnalyticsExternalDataSizeMB", "CdpAiInferenceApiMonthlyLimit", "ConcurrentAsyncGetReportInstances",
    "ConcurrentEinsteinDataInsightsStoryCreation", "ConcurrentEinsteinDiscoveryStoryCreation",
    "ConcurrentSyncReportRuns", "ContentDistBandwidthLimitMB", "ContentDistViewLimit", "ContentPublicationLimit",
    "DailyAnalyticsDataflowJobExecutions", "DailyAnalyticsUploadedFilesSizeMB", "DailyApexCursorLimit",
    "DailyApexCursorRowsLimit", "DailyApexPCursorLimit", "DailyApiRequests", "DailyAsyncApexExecutions",
    "DailyAsyncApexTests", "DailyBulkApiBatches", "DailyBulkV2QueryFileStorageMB", "DailyBulkV2QueryJobs",
    "DailyDataCloudCursorLimit", "DailyDataCloudCursorRowsLimit", "DailyDataCloudFlexCredits",
    "DailyDeliveredPlatformEvents", "DailyDurableGenericStreamingApiEvents", "DailyDurableStreamingApiEvents",
    "DailyEinsteinDataInsightsStoryCreation", "DailyEinsteinDiscoveryOptimizationJobRuns",
    "DailyEinsteinDiscoveryPredictAPICalls", "DailyEinsteinDiscoveryPredictionsByCDC",
    "DailyEinsteinDiscoveryStoryCreation", "DailyFunctionsApiCallLimit", "DailyGenericStreamingApiEvents",
    "DailyMetadataRetrievesWithDependencies", "DailyServiceEmailAgentforceCalls", "DailyStandardVolumePlatformEvents",
    "DailyStreamingApiEvents", "DailyWorkflowEmails", "DataStorageMB", "DurableStreamingApiConcurrentClients",
    "ExternalServicesActiveObjects", "ExternalServicesActiveOperations", "ExternalServicesObjectProperties",
    "ExternalServicesObjects", "ExternalServicesOperations", "ExternalServicesRegistrations", "FileStorageMB",
    "HourlyAsyncReportRuns", "HourlyDashboardRefreshes", "HourlyDashboardResults", "HourlyDashboardStatuses",
    "HourlyElevateAsyncReportRuns", "HourlyElevateSyncReportRuns", "HourlyLongTermIdMapping",
    "HourlyManagedContentPublicRequests", "HourlyODataCallout", "HourlyPublishedPlatformEvents",
    "HourlyPublishedStandardVolumePlatformEvents", "HourlyShortTermIdMapping", "HourlySyncReportRuns",
    "HourlyTimeBasedWorkflow", "MassEmail", "MaxContentDocumentsLimit", "MonthlyEinsteinDiscoveryStoryCreation",
    "Package2VersionCreates", "Package2VersionCreatesWithoutValidation", "PermissionSets",
    "PlatformEventTriggersWithParallelProcessing", "PrivateConnectOutboundCalloutHourlyLimitMB",
    "PublishCallbackUsageInApex", "ScheduledFlowRunLimit", "ScheduledPathRunLimit", "SingleEmail",
    "StreamingApiConcurrentClients",
}  # fmt: skip
# Real names seen in other real orgs' answers (Dev Hub, older releases).
OTHER_REAL_LIMIT_NAMES = {"ActiveScratchOrgs", "DailyScratchOrgs", "BOZosCalloutHourlyLimit",
                          "MonthlyPlatformEventsUsageEntitlement"}  # fmt: skip


def test_limits_use_the_real_names_and_record_count(api, emulator) -> None:
    limits = api("GET", "/limits").json()
    assert len(limits) >= 65
    assert REAL_LIMIT_NAMES <= set(limits), REAL_LIMIT_NAMES - set(limits)
    assert set(limits) <= REAL_LIMIT_NAMES | OTHER_REAL_LIMIT_NAMES, set(limits) - REAL_LIMIT_NAMES
    assert "SingleEmailMessages" not in limits and "PermissionSetsAssigned" not in limits
    assert list(limits) == sorted(limits)
    assert all(0 <= v["Remaining"] <= v["Max"] for v in limits.values())
    assert limits["PermissionSets"]["CreateCustom"] == {"Max": 1000, "Remaining": 1000}
    before = limits["DailyApiRequests"]["Remaining"]
    api("GET", "/sobjects")
    assert api("GET", "/limits").json()["DailyApiRequests"]["Remaining"] < before, "calls are counted"
    api("DELETE", f"/sobjects/Account/{emulator.admin.records('Account')[0]['Id']}")
    counts = api("GET", "/limits/recordCount", params={"sObjects": "Account,Contact"}).json()
    assert counts == {"sObjects": [{"count": 19, "name": "Account"}, {"count": 20, "name": "Contact"}]}
    everything = api("GET", "/limits/recordCount").json()["sObjects"]
    assert {"Account", "X__c", "User"} <= {c["name"] for c in everything}


def test_describe_details_real_orgs_send(api, emulator) -> None:
    for name in ("Account", "Contact", "Lead", "Case", "User", "Group", "X__c"):
        body = api("GET", f"/sobjects/{name}/describe").json()
        (master,) = body["recordTypeInfos"]
        assert master["master"] and master["name"] == "Master" and master["recordTypeId"] == "012000000000000AAA"
        fields = {f["name"]: f for f in body["fields"]}
        assert fields["Id"]["byteLength"] == 18
        assert all(f["byteLength"] == 18 for f in body["fields"] if f["type"] == "reference")
    for name in ("Lead", "Case"):
        owner = {f["name"]: f for f in api("GET", f"/sobjects/{name}/describe").json()["fields"]}["OwnerId"]
        assert owner["referenceTo"] == ["Group", "User"] and owner["polymorphicForeignKey"] is True
        assert owner["namePointing"] is True
    contact = {f["name"]: f for f in api("GET", "/sobjects/Contact/describe").json()["fields"]}
    assert contact["LeadSource"]["length"] == 40, "a standard picklist"
    x = {f["name"]: f for f in api("GET", "/sobjects/X__c/describe").json()["fields"]}
    assert x["Picklist__c"]["length"] == 255, "a custom picklist"
    for part in ("FirstName", "LastName", "Salutation"):
        assert (contact[part]["compoundFieldName"], contact[part]["extraTypeInfo"]) == ("Name", "personname")
    assert contact["Name"]["extraTypeInfo"] == "personname"
    users = api("GET", "/sobjects/User/describe").json()["childRelationships"]
    assert {("Account", "CreatedById"), ("Lead", "OwnerId")} <= {(c["childSObject"], c["field"]) for c in users}
    assert all(c["relationshipName"] is None for c in users)
    account = api("GET", "/sobjects/Account/describe").json()["childRelationships"]
    assert {"childSObject": "Contact", "field": "AccountId", "relationshipName": "Contacts"}.items() <= next(
        c for c in account if c["childSObject"] == "Contact"
    ).items()


def test_leads_and_cases_can_be_owned_by_a_queue(api, emulator) -> None:
    (queue,) = emulator.admin.records("Group")
    assert queue["Type"] == "Queue"
    owned = api("POST", "/sobjects/Lead/", json={"LastName": "Q", "Company": "C", "OwnerId": queue["Id"]},
                headers={"Sforce-Auto-Assign": "FALSE"})  # fmt: skip
    assert owned.status_code == 201, owned.text
    row = next(r for r in emulator.admin.records("Lead") if r["Id"] == owned.json()["id"])
    assert row["OwnerId"] == queue["Id"]
    generate(emulator.org, "Case", 200)
    owners = {r["OwnerId"][:3] for r in emulator.admin.records("Case")}
    assert owners == {"005", "00G"}, "the seed gives some Cases to the queue"


def test_owner_paths_follow_the_queue_that_owns_a_record_in_rest_and_bulk(api, emulator) -> None:
    (queue,) = emulator.admin.records("Group")
    queued = api("POST", "/sobjects/Lead/", json={"LastName": "Queued", "Company": "C", "OwnerId": queue["Id"]},
                 headers={"Sforce-Auto-Assign": "FALSE"}).json()["id"]  # fmt: skip
    soql = f"SELECT Id, Owner.Name, Owner.Type, Owner.Username FROM Lead WHERE Id = '{queued}'"
    (record,) = query(api, soql).json()["records"]
    # The Name entity: the queue's own name and type, no user fields, and the url of the Group record.
    assert record["Owner"] == {
        "attributes": {"type": "Name", "url": f"/services/data/v62.0/sobjects/Group/{queue['Id']}"},
        "Name": queue["Name"],
        "Type": "Queue",
        "Username": None,
    }
    users = query(api, "SELECT Owner.Name, Owner.Type FROM Lead WHERE Owner.Type = 'User'").json()["records"]
    assert users and all(r["Owner"]["Type"] == "User" and r["Owner"]["Name"] for r in users)
    assert all(r["Owner"]["attributes"]["url"].split("/")[-2] == "User" for r in users)
    by_queue = query(api, f"SELECT Id FROM Lead WHERE Owner.Name = '{queue['Name']}'").json()["records"]
    assert queued in {r["Id"] for r in by_queue}
    refused = query(api, "SELECT Owner.DeveloperName FROM Lead").json()[0]
    assert refused["errorCode"] == "INVALID_FIELD" and "on entity 'Name'" in refused["message"]

    job = api("POST", "/jobs/query", json={"operation": "query", "query": soql}).json()["id"]
    for _ in range(300):
        if api("GET", f"/jobs/query/{job}").json()["state"] == "JobComplete":
            break
        time.sleep(0.05)
    lines = api("GET", f"/jobs/query/{job}/results").text.splitlines()
    assert lines == ['"Id","Owner.Name","Owner.Type","Owner.Username"', f'"{queued}","{queue["Name"]}","Queue",""']


def test_composite_chains_references_and_answers_composite_response(api) -> None:
    answer = api(
        "POST",
        "/composite",
        json={
            "allOrNone": False,
            "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct",
                 "body": {"Name": "Composite"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "person",
                 "body": {"LastName": "Chained", "AccountId": "@{acct.id}"}},
                {"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{person.id}?fields=AccountId",
                 "referenceId": "read"},
                {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Account/@{missing.id}", "referenceId": "bad",
                 "body": {"Name": "x"}},
            ],
        },
    )  # fmt: skip
    assert answer.status_code == 200
    acct, person, read, bad = answer.json()["compositeResponse"]
    assert list(acct) == ["body", "httpHeaders", "httpStatusCode", "referenceId"]
    assert acct["httpStatusCode"] == 201 and acct["referenceId"] == "acct"
    assert acct["httpHeaders"] == {"Location": f"/services/data/v62.0/sobjects/Account/{acct['body']['id']}"}
    assert person["httpStatusCode"] == 201
    assert read["httpStatusCode"] == 200 and read["body"]["AccountId"] == acct["body"]["id"]
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "PROCESSING_HALTED"


def test_composite_all_or_none_stops_at_the_first_failure(api) -> None:
    answer = api(
        "POST",
        "/composite",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/X__c", "referenceId": "bad",
                 "body": {"Number__c": -1}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/X__c", "referenceId": "next",
                 "body": {"Name": "never"}},
            ],
        },
    ).json()["compositeResponse"]  # fmt: skip
    assert answer[0]["httpStatusCode"] == 400
    assert answer[0]["body"][0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert answer[1]["httpStatusCode"] == 400 and answer[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"


def query(api, soql: str):
    return api("GET", "/query", params={"q": soql})


def test_soql_count_of_a_field_and_group_by_give_aggregate_results(api, emulator) -> None:
    (total,) = query(api, "SELECT COUNT(Id) FROM Account").json()["records"]
    assert total == {"attributes": {"type": "AggregateResult"}, "expr0": 20}
    body = query(api, "SELECT LeadSource source, COUNT(Id) n, MAX(SystemModstamp) FROM Lead GROUP BY LeadSource").json()
    leads = emulator.admin.records("Lead")
    assert body["totalSize"] == len({r["LeadSource"] for r in leads}) == len(body["records"])
    by_source = {r["source"]: r for r in body["records"]}
    for source in by_source:
        mine = [r for r in leads if r["LeadSource"] == source]
        assert by_source[source]["n"] == len(mine)
        assert by_source[source]["expr0"] == max(r["SystemModstamp"] for r in mine)
    assert list(body["records"][0]) == ["attributes", "source", "n", "expr0"]
    refused = query(api, "SELECT Name, COUNT(Id) FROM Lead")
    assert refused.status_code == 400 and "Field must be grouped or aggregated: Name" in refused.json()[0]["message"]


def test_soql_child_relationship_subquery(api, emulator) -> None:
    body = query(api, "SELECT Id, (SELECT Id, LastName FROM Contacts ORDER BY Id) FROM Account ORDER BY Id").json()
    contacts = emulator.admin.records("Contact")
    for account in body["records"]:
        mine = sorted(r["Id"] for r in contacts if r["AccountId"] == account["Id"])
        if not mine:
            assert account["Contacts"] is None
            continue
        assert account["Contacts"]["totalSize"] == len(mine) and account["Contacts"]["done"] is True
        assert [c["Id"] for c in account["Contacts"]["records"]] == mine
        assert account["Contacts"]["records"][0]["attributes"]["type"] == "Contact"
    assert any(a["Contacts"] for a in body["records"])


def test_child_relationships_carry_real_names_and_subqueries_use_them(api, emulator) -> None:
    def named(sobject: str) -> set[tuple[str, str, str]]:
        children = api("GET", f"/sobjects/{sobject}/describe").json()["childRelationships"]
        assert all(not c["cascadeDelete"] and not c["restrictedDelete"] and not c["deprecatedAndHidden"]
                   for c in children)  # fmt: skip
        return {(c["childSObject"], c["field"], c["relationshipName"]) for c in children if c["relationshipName"]}

    assert named("Account") == {
        ("Account", "ParentId", "ChildAccounts"),
        ("Contact", "AccountId", "Contacts"),
        ("Opportunity", "AccountId", "Opportunities"),
        ("Case", "AccountId", "Cases"),
        ("X__c", "Account__c", "Xs__r"),
    }
    assert named("Contact") == {("Case", "ContactId", "Cases")}
    assert named("Case") == {("Case", "ParentId", "Cases")}
    groups = api("GET", "/sobjects/Group/describe").json()["childRelationships"]
    assert {(c["childSObject"], c["field"]) for c in groups} == {("Lead", "OwnerId"), ("Case", "OwnerId")}

    (account,) = emulator.admin.records("Account")[:1]
    child = api("POST", "/sobjects/Account/", json={"Name": "Child", "ParentId": account["Id"]}).json()["id"]
    case = api("POST", "/sobjects/Case/", json={"Subject": "Parent"}, headers={"Sforce-Auto-Assign": "FALSE"})
    sub = api("POST", "/sobjects/Case/", json={"Subject": "Sub", "ParentId": case.json()["id"]},
              headers={"Sforce-Auto-Assign": "FALSE"}).json()["id"]  # fmt: skip
    soql = (
        f"SELECT Id, (SELECT Id FROM ChildAccounts), (SELECT Id FROM Xs__r) FROM Account WHERE Id = '{account['Id']}'"
    )
    (parent,) = query(api, soql).json()["records"]
    assert [r["Id"] for r in parent["ChildAccounts"]["records"]] == [child]
    soql = f"SELECT Id, (SELECT Id, Subject FROM Cases) FROM Case WHERE Id = '{case.json()['id']}'"
    assert [r["Id"] for r in query(api, soql).json()["records"][0]["Cases"]["records"]] == [sub]
    refused = query(api, "SELECT Id, (SELECT Id FROM Accounts) FROM Account").json()[0]
    assert refused["errorCode"] == "INVALID_TYPE", "Account's children are ChildAccounts, as in a real org"


def test_soql_typeof_picks_fields_by_the_owner_type(api, emulator) -> None:
    (queue,) = emulator.admin.records("Group")
    api("POST", "/sobjects/Case/", json={"Subject": "queued", "OwnerId": queue["Id"]},
        headers={"Sforce-Auto-Assign": "FALSE"})  # fmt: skip
    soql = "SELECT Id, TYPEOF Owner WHEN User THEN Username WHEN Group THEN Name, Type END FROM Case"
    owners = [r["Owner"] for r in query(api, soql).json()["records"]]
    assert {"attributes", "Name", "Type"} == set(next(o for o in owners if o["attributes"]["type"] == "Group"))
    assert {"attributes", "Username"} == set(next(o for o in owners if o["attributes"]["type"] == "User"))

"""/query and /queryAll: paging through nextRecordsUrl, batch sizes, errors, deleted rows."""

from __future__ import annotations

import re

from salesforce_emulator.testing import Emulator
from simple_salesforce import Salesforce

NEXT = re.compile(r"^/services/data/v62\.0/query/[0-9A-Za-z]{15,18}-(\d+)$")


def test_paging_with_batch_size(emulator_factory, api_for) -> None:
    org = emulator_factory(records=450)
    api = api_for(org)
    first = api(
        "GET",
        "/query",
        params={"q": "SELECT Id, Name FROM X__c ORDER BY Id"},
        headers={"Sforce-Query-Options": "batchSize=200"},
    ).json()
    assert first["totalSize"] == 450 and first["done"] is False and len(first["records"]) == 200
    assert NEXT.match(first["nextRecordsUrl"]).group(1) == "200"
    second = api("GET", first["nextRecordsUrl"]).json()
    assert second["totalSize"] == 450 and len(second["records"]) == 200
    assert NEXT.match(second["nextRecordsUrl"]).group(1) == "400"
    last = api("GET", second["nextRecordsUrl"]).json()
    assert last["done"] is True and "nextRecordsUrl" not in last and len(last["records"]) == 50
    ids = [r["Id"] for page in (first, second, last) for r in page["records"]]
    assert ids == sorted(ids) and len(set(ids)) == 450
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]


def test_default_page_is_2000_and_long_text_pages_are_smaller(emulator_factory, api_for) -> None:
    org = emulator_factory(records=2100)
    api = api_for(org)
    narrow = api("GET", "/query", params={"q": "SELECT Id FROM X__c"}).json()
    assert len(narrow["records"]) == 2000 and narrow["totalSize"] == 2100
    wide = api("GET", "/query", params={"q": "SELECT Id, Long_Text__c FROM X__c"}).json()
    assert len(wide["records"]) < 2000


def test_simple_salesforce_query_all_follows_pages(emulator_factory, sf_for) -> None:
    org = emulator_factory(records=450)
    org.admin.configure(rest_page_size=200)
    sf: Salesforce = sf_for(org)
    result = sf.query_all("SELECT Id, Name, Account__r.Name FROM X__c")
    assert result["totalSize"] == 450 and len(result["records"]) == 450


def test_record_shape_and_nulls(api) -> None:
    body = api(
        "GET",
        "/query",
        params={"q": "SELECT Id, Name, Owner.Name, AccountId, Account.Name, Birthdate FROM Contact LIMIT 5"},
    ).json()
    record = body["records"][0]
    assert list(record)[:2] == ["attributes", "Id"]
    assert record["attributes"] == {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{record['Id']}"}
    assert set(record) == {"attributes", "Id", "Name", "Owner", "AccountId", "Account", "Birthdate"}
    assert record["Owner"]["attributes"]["type"] == "User"


def test_count_and_errors(api) -> None:
    count = api("GET", "/query", params={"q": "SELECT COUNT() FROM Account"}).json()
    assert count == {"totalSize": 20, "done": True, "records": []}
    bad_field = api("GET", "/query", params={"q": "SELECT Id, Foo FROM Account"})
    assert bad_field.status_code == 400
    assert bad_field.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:12" in bad_field.json()[0]["message"]
    bad_type = api("GET", "/query", params={"q": "SELECT Id FROM Nope"})
    assert bad_type.status_code == 400 and bad_type.json()[0]["errorCode"] == "INVALID_TYPE"
    malformed = api("GET", "/query", params={"q": "SELEKT Id FROM Account"})
    assert malformed.status_code == 400 and malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_query_all_includes_deleted(api) -> None:
    record_id = api("POST", "/sobjects/Account/", json={"Name": "Soon deleted"}).json()["id"]
    api("DELETE", f"/sobjects/Account/{record_id}")
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert api("GET", "/query", params={"q": soql}).json()["totalSize"] == 0
    rows = api("GET", "/queryAll", params={"q": soql}).json()["records"]
    assert rows[0]["IsDeleted"] is True


def test_incremental_window(api) -> None:
    soql = (
        "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= 2022-01-01T00:00:00Z "
        "AND SystemModstamp < 2023-01-01T00:00:00Z ORDER BY SystemModstamp"
    )
    body = api("GET", "/query", params={"q": soql}).json()
    stamps = [r["SystemModstamp"] for r in body["records"]]
    assert stamps == sorted(stamps) and all(s.startswith("2022-") for s in stamps)
    everything = api("GET", "/query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"]
    assert 0 <= body["totalSize"] < everything


def test_unknown_locator(api) -> None:
    response = api("GET", "/query/0r88d0000000000AAG-2000")
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_seeding_is_deterministic(emulator_factory) -> None:
    first: Emulator = emulator_factory(records=5)
    second: Emulator = emulator_factory(records=5)
    assert first.admin.records("X__c") == second.admin.records("X__c")


def test_total_size_follows_every_write(api, emulator: Emulator) -> None:
    """totalSize counts are remembered between queries, so each kind of write must make them count again."""
    soql = {"q": "SELECT Id FROM X__c"}
    before = api("GET", "/query", params=soql).json()["totalSize"]
    assert api("GET", "/query", params=soql).json()["totalSize"] == before
    created = emulator.org.dml("X__c", "insert", [{"Name": "count-a"}, {"Name": "count-b"}])
    assert api("GET", "/query", params=soql).json()["totalSize"] == before + 2
    emulator.org.dml("X__c", "delete", [{"Id": created[0]["id"]}])
    assert api("GET", "/query", params=soql).json()["totalSize"] == before + 1
    assert api("GET", "/queryAll", params=soql).json()["totalSize"] == before + 2
    emulator.admin.generate("X__c", 3)
    assert api("GET", "/query", params=soql).json()["totalSize"] == before + 4
    count = {"q": "SELECT COUNT() FROM X__c WHERE Name = 'count-b'"}
    assert api("GET", "/query", params=count).json()["totalSize"] == 1
    emulator.org.dml("X__c", "update", [{"Id": created[1]["id"], "Name": "renamed"}])
    assert api("GET", "/query", params=count).json()["totalSize"] == 0

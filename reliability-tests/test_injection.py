"""Injection: object names, field names and values from config, catalog and state never reach SOQL or a URL
unvalidated or unescaped. Each hostile string is refused with a clear error or quoted; the emulator's call log shows
which endpoints were reached, and the records returned or written show that nothing beyond the intended ones was."""

from __future__ import annotations

from typing import Any

import pytest
from destination_messages import catalog as destination_catalog
from destination_messages import destination_config, record_line, state_line
from reliability_harness import DESTINATION, SOURCE, TALLY, Run, configured_catalog, run

# Text that would change a query or a URL if it were pasted in as it is.
HOSTILE_NAMES = [
    "X__c' OR Id != null OR Name = '",
    "X__c WHERE Id != null",
    "X__c, Account",
    "X__c/../Account",
    "X__c?q=SELECT+Id+FROM+Account",
    "X__c%2F..%2FAccount",
    "X__c\nAccount",
    'X__c"',
]
QUERY_ENDPOINTS = ("GET /query", "GET /queryAll", "POST /jobs/query")


@pytest.fixture
def org(shared_org):
    """Every case here leaves the org usable for the next (refused inputs; writes under their own key prefix)."""
    return shared_org


def endpoints(org) -> list[str]:
    return list(org.admin.calls()["by_endpoint"])


def reached_other_objects(called: list[str], allowed: set[str]) -> list[str]:
    """Endpoints that name an object other than the allowed ones, or a name that is not an API name."""
    wrong = []
    for key in called:
        parts = key.split(" ", 1)[1].strip("/").split("/")
        if "sobjects" in parts:
            index = parts.index("sobjects") + 1
            if index < len(parts) and parts[index] not in allowed:
                wrong.append(key)
    return wrong


def assert_refused(result: Run, *words: str) -> None:
    assert result.returncode != 0, result.describe()
    assert result.errors, f"no error TRACE: {result.describe()}"
    said = " ".join(e["message"] for e in result.errors)
    assert "something went wrong" not in said.lower(), result.describe()
    assert any(w.lower() in said.lower() for w in words), f"the message does not name {words}: {said}"
    TALLY["injection strings refused"] += 1


def source_config(org, **settings: Any) -> dict[str, Any]:
    return {"credentials": org.credentials(), "streams": ["X__c"], **settings}


# -- source ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_source_refuses_a_hostile_stream_name(org, x_stream, name: str) -> None:
    catalog = configured_catalog({**x_stream, "name": name})
    org.admin.reset_calls()
    result = run(SOURCE, "read", config=source_config(org), catalog=catalog, org=org)
    called = endpoints(org)
    assert_refused(result, "stream", "object", "name")
    assert not result.of_type("RECORD")
    assert not [e for e in called if e.startswith(QUERY_ENDPOINTS)], called
    assert not reached_other_objects(called, {"X__c"}), called


@pytest.mark.parametrize(
    "field",
    [
        "Name FROM Account WHERE Name != null",
        "Id, (SELECT Id FROM Contacts)",
        "Name' OR Id != null",
        "Name/../../Account",
        "Name\nFROM Account",
    ],
)
def test_source_never_selects_a_hostile_schema_property(org, x_stream, field: str) -> None:
    schema = x_stream["json_schema"]
    stream = {**x_stream, "json_schema": {**schema, "properties": {**schema["properties"], field: {"type": "string"}}}}
    org.admin.reset_calls()
    result = run(SOURCE, "read", config=source_config(org), catalog=configured_catalog(stream), org=org)
    called = endpoints(org)
    assert not reached_other_objects(called, {"X__c"}), called
    if result.returncode != 0:  # refused: then clearly, naming the field
        assert_refused(result, "field", "property", "column")
        assert not result.of_type("RECORD")
        return
    # Quietly dropped: every record is one of X__c's own, none carries the hostile name.
    records = result.records()
    org_ids = {r["Id"] for r in org.admin.records("X__c")}
    assert {r["Id"] for r in records} == org_ids, "records other than X__c's were returned"
    assert len(records) == len(org_ids)
    assert not [r for r in records if field in r]
    TALLY["injection strings kept out of a query"] += 1


@pytest.mark.parametrize(
    "start_date",
    [
        "2024-01-01' OR Id != null OR Name = '",
        "2024-01-01T00:00:00Z OR Id != null",
        "2024-01-01T00:00:00.000Z) OR (Id != null",
        "2024-01-01\nOR Id != null",
    ],
)
def test_source_refuses_a_hostile_start_date(org, x_stream, start_date: str) -> None:
    org.admin.reset_calls()
    config = source_config(org, start_date=start_date)
    result = run(SOURCE, "read", config=config, catalog=configured_catalog(x_stream), org=org)
    assert_refused(result, "start_date")
    assert not result.of_type("RECORD")
    assert not [e for e in endpoints(org) if e.startswith(QUERY_ENDPOINTS)]


def stream_state(cursor: Any, last_id: Any) -> list[dict[str, Any]]:
    blob = {"cursor_field": "SystemModstamp", "cursor": cursor, "last_id": last_id}
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "X__c"}, "stream_state": blob}}]


@pytest.mark.parametrize(
    ("cursor", "last_id", "words"),
    [
        ("2024-01-01T00:00:00.000Z' OR Id != null OR Name = '", "", ["cursor"]),
        ("2024-01-01T00:00:00.000Z OR Id != null", "", ["cursor"]),
        ("2024-01-01T00:00:00.000Z", "a00000000000001' OR Id != null OR Id = '", ["last_id", "id"]),
        ("2024-01-01T00:00:00.000Z", "a00000000000001\nOR Id != null", ["last_id", "id"]),
        ("2024-01-01T00:00:00.000Z", "../../sobjects/Account", ["last_id", "id"]),
    ],
)
def test_source_refuses_a_hostile_state(org, x_stream, cursor: str, last_id: str, words: list[str]) -> None:
    org.admin.reset_calls()
    state = stream_state(cursor, last_id)
    result = run(SOURCE, "read", config=source_config(org), catalog=configured_catalog(x_stream), state=state, org=org)
    assert_refused(result, *words)
    assert not result.of_type("RECORD")
    assert not [e for e in endpoints(org) if e.startswith(QUERY_ENDPOINTS)]


# -- destination ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("object", "X__c/../Account"),
        ("object", "X__c?q=SELECT"),
        ("object", "X__c%2FAccount"),
        ("external_id_field", "External_Id__c/../../Account"),
        ("external_id_field", "External_Id__c' OR Id != null OR Name = '"),
        ("external_id_field", "External_Id__c\nName"),
        ("column_mapping", [{"source": "Name", "target": "Name' OR Id != null"}]),
        ("column_mapping", [{"source": "Name", "target": "Account/../Contact.Name"}]),
        ("column_mapping", [{"source": "Name", "target": "Owner.Name?q=x"}]),
    ],
)
def test_destination_refuses_hostile_names_in_settings(org, setting: str, value: Any) -> None:
    config = destination_config(org, "collections", **{setting: value})
    before = len(org.admin.records("X__c"))
    org.admin.reset_calls()
    stdin = record_line({"External_Id__c": "J-1", "Name": "x"}) + state_line(1)
    result = run(DESTINATION, "write", config=config, catalog=destination_catalog("append_dedup"), stdin=stdin, org=org)
    assert_refused(result, setting)
    assert not result.states
    assert endpoints(org) == [], "a hostile name reached the org"
    assert len(org.admin.records("X__c")) == before


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_destination_refuses_a_hostile_catalog_object_name(org, name: str) -> None:
    catalog = destination_catalog("append_dedup")
    catalog["streams"][0]["destination_object_name"] = name
    org.admin.reset_calls()
    stdin = record_line({"External_Id__c": "J-2", "Name": "x"}) + state_line(1)
    config = destination_config(org, "collections")
    result = run(DESTINATION, "write", config=config, catalog=catalog, stdin=stdin, org=org)
    assert_refused(result, "destination_object_name")
    assert not reached_other_objects(endpoints(org), set()), endpoints(org)


HOSTILE_VALUES = [
    "F' OR Name != '",
    "F\\' OR Name != null OR Name = \\'",
    "F/../Account",
    "F?q=SELECT Id FROM Account",
    "F%2F..%2FAccount",
    "F\nOR Id != null",
    'F" OR "1"="1',
]


def live_rows(org, prefix: str) -> dict[str, dict[str, Any]]:
    return {
        r["External_Id__c"]: r
        for r in org.admin.records("X__c")
        if str(r.get("External_Id__c") or "").startswith(prefix) and not r.get("IsDeleted")
    }


def test_destination_filter_compares_hostile_values_literally(org) -> None:
    wanted = HOSTILE_VALUES[0]
    config = destination_config(
        org,
        "collections",
        filter=[
            {"field": "Name", "operator": "=", "value": wanted},
            {"field": "Name' OR Id != null", "operator": "is_null"},
        ],
    )
    rows = [{"External_Id__c": f"FL-{i}", "Name": value} for i, value in enumerate(HOSTILE_VALUES)]
    rows.append({"External_Id__c": "FL-plain", "Name": "plain"})
    stdin = "".join(record_line(r) for r in rows) + state_line(len(rows))
    result = run(DESTINATION, "write", config=config, catalog=destination_catalog("append_dedup"), stdin=stdin, org=org)
    assert result.returncode == 0, result.describe()
    assert {k: r["Name"] for k, r in live_rows(org, "FL-").items()} == {"FL-0": wanted}
    TALLY["injection strings kept out of a query"] += len(HOSTILE_VALUES)


def test_destination_external_id_values_are_quoted_in_urls_and_queries(org) -> None:
    keys = [f"EX-{i}-{value}" for i, value in enumerate(HOSTILE_VALUES)]
    upsert = destination_config(org, "collections")
    stdin = "".join(record_line({"External_Id__c": k, "Name": f"n{i}"}) for i, k in enumerate(keys)) + state_line(9)
    result = run(DESTINATION, "write", config=upsert, catalog=destination_catalog("append_dedup"), stdin=stdin, org=org)
    assert result.returncode == 0, result.describe()
    assert set(live_rows(org, "EX-")) == set(keys), "hostile external ids were not stored byte-exact"

    # Update then delete by external id: each key is looked up by a SOQL query with the key as a literal. A key
    # that is not there, however it is written, must match nothing.
    victim, absent = keys[0], "EX-none' OR External_Id__c != null OR External_Id__c = '"
    update = destination_config(org, "collections", operation="update")
    stdin = "".join(record_line({"External_Id__c": k, "Name": "updated"}) for k in (victim, absent)) + state_line(2)
    result = run(DESTINATION, "write", config=update, catalog=destination_catalog("append"), stdin=stdin, org=org)
    assert result.returncode == 0, result.describe()
    assert result.states[-1]["destinationStats"]["rejectedRecordCount"] == 1
    names = {k: r["Name"] for k, r in live_rows(org, "EX-").items()}
    assert [k for k, name in names.items() if name == "updated"] == [victim]

    delete = destination_config(org, "collections", operation="delete")
    stdin = "".join(record_line({"External_Id__c": k}) for k in (keys[3], absent)) + state_line(2)
    result = run(DESTINATION, "write", config=delete, catalog=destination_catalog("append"), stdin=stdin, org=org)
    assert result.returncode == 0, result.describe()
    assert set(live_rows(org, "EX-")) == set(keys) - {keys[3]}, "a hostile key deleted more (or less) than itself"
    TALLY["injection strings kept out of a query"] += len(keys) + 1

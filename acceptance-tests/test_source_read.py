"""discover and read of the installed source: schemas, expected records, statuses, full refresh and incremental."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any

import pytest
import requests
from acceptance_configs import SOURCE_DIR, load_json
from airbyte_cdk.utils.datetime_helpers import ab_datetime_try_parse
from jsonschema import Draft7Validator, FormatChecker
from runner import configured_catalog

SEEDED_STREAMS = {"Account", "Case", "Contact", "Group", "Lead", "Opportunity", "User", "X__c"}
EXPECTED_RECORDS = SOURCE_DIR / "integration_tests" / "expected_records.jsonl"
EXPECTED_STREAMS = ("Account", "User", "X__c")
RFC3339_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
RFC3339_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})")


def record_format_checker() -> FormatChecker:
    """Draft 7 formats, date-time and time as RFC 3339 requires (Salesforce's own `+0000` offsets are not)."""
    checker = FormatChecker(formats=())
    checker.checkers = dict(Draft7Validator.FORMAT_CHECKER.checkers)
    checker.checks("date-time")(
        lambda value: (
            not isinstance(value, str)
            or (bool(RFC3339_DATETIME.fullmatch(value)) and ab_datetime_try_parse(value) is not None)
        )
    )
    checker.checks("time")(lambda value: not isinstance(value, str) or bool(RFC3339_TIME.fullmatch(value)))
    return checker


def test_record_format_checker_rejects_bad_values() -> None:
    checker = record_format_checker()
    assert checker.conforms("08:57:00.000Z", "time") and not checker.conforms("8:57", "time")
    assert checker.conforms("2021-12-08T03:12:57.000Z", "date-time")
    assert not checker.conforms("2021-12-08T03:12:57.000+0000", "date-time")
    assert not checker.conforms("yesterday", "date-time") and not checker.conforms("2021-13-45", "date")


@pytest.fixture(scope="module")
def streams(source, source_config) -> list[dict[str, Any]]:
    return source.run("discover", config=source_config).ok().catalog["streams"]


@pytest.fixture(scope="module")
def full_read(source, source_config, streams):
    catalog = configured_catalog(streams, sorted(s["name"] for s in streams), "full_refresh")
    return source.run("read", config=source_config, catalog=catalog).ok()


def test_discover_offers_the_seeded_objects_with_valid_schemas(streams) -> None:
    names = [s["name"] for s in streams]
    assert len(names) == len(set(names)), Counter(names).most_common(3)
    assert set(names) == SEEDED_STREAMS
    for stream in streams:
        schema = stream["json_schema"]
        Draft7Validator.check_schema(schema)
        properties = schema["properties"]
        assert stream["supported_sync_modes"] == ["full_refresh", "incremental"]
        assert stream["source_defined_primary_key"] == [["Id"]]
        for key in stream["source_defined_primary_key"]:
            assert key[0] in properties and "object" not in json.dumps(properties[key[0]]["type"])
        assert stream["default_cursor_field"] == ["SystemModstamp"]
        assert stream["default_cursor_field"][0] in properties
        assert "$ref" not in json.dumps(schema) and "allOf" not in json.dumps(schema)


def test_basic_read_records_match_their_schemas(full_read, streams) -> None:
    checker = record_format_checker()
    validators = {s["name"]: Draft7Validator(s["json_schema"], format_checker=checker) for s in streams}
    counts = Counter(m["record"]["stream"] for m in full_read.of_type("RECORD"))
    assert set(counts) == SEEDED_STREAMS, f"every stream returns records: {counts}"
    for message in full_read.of_type("RECORD"):
        record = message["record"]
        errors = [e.message for e in validators[record["stream"]].iter_errors(record["data"])]
        assert not errors, f"{record['stream']} {record['data'].get('Id')}: {errors[:3]}"
        assert record["data"]["Id"], "primary key values are set"
        assert set(record["data"]) <= set(validators[record["stream"]].schema["properties"])


def test_basic_read_stream_statuses_in_order(full_read) -> None:
    for name in SEEDED_STREAMS:
        statuses = full_read.statuses(name)
        assert statuses[0] == "STARTED" and statuses[-1] == "COMPLETE", statuses
        assert set(statuses[1:-1]) <= {"RUNNING"}, statuses
        assert "RUNNING" in statuses


def test_basic_read_state_messages(full_read) -> None:
    for state in full_read.states:
        assert state["type"] == "STREAM", "legacy or global state is not emitted"
        assert "sourceStats" in state
    assert {s["stream"]["stream_descriptor"]["name"] for s in full_read.states} == SEEDED_STREAMS


def test_expected_records_match_exactly(full_read, update_expected: bool) -> None:
    got = sorted(
        (json.dumps({"stream": m["record"]["stream"], "data": m["record"]["data"]}, sort_keys=True))
        for m in full_read.of_type("RECORD")
        if m["record"]["stream"] in EXPECTED_STREAMS
    )
    if update_expected:
        EXPECTED_RECORDS.write_text("\n".join(got) + "\n")
    expected = sorted(
        json.dumps(json.loads(line), sort_keys=True) for line in EXPECTED_RECORDS.read_text().split("\n") if line
    )
    assert len(got) == len(expected)
    assert got == expected


def test_full_refresh_twice_gives_the_same_records(source, source_config, streams, full_read) -> None:
    catalog = configured_catalog(streams, ["Account", "X__c"], "full_refresh")
    again = source.run("read", config=source_config, catalog=catalog).ok()
    for name in ("Account", "X__c"):
        first = sorted(full_read.records(name), key=lambda r: r["Id"])
        assert first and first == sorted(again.records(name), key=lambda r: r["Id"])


# -- incremental (each test its own org, as they change data) ---------------------------------------------------


@pytest.fixture
def org_config(fresh_org, source_config) -> dict[str, Any]:
    from acceptance_configs import pointed_at

    return pointed_at(source_config, fresh_org)


def incremental(source, config: dict[str, Any], names: list[str]) -> dict[str, Any]:
    streams = source.run("discover", config=config).ok().catalog["streams"]
    return configured_catalog(streams, names, "incremental")


def update(org, sobject: str, record_id: str, values: dict[str, Any]) -> None:
    response = requests.patch(
        f"{org.url}/services/data/v62.0/sobjects/{sobject}/{record_id}",
        json=values,
        headers={"Authorization": f"Bearer {org.access_token()}"},
        timeout=30,
    )
    assert response.status_code == 204, response.text


def test_incremental_second_read_returns_only_changes(source, fresh_org, org_config) -> None:
    catalog = incremental(source, org_config, ["Account", "X__c"])
    first = source.run("read", config=org_config, catalog=catalog).ok()
    accounts = first.records("Account")
    assert accounts and first.records("X__c")
    changed = sorted(r["Id"] for r in accounts[:2])
    for record_id in changed:
        update(fresh_org, "Account", record_id, {"Name": f"Changed {record_id}"})
    state = [first.final_state("Account"), first.final_state("X__c")]
    # Salesforce stamps whole seconds and a read ends at the org's current second (its Date header): a read starting
    # in the second of the changes would leave them to the next sync, so this one starts after it.
    time.sleep(2.1)
    second = source.run("read", config=org_config, catalog=catalog, state=state).ok()
    assert sorted(r["Id"] for r in second.records("Account")) == changed
    assert {r["Name"] for r in second.records("Account")} == {f"Changed {i}" for i in changed}
    assert second.records("X__c") == []
    assert second.final_state("X__c"), "a stream without changes still emits its state"


def test_incremental_reread_from_every_state_returns_the_records_after_it(source, fresh_org, org_config) -> None:
    fresh_org.admin.configure(rest_page_size=4)  # several checkpoints in a small org
    catalog = incremental(source, org_config, ["Contact"])
    full = source.run("read", config=org_config, catalog=catalog).ok()
    delivered: list[str] = []
    checkpoints = 0
    all_ids = [r["Id"] for r in full.records("Contact")]
    for message in full.messages:
        if message["type"] == "RECORD":
            delivered.append(message["record"]["data"]["Id"])
        elif message["type"] == "STATE":
            resumed = source.run("read", config=org_config, catalog=catalog, state=[message["state"]]).ok()
            after = set(all_ids) - set(delivered)
            assert after <= {r["Id"] for r in resumed.records("Contact")}
            checkpoints += 1
    assert checkpoints >= 3


def test_incremental_future_state_returns_nothing_and_still_a_state(source, source_config, streams) -> None:
    catalog = configured_catalog(streams, ["Account", "X__c"], "incremental")
    future = load_json(SOURCE_DIR / "integration_tests" / "future_state.json")
    run = source.run("read", config=source_config, catalog=catalog, state=future).ok()
    assert run.records() == []
    assert {s["stream"]["stream_descriptor"]["name"] for s in run.states} == {"Account", "X__c"}

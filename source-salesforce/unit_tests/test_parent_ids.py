"""parent_external_ids: records carry their parents' external ids, read by relationship query, the same from REST and
Bulk; discover offers the property; a setting that cannot be followed is a config error naming it."""

from __future__ import annotations

import json
import logging

import orjson
import pytest
from airbyte_cdk.models import AirbyteMessageSerializer, SyncMode, Type
from airbyte_cdk.test.entrypoint_wrapper import discover
from salesforce_api import RestClient, connect
from source_salesforce import SourceSalesforce
from source_salesforce.config import parse_config
from source_salesforce.entrypoint import SourceEntrypoint

FOLLOW_X = [{"object": "X__c", "fields": ["Account__c"]}]


@pytest.fixture
def org(emulator_factory):
    """Accounts with a unique External_Id__c, one without a value in it, and X__c records pointing at them (about
    one in ten without an Account)."""
    org = emulator_factory(seed="empty", records=0)
    org.admin.add_field("Account", "External_Id__c", "string", external_id=True, unique=True)
    org.admin.generate("Account", 8)
    rest = RestClient(connect(org.credentials(), api_version="62.0"))
    bare = rest.insert_one("Account", {"Name": "No external id"}).id
    org.admin.generate("X__c", 40)
    x = org.admin.records("X__c")
    rest.update_one("X__c", x[0]["Id"], {"Account__c": bare})
    rest.update_one("X__c", x[1]["Id"], {"Account__c": None})
    return org


def account_keys(org) -> dict[str, str | None]:
    return {r["Id"]: r.get("External_Id__c") for r in org.admin.records("Account")}


@pytest.mark.parametrize("sync_mode", [SyncMode.full_refresh, SyncMode.incremental])
def test_rest_and_bulk_carry_the_parent_external_id_in_the_same_nested_shape(sf, org, sync_mode):
    config = sf.config(org, parent_external_ids=FOLLOW_X)
    streams = sf.discover(config)
    next(s for s in streams if s.name == "X__c").json_schema["properties"].pop("Attachment__c")  # not in Bulk
    catalog = sf.configured_catalog(streams, ["X__c"], sync_mode)
    sf.let_org_clock_pass_changes()  # an incremental read ends at the start of the org's current second
    rest = sf.read(sf.config(org, force_api="rest", parent_external_ids=FOLLOW_X), catalog)
    bulk = sf.read(sf.config(org, force_api="bulk", parent_external_ids=FOLLOW_X), catalog)
    rest_records = {r["Id"]: r for r in sf.records(rest)}
    assert rest_records == {r["Id"]: r for r in sf.records(bulk)}
    assert len(rest_records) == 40
    keys = account_keys(org)
    shapes = {"nested": 0, "null": 0}
    for record in rest_records.values():
        expected = keys.get(record.get("Account__c"))
        if expected is None:  # no Account, or one without an external id value (null; the CDK's serialiser drops it)
            assert record.get("Account__r") is None
            shapes["null"] += 1
        else:
            assert record["Account__r"] == {"External_Id__c": expected}
            shapes["nested"] += 1
        assert "Account__r.External_Id__c" not in record
    assert shapes["nested"] >= 30 and shapes["null"] >= 2


def test_bulk_csv_rows_shaped_in_worker_processes_match_rest(sf, org, monkeypatch):
    """Bulk CSV is shaped in worker processes for large results: the same nested records."""
    monkeypatch.setattr("source_salesforce.source.worker_count", lambda: 2)
    monkeypatch.setattr("source_salesforce.record_output.PARALLEL_MIN_RECORDS", 0)
    config = sf.config(org, parent_external_ids=FOLLOW_X)
    streams = sf.discover(config)
    next(s for s in streams if s.name == "X__c").json_schema["properties"].pop("Attachment__c")
    catalog = sf.configured_catalog(streams, ["X__c"], SyncMode.full_refresh)
    rest = {r["Id"]: r for r in sf.records(sf.read({**config, "force_api": "rest"}, catalog))}
    source = SourceSalesforce()
    source.record_blocks = True  # as the console entrypoint: Bulk results go to the page workers
    blocks = list(source.read(logging.getLogger("airbyte"), {**config, "force_api": "bulk"}, catalog))
    lines = b"".join(m.lines for m in blocks if getattr(m, "lines", None))
    bulk = {m["record"]["data"]["Id"]: m["record"]["data"] for m in map(orjson.loads, lines.splitlines())}
    assert {i: {k: v for k, v in r.items() if v is not None} for i, r in bulk.items()} == rest and len(bulk) == 40
    assert sum(r["Account__r"] is None for r in bulk.values()) >= 2  # record blocks keep the nulls


def test_discover_adds_the_relationship_property_only_with_the_setting(sf, org):
    plain = {s.name: s for s in sf.discover(sf.config(org))}
    assert "Account__r" not in plain["X__c"].json_schema["properties"]
    followed = {s.name: s for s in sf.discover(sf.config(org, parent_external_ids=FOLLOW_X))}
    assert followed["X__c"].json_schema["properties"]["Account__r"] == {
        "type": ["object", "null"],
        "properties": {"External_Id__c": {"type": ["string", "null"]}},
    }
    assert "Account__r" not in followed["Account"].json_schema["properties"]


def test_a_wildcard_follows_every_reference_whose_parent_has_a_unique_external_id(sf, org, caplog):
    config = sf.config(org, parent_external_ids=[{"object": "*", "fields": ["*"]}])
    with caplog.at_level(logging.INFO, logger="airbyte"):
        streams = {s.name: s for s in sf.discover(config)}
    assert "Account__r" in streams["X__c"].json_schema["properties"]
    assert "Parent" in streams["Account"].json_schema["properties"]  # Account.ParentId -> Account
    assert "Owner" not in streams["X__c"].json_schema["properties"]  # User has no unique external id
    assert any("references not followed" in m and "X__c.OwnerId" in m for m in caplog.messages)


def test_a_number_external_id_is_typed_alike_from_rest_and_bulk(sf, org):
    """A parent external id of a number type: REST's JSON number and Bulk's CSV text give the same value."""
    org.admin.remove_field("Account", "External_Id__c")
    org.admin.add_field("Account", "Number_Key__c", "double", external_id=True, unique=True)
    rest = RestClient(connect(org.credentials(), api_version="62.0"))
    for n, account in enumerate(org.admin.records("Account"), start=1):
        rest.update_one("Account", account["Id"], {"Number_Key__c": n})
    config = sf.config(org, parent_external_ids=FOLLOW_X)
    streams = sf.discover(config)
    x_stream = next(s for s in streams if s.name == "X__c")
    assert x_stream.json_schema["properties"]["Account__r"]["properties"] == {
        "Number_Key__c": {"type": ["number", "null"]}
    }
    x_stream.json_schema["properties"] = {"Id": {}, "Account__c": {}, "Account__r": {}}
    catalog = sf.configured_catalog(streams, ["X__c"], SyncMode.full_refresh)
    from_rest = sf.records(sf.read({**config, "force_api": "rest"}, catalog))
    from_bulk = sf.records(sf.read({**config, "force_api": "bulk"}, catalog))
    assert sorted(from_rest, key=lambda r: r["Id"]) == sorted(from_bulk, key=lambda r: r["Id"])
    values = [r["Account__r"]["Number_Key__c"] for r in from_bulk if r.get("Account__r")]
    assert values and all(type(v) is float for v in values)


def test_several_unique_external_ids_pick_the_first_by_name_and_say_so(sf, org, caplog):
    org.admin.add_field("Account", "A_Key__c", "string", external_id=True, unique=True)
    org.admin.add_field("Account", "Loose_Key__c", "string", external_id=True)  # not unique: never picked
    with caplog.at_level(logging.INFO, logger="airbyte"):
        streams = sf.discover(sf.config(org, parent_external_ids=FOLLOW_X))
    x_stream = next(s for s in streams if s.name == "X__c")
    assert set(x_stream.json_schema["properties"]["Account__r"]["properties"]) == {"A_Key__c"}
    assert any("Account has several unique external ids (A_Key__c, External_Id__c)" in m for m in caplog.messages)


@pytest.mark.parametrize(
    ("setting", "named", "fragment"),
    [
        ([{"object": "Nope__c", "fields": ["Account__c"]}], "parent_external_ids[0].object", "Nope__c"),
        ([{"object": "X__c", "fields": ["Nope__c"]}], "parent_external_ids[0].fields", "not a field of X__c"),
        ([{"object": "X__c", "fields": ["Account__r"]}], "parent_external_ids[0].fields", "name the reference field"),
        ([{"object": "X__c", "fields": ["Text__c"]}], "parent_external_ids[0].fields", "not a reference"),
        ([{"object": "X__c", "fields": ["OwnerId"]}], "parent_external_ids[0]", "User has no unique external id"),
        ([{"object": "Lead", "fields": ["OwnerId"]}], "parent_external_ids[0].fields", "several objects"),
        ([{"object": "*", "fields": ["Nope__c"]}], "parent_external_ids[0].fields", "no object"),
    ],
)
def test_a_setting_that_cannot_be_followed_is_a_config_error_naming_it(sf, org, setting, named, fragment, tmp_path):
    config = sf.config(org, parent_external_ids=setting)
    output = discover(SourceSalesforce(), config, expecting_exception=True)
    errors = [m.trace.error for m in output.errors]
    assert errors and errors[0].failure_type.value == "config_error"
    message = errors[0].message
    assert f"'{named}" in message and fragment in message, message
    if "*" not in str(setting):  # check names the same problem, without describing the whole org
        (tmp_path / "config.json").write_text(json.dumps(config))
        entrypoint = SourceEntrypoint(SourceSalesforce())
        lines = entrypoint.run(entrypoint.parse_args(["check", "--config", str(tmp_path / "config.json")]))
        messages = [AirbyteMessageSerializer.load(json.loads(line)) for line in lines]
        status = next(m.connectionStatus for m in messages if m.type == Type.CONNECTION_STATUS)
        assert status.status.value == "FAILED" and f"'{named}" in status.message, status.message


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"object": "X__c"}, "parent_external_ids'"),
        ([{"object": "X__c", "fields": []}], "parent_external_ids[0].fields"),
        ([{"object": "X__c", "fields": ["Account__c", "*"]}], "parent_external_ids[0].fields"),
        ([{"object": "X__c; DROP", "fields": ["Account__c"]}], "parent_external_ids[0].object"),
        ([{"object": "X__c", "fields": ["Account__r.Name"]}], "parent_external_ids[0].fields"),
        ([{"object": "X__c", "field": ["Account__c"]}], "parent_external_ids[0]"),
    ],
)
def test_a_malformed_setting_is_refused_naming_it(setting, named):
    from salesforce_api.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_config({"credentials": {}, "parent_external_ids": setting})
    assert f"'{named}" in str(raised.value)


def test_a_catalog_without_the_relationship_reads_without_it_and_says_so(sf, org):
    """A catalog discovered before the setting was on: no parent external ids, and a warning to refresh it."""
    streams = sf.discover(sf.config(org))
    catalog = sf.configured_catalog(streams, ["X__c"], SyncMode.full_refresh)
    output = sf.read(sf.config(org, force_api="rest", parent_external_ids=FOLLOW_X), catalog)
    assert all("Account__r" not in r for r in sf.records(output))
    assert output.is_in_logs("the catalog does not select Account__r, which parent_external_ids adds")
    assert not output.is_in_logs("no longer in Salesforce")

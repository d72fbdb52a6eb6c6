"""Org to org with lookups: the installed source reads Account and X__c from org A with parent_external_ids, the
installed destination upserts them into org B, and every X__c in org B points at org B's Account with the same
external id as its Account in org A."""

from __future__ import annotations

import json

import pytest
from runner import configured_catalog
from salesforce_api import RestClient, connect

KEY = "External_Id__c"


@pytest.mark.parametrize("force_api", ["rest", "bulk"])
def test_a_copy_between_orgs_keeps_every_lookup(source, destination, emulator_factory, force_api) -> None:
    org_a, org_b = emulator_factory(seed="empty", records=0), emulator_factory(seed="empty", records=0)
    for org in (org_a, org_b):
        org.admin.add_field("Account", KEY, "string", external_id=True, unique=True)
    org_a.admin.generate("Account", 20)
    org_a.admin.generate("X__c", 60)
    # Org B holds Accounts of its own: its copies of org A's Accounts get other Ids than in org A, so an X__c that
    # kept org A's Account Id would point at the wrong Account (two emulated orgs number their records alike).
    rest_b = RestClient(connect(org_b.credentials(), api_version="62.0"))
    rest_b.create("Account", [{"Name": f"Own {n}", KEY: f"B-{n}"} for n in range(3)])

    source_config = {
        "credentials": org_a.credentials(),
        "streams": ["Account", "X__c"],
        "force_api": force_api,
        "parent_external_ids": [{"object": "X__c", "fields": ["Account__c"]}],
    }
    streams = source.run("discover", config=source_config).ok().catalog["streams"]
    x_stream = next(s for s in streams if s["name"] == "X__c")
    assert "Account__r" in x_stream["json_schema"]["properties"]
    if force_api == "bulk":  # Bulk cannot read base64 fields: the stream would be read through REST
        x_stream["json_schema"]["properties"].pop("Attachment__c")
    catalog = configured_catalog(streams, ["Account", "X__c"], "full_refresh", "append_dedup")
    read = source.run("read", config=source_config, catalog=catalog).ok()
    api = {"rest": "REST", "bulk": "Bulk API 2.0"}[force_api]
    logs = [m["log"]["message"] for m in read.of_type("LOG")]
    assert f"X__c: reading through {api} (force_api: {force_api})" in logs
    x_records = read.records("X__c")
    assert len(x_records) == 60 and sum(r["Account__r"] is not None for r in x_records) > 40
    assert all(r["Account__r"] is None or set(r["Account__r"]) == {KEY} for r in x_records)

    stdin = "".join(json.dumps(m) + "\n" for m in read.messages if m["type"] in ("RECORD", "STATE"))
    destination_config = {"credentials": org_b.credentials("client_credentials"), "external_id_field": KEY}
    destination.run("write", config=destination_config, catalog=catalog, stdin=stdin).ok()

    keys_a = {r["Id"]: r[KEY] for r in org_a.admin.records("Account")}
    keys_b = {r["Id"]: r[KEY] for r in org_b.admin.records("Account")}
    x_b = {r[KEY]: r for r in org_b.admin.records("X__c")}
    assert len(x_b) == 60
    linked = 0
    for record in org_a.admin.records("X__c"):
        copied = x_b[record[KEY]]
        if record["Account__c"] is None:
            assert copied["Account__c"] is None
            continue
        assert copied["Account__c"] in keys_b, f"{record[KEY]}: Account__c {copied['Account__c']} is no Account of B"
        assert keys_b[copied["Account__c"]] == keys_a[record["Account__c"]]
        assert copied["Account__c"] != record["Account__c"]  # resolved in org B, not org A's Id
        linked += 1
    assert linked > 40

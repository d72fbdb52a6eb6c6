"""Inputs as real pipelines send them: lower-cased column names with _airbyte_* columns (PyAirbyte, warehouse
caches), data activation catalogs (object, sync mode and matching key per stream), several streams writing several
objects; and every path where records would not be written either fails with the setting to fix or is logged."""

import logging

import pytest
from airbyte_cdk.models import Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce.mapping import RecordMapper
from salesforce_api.errors import ConfigError

AIRBYTE_COLUMNS = {"_airbyte_raw_id": "0b3c", "_airbyte_extracted_at": "2024-06-10T00:00:00Z", "_airbyte_meta": {}}


def by_key(org, h, sobject="X__c", key="External_Id__c") -> dict:
    return {r[key]: r for r in h.live(org, sobject) if r.get(key)}


def bare_config(org, **settings) -> dict:
    """A config as data activation needs it: credentials only, the catalog says the rest."""
    return {"credentials": org.credentials("username_password"), **settings}


# -- field names ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_lower_cased_columns_land_and_airbyte_columns_are_ignored(emulator, h, caplog, api) -> None:
    rows = [
        {
            "external_id__c": f"P-{i}",
            "name": f"Row {i}",
            "text__c": f"t{i}",
            "integer__c": i,
            "junk": 1,
            **AIRBYTE_COLUMNS,
        }
        for i in range(5)
    ]
    cfg = h.config(emulator, external_id_field="External_Id__c", api=api)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        out = h.write(cfg, h.catalog(h.stream("s", "append_dedup")), [*(h.record("s", r) for r in rows), h.state("s")])
    assert out[0].state.destinationStats.rejectedRecordCount == 0.0
    landed = by_key(emulator, h)
    assert {k: (r["Name"], r["Text__c"], r["Integer__c"]) for k, r in landed.items() if k.startswith("P-")} == {
        f"P-{i}": (f"Row {i}", f"t{i}", i) for i in range(5)
    }
    (unmapped,) = [r.getMessage() for r in caplog.records if "map to no field" in r.getMessage()]
    assert unmapped.endswith("not written: junk")  # one line for the stream; _airbyte_* columns are not data


def test_an_exact_name_wins_over_a_case_insensitive_one() -> None:
    mapper = RecordMapper((), {"Text__c": "string", "Name": "string"})
    assert mapper.map({"text__c": "folded", "Text__c": "exact"}) == {"Text__c": "exact"}
    assert mapper.map({"Text__c": "exact", "TEXT__C": "folded", "name": "n"}) == {"Text__c": "exact", "Name": "n"}
    assert mapper.unmapped == set()


def test_column_mapping_sources_match_lower_cased_columns(emulator, h) -> None:
    cfg = h.config(
        emulator, external_id_field="External_Id__c",
        column_mapping=[{"source": "Code", "target": "External_Id__c"}, {"source": "Label", "target": "Text__c"}],
    )  # fmt: skip
    h.write(cfg, h.catalog(h.stream("s")), [h.record("s", {"code": "M-1", "label": "mapped"}), h.state("s")])
    assert by_key(emulator, h)["M-1"]["Text__c"] == "mapped"


# -- data activation catalogs ----------------------------------------------------------------------------------------


def test_data_activation_catalogs_work_for_every_mode_discover_offers(emulator, h) -> None:
    """Each mode and matching key that discover offers for X__c, sent back as data activation sends them."""
    operations = h.DestinationSalesforce().discover_operations(bare_config(emulator)).operations
    offered = {
        (o.sync_mode.value, tuple(k[0] for k in o.matching_keys or [])) for o in operations if o.object_name == "X__c"
    }
    assert offered == {
        ("append", ()),
        ("append_dedup", ("External_Id__c",)),
        ("update", ("Id", "External_Id__c")),
        ("soft_delete", ("Id", "External_Id__c")),
    }
    cfg = bare_config(emulator)

    def run(mode, key, rows):
        pk = [[key]] if key else None
        return h.write(
            cfg, h.catalog(h.stream("s", mode, "X__c", pk)), [*(h.record("s", r) for r in rows), h.state("s")]
        )

    run("append", None, [{"External_Id__c": "D-1", "Text__c": "inserted"}, {"External_Id__c": "D-2"}])
    run("append_dedup", "External_Id__c", [{"External_Id__c": "D-1", "Text__c": "upserted"}, {"External_Id__c": "D-3"}])
    assert by_key(emulator, h)["D-1"]["Text__c"] == "upserted" and "D-3" in by_key(emulator, h)
    run("update", "External_Id__c", [{"External_Id__c": "D-2", "Text__c": "updated by key"}])
    d3 = by_key(emulator, h)["D-3"]["Id"]
    run("update", "Id", [{"Id": d3, "Text__c": "updated by Id"}])
    landed = by_key(emulator, h)
    assert (landed["D-2"]["Text__c"], landed["D-3"]["Text__c"]) == ("updated by key", "updated by Id")
    out = run("soft_delete", "External_Id__c", [{"External_Id__c": "D-1"}])
    run("soft_delete", "Id", [{"Id": d3}])
    assert out[0].state.destinationStats.rejectedRecordCount == 0.0
    assert {"D-1", "D-3"}.isdisjoint(by_key(emulator, h)) and "D-2" in by_key(emulator, h)


def test_a_lower_cased_primary_key_matches_its_field(emulator, h) -> None:
    stream = h.stream("s", "append_dedup", "X__c", [["external_id__c"]])
    h.write(bare_config(emulator), h.catalog(stream), [h.record("s", {"external_id__c": "L-1", "text__c": "x"})])
    assert by_key(emulator, h)["L-1"]["Text__c"] == "x"


def test_the_config_key_wins_over_the_catalog_primary_key(emulator, h, caplog) -> None:
    """A source's own primary key (Id of the first org) must not become the matching key when the config names one."""
    stream = h.stream("s", "append_dedup", None, [["Id"]])
    cfg = h.config(emulator, external_id_field="External_Id__c")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        h.write(cfg, h.catalog(stream), [h.record("s", {"Id": "a0X000000000001AAA", "External_Id__c": "K-1"})])
    assert "K-1" in by_key(emulator, h)
    assert any("matching on External_Id__c (external_id_field)" in r.getMessage() for r in caplog.records)


def test_a_stream_named_after_an_object_writes_it(emulator, h) -> None:
    h.write(bare_config(emulator), h.catalog(h.stream("x__c")), [h.record("x__c", {"External_Id__c": "N-1"})])
    assert "N-1" in by_key(emulator, h)


def test_without_any_object_the_error_says_where_to_set_one(emulator, h) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(bare_config(emulator), h.catalog(h.stream("people")), [h.record("people", {"Name": "x"})])
    assert "destination_object_name" in raised.value.message and "'object'" in raised.value.message


def test_two_streams_write_two_objects_each_with_its_own_settings(emulator, h) -> None:
    cfg = bare_config(
        emulator,
        streams=[
            {"name": "rows", "object": "X__c", "external_id_field": "External_Id__c",
             "filter": [{"field": "keep", "operator": "=", "value": True}]},
            {"name": "people", "object": "Contact", "operation": "insert",
             "column_mapping": [{"source": "surname", "target": "LastName"}]},
        ],
    )  # fmt: skip
    messages = [
        h.record("rows", {"External_Id__c": "S-1", "keep": True}),
        h.record("rows", {"External_Id__c": "S-2", "keep": False}),
        h.record("people", {"surname": "Lovelace", "External_Id__c": "not a Contact field"}),
        h.state("rows"),
        h.state("people"),
    ]
    out = h.write(cfg, h.catalog(h.stream("rows", "append"), h.stream("people")), messages)
    assert [m.state.destinationStats.rejectedRecordCount for m in out] == [0.0, 0.0]
    assert {"S-1"} == {k for k in by_key(emulator, h) if k.startswith("S-")}
    assert "Lovelace" in {r["LastName"] for r in h.live(emulator, "Contact")}


def test_a_bad_key_on_a_second_stream_names_that_streams_setting(emulator, h) -> None:
    cfg = bare_config(emulator, streams=[{"name": "b", "object": "Contact", "external_id_field": "Email"}])
    configured = h.catalog(h.stream("a", "append_dedup", "X__c", [["External_Id__c"]]), h.stream("b", "append_dedup"))
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(cfg, configured, [])
    assert "streams[b].external_id_field Email of Contact is not an External ID field" in raised.value.message
    assert "column_mapping" not in raised.value.message


def test_a_streams_entry_for_no_stream_is_refused(emulator, h) -> None:
    cfg = h.config(emulator, streams=[{"name": "row", "operation": "insert"}])
    with pytest.raises(AirbyteTracedException, match="Did you mean 'rows'"):
        h.write(cfg, h.catalog(h.stream("rows")), [])


def test_discover_offers_only_keys_that_identify_one_record(emulator, h) -> None:
    operations = h.DestinationSalesforce().discover_operations(bare_config(emulator)).operations
    keys = {k[0] for o in operations if o.object_name == "X__c" for k in o.matching_keys or []}
    assert keys == {"Id", "External_Id__c"}  # Secondary_Key__c is an external id, but not unique


# -- no silent loss ---------------------------------------------------------------------------------------------------


def test_records_that_match_no_field_stop_the_sync_at_the_first_record(emulator, h) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(h.config(emulator), h.catalog(h.stream("s")), [h.record("s", {"colour": "red", "size": 3})])
    assert raised.value.failure_type.value == "config_error"
    assert "colour, size" in raised.value.message and "column_mapping" in raised.value.message
    assert not h.live(emulator, "X__c") or all(r.get("Name") != "red" for r in h.live(emulator, "X__c"))


def test_a_stream_whose_every_record_is_rejected_fails_the_sync(emulator, h) -> None:
    rows = [h.record("s", {"External_Id__c": f"R-{i}", "Text__c": "z" * 101}) for i in range(5)]
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(h.config(emulator, external_id_field="External_Id__c"), h.catalog(h.stream("s")), [*rows, h.state("s")])
    assert "Every record of stream s (5) was rejected" in raised.value.message
    assert "STRING_TOO_LONG" in raised.value.message


def test_every_record_rejected_is_accepted_when_the_ratio_is_set(emulator, h) -> None:
    rows = [h.record("s", {"External_Id__c": f"R-{i}", "Text__c": "z" * 101}) for i in range(3)]
    cfg = h.config(emulator, external_id_field="External_Id__c", max_rejected_ratio=1)
    out = h.write(cfg, h.catalog(h.stream("s")), [*rows, h.state("s")])
    assert out[0].state.destinationStats.rejectedRecordCount == 3.0


def test_more_than_half_rejected_after_a_thousand_fails_by_default(emulator, h) -> None:
    def rows():
        for i in range(1200):
            yield h.record("s", {"External_Id__c": f"H-{i}", "Text__c": "z" * 101 if i % 3 else "ok"})

    cfg = h.config(emulator, external_id_field="External_Id__c", api="collections", batch_size=200)
    with pytest.raises(AirbyteTracedException, match="records rejected, more than half"):
        h.write(cfg, h.catalog(h.stream("s")), rows())


def test_bulk_with_auto_assign_and_no_rule_names_assignment_rule_id(emulator, h) -> None:
    cfg = h.config(emulator, object="Lead", api="bulk", auto_assign=True)
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(cfg, h.catalog(h.stream("s")), [])
    assert "assignment_rule_id" in raised.value.message and "column_mapping" not in raised.value.message


def test_a_filter_on_a_field_the_stream_lacks_is_a_config_error(emulator, h) -> None:
    cfg = h.config(emulator, filter=[{"field": "Statuss", "operator": "=", "value": "x"}])
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(cfg, h.catalog(h.stream("s", fields=["Status", "Name"])), [])
    assert "filter on 'Statuss': stream s has no field Statuss" in raised.value.message


def test_a_filter_matches_lower_cased_columns_of_a_schema_spelt_otherwise(emulator, h) -> None:
    """PyAirbyte sends the source's schema (External_Id__c, Status) with the cache's lower-cased columns."""
    cfg = h.config(emulator, filter=[{"field": "Status", "operator": "=", "value": "go"}])
    rows = [{"status": "go", "external_id__c": "LF-1"}, {"status": "stop", "external_id__c": "LF-2"}]
    h.write(cfg, h.catalog(h.stream("s", fields=["Status", "External_Id__c"])), [h.record("s", r) for r in rows])
    assert {"LF-1"} == {k for k in by_key(emulator, h) if k.startswith("LF-")}


def test_filtered_records_and_streams_not_in_the_catalog_are_counted_and_logged(emulator, h, caplog) -> None:
    cfg = h.config(emulator, filter=[{"field": "status", "operator": "=", "value": "go"}])
    messages = [
        h.record("s", {"Status": "go", "External_Id__c": "F-1"}),
        h.record("s", {"Status": "stop", "External_Id__c": "F-2"}),
        h.record("s", {"Status": "stop", "External_Id__c": "F-3"}),
        h.record("other", {"External_Id__c": "F-4"}),
        h.record("other", {"External_Id__c": "F-5"}),
    ]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        h.write(cfg, h.catalog(h.stream("s", fields=["Status", "External_Id__c"])), messages)
    lines = [r.getMessage() for r in caplog.records]
    assert "Stream s: 2 of 3 records left out by filter" in lines
    assert "Stream other: 2 records ignored, the stream is not in the configured catalog" in lines
    assert {"F-1"} == {k for k in by_key(emulator, h) if k.startswith("F-")}


def test_check_validates_each_streams_entry(emulator, h) -> None:
    cfg = bare_config(
        emulator, streams=[{"name": "b", "object": "X__c", "column_mapping": [{"source": "a", "target": "Nope__c"}]}]
    )
    status = h.DestinationSalesforce().check(h.LOGGER, cfg)
    assert status.status == Status.FAILED and "streams[b].column_mapping target Nope__c" in status.message
    assert h.DestinationSalesforce().check(h.LOGGER, bare_config(emulator)).status == Status.SUCCEEDED


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"filters": []}, "Unknown setting 'filters'. Did you mean 'filter'?"),
        ({"externalIdField": "X"}, "Unknown setting 'externalIdField'. Did you mean 'external_id_field'?"),
        (
            {"streams": [{"name": "s", "columnmapping": []}]},
            "'streams[0].columnmapping'. Did you mean 'column_mapping'",
        ),
        ({"column_mapping": [{"source": "a", "targt": "b"}]}, "'column_mapping[0].targt'. Did you mean 'target'"),
    ],
)
def test_unknown_settings_are_refused_with_the_closest_name(h, settings, said) -> None:
    config = {"credentials": {"auth_type": "username_password"}, "object": "X__c", **settings}
    with pytest.raises(ConfigError) as raised:
        h.DestinationSalesforce().validate_config(config)
    assert said in str(raised.value)


# -- Bulk's null marker -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [0, 1])
def test_the_text_na_is_stored_as_text_through_bulk(emulator, h, interval) -> None:
    """#N/A in a Bulk CSV cell means null: records holding that text go through Collections, in key order."""
    cfg = h.config(
        emulator, operation="upsert", external_id_field="External_Id__c", api="bulk", flush_interval_seconds=interval
    )
    messages = [
        h.record("s", {"External_Id__c": "NA-1", "Text__c": "before"}),
        h.record("s", {"External_Id__c": "NA-2", "Text__c": "plain", "Multi_Picklist__c": None}),
        h.record("s", {"External_Id__c": "NA-1", "Text__c": "#N/A"}),
        h.record("s", {"External_Id__c": "NA-3", "Text_Area__c": "#N/A"}),
        h.state("s"),
    ]
    emulator.admin.reset_calls()
    out = h.write(cfg, h.catalog(h.stream("s")), messages)
    landed = by_key(emulator, h)
    assert (landed["NA-1"]["Text__c"], landed["NA-2"]["Text__c"], landed["NA-3"]["Text_Area__c"]) == (
        "#N/A", "plain", "#N/A",
    )  # fmt: skip
    assert out[0].state.destinationStats.rejectedRecordCount == 0.0
    endpoints = emulator.admin.calls()["by_endpoint"]
    assert any("jobs/ingest" in e for e in endpoints) and any("composite/sobjects" in e for e in endpoints), endpoints


# -- logs ----------------------------------------------------------------------------------------------------------


def test_batch_mode_says_queued_until_the_job_is_done_then_committed(emulator, h, caplog) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c", api="bulk", flush_interval_seconds=0, batch_size=5)
    rows = [h.record("s", {"External_Id__c": f"Q-{i}"}) for i in range(12)]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        h.write(cfg, h.catalog(h.stream("s")), [*rows, h.state("s")])
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("s: ")]
    assert progress == [
        "s: 5 records queued for a Bulk job to X__c, not committed yet",
        "s: 10 records queued for a Bulk job to X__c, not committed yet",
        "s: 12 records queued for a Bulk job to X__c, not committed yet",
        "s: 12 records committed to X__c",
    ]


def test_collections_writes_are_committed_at_once(emulator, h, caplog) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c", api="collections", batch_size=5)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        h.write(cfg, h.catalog(h.stream("s")), [h.record("s", {"External_Id__c": f"C-{i}"}) for i in range(7)])
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("s: ")]
    assert progress == ["s: 5 records committed to X__c", "s: 2 records committed to X__c"]


# -- references between orgs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_a_reference_is_written_through_the_parents_external_id(emulator, h, api) -> None:
    """Records as a source reading another org sends them: that org's parent Id, and the parent's external id."""
    emulator.admin.add_field("Account", "External_Id__c", "string", external_id=True, unique=True)
    accounts = [h.record("accounts", {"Name": "Acme", "External_Id__c": "ACC-1"})]
    h.write(bare_config(emulator), h.catalog(h.stream("accounts", "append", "Account")), accounts)
    acme = next(r["Id"] for r in h.live(emulator, "Account") if r.get("External_Id__c") == "ACC-1")
    foreign = "001000000000999AAA"  # an Account Id of the org the records were read from
    rows = [
        {"External_Id__c": "O-1", "Account__c": foreign, "Account__r": {"attributes": {}, "External_Id__c": "ACC-1"}},
        {"external_id__c": "O-2", "account__c": foreign, "account__r.external_id__c": "ACC-1"},
        {"External_Id__c": "O-3", "Account__c": None, "Account__r": None},
        {"External_Id__c": "O-4", "Account__c": acme, "Account__r": {"External_Id__c": None}},
    ]
    cfg = h.config(emulator, external_id_field="External_Id__c", api=api)
    out = h.write(cfg, h.catalog(h.stream("s", "append_dedup")), [*(h.record("s", r) for r in rows), h.state("s")])
    assert out[0].state.destinationStats.rejectedRecordCount == 0.0
    landed = {k: r.get("Account__c") for k, r in by_key(emulator, h).items() if k.startswith("O-")}
    assert landed == {"O-1": acme, "O-2": acme, "O-3": None, "O-4": acme}

"""Every operation and sync mode against the emulated org, written in process."""

import json

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException


def by_ext(org, h) -> dict:
    return {r["External_Id__c"]: r for r in h.live(org, "X__c") if r.get("External_Id__c", "").startswith("T-")}


def test_insert_writes_every_record_and_echoes_state_with_counts(emulator, h) -> None:
    before = len(h.live(emulator, "X__c"))
    out = h.write(
        h.config(emulator),
        h.catalog(h.stream("things")),
        [
            h.record("things", {"Name": "n1", "Text__c": "t1"}),
            h.record("things", {"Name": "n2"}),
            h.state("things", c=1),
        ],
    )
    assert [m.state.stream.stream_state.c for m in out] == [1]
    stats = out[0].state.destinationStats
    assert (stats.recordCount, stats.rejectedRecordCount) == (2.0, 0.0)
    assert len(h.live(emulator, "X__c")) == before + 2


def test_append_with_external_id_upserts_and_never_duplicates(emulator, h) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c")
    first = [h.record("s", {"External_Id__c": f"T-{i}", "Text__c": "v1"}) for i in range(5)]
    h.write(cfg, h.catalog(h.stream("s")), first)
    again = [h.record("s", {"External_Id__c": f"T-{i}", "Text__c": "v2"}) for i in range(5)]
    h.write(cfg, h.catalog(h.stream("s")), again)
    rows = by_ext(emulator, h)
    assert sorted(rows) == [f"T-{i}" for i in range(5)]
    assert {r["Text__c"] for r in rows.values()} == {"v2"}


def test_append_upsert_applies_repeated_keys_in_order(emulator, h) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c")
    h.write(cfg, h.catalog(h.stream("s")), [
        h.record("s", {"External_Id__c": "T-1", "Text__c": "a", "Integer__c": 1}),
        h.record("s", {"External_Id__c": "T-1", "Text__c": "b"}),
    ])  # fmt: skip
    row = by_ext(emulator, h)["T-1"]
    assert (row["Text__c"], row["Integer__c"]) == ("b", 1)


def test_append_dedup_keeps_the_last_record_per_key(emulator, h) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c")
    out = h.write(cfg, h.catalog(h.stream("s", "append_dedup")), [
        h.record("s", {"External_Id__c": "T-1", "Text__c": "old"}),
        h.record("s", {"External_Id__c": "T-2", "Text__c": "only"}),
        h.record("s", {"External_Id__c": "T-1", "Text__c": "new"}),
        h.state("s", c=3),
    ])  # fmt: skip
    rows = by_ext(emulator, h)
    assert {k: v["Text__c"] for k, v in rows.items()} == {"T-1": "new", "T-2": "only"}
    assert out[0].state.destinationStats.recordCount == 3.0


def test_update_by_external_id_and_by_id_and_rejects_unknown_keys(emulator, h) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c")
    h.write(
        cfg, h.catalog(h.stream("s")), [h.record("s", {"External_Id__c": f"T-{i}", "Text__c": "v1"}) for i in range(3)]
    )
    t2_id = by_ext(emulator, h)["T-2"]["Id"]
    out = h.write(cfg, h.catalog(h.stream("s", "update")), [
        h.record("s", {"External_Id__c": "T-0", "Text__c": "by-ext"}),
        h.record("s", {"Id": t2_id, "Text__c": "by-id"}),
        h.record("s", {"External_Id__c": "T-404", "Text__c": "nobody"}),
        h.state("s", c=1),
    ])  # fmt: skip
    rows = by_ext(emulator, h)
    assert {k: v["Text__c"] for k, v in rows.items()} == {"T-0": "by-ext", "T-1": "v1", "T-2": "by-id"}
    assert out[0].state.destinationStats.rejectedRecordCount == 1.0


def test_soft_delete_deletes_by_external_id(emulator, h) -> None:
    cfg = h.config(emulator, external_id_field="External_Id__c")
    h.write(cfg, h.catalog(h.stream("s")), [h.record("s", {"External_Id__c": f"T-{i}", "Name": "x"}) for i in range(3)])
    h.write(cfg, h.catalog(h.stream("s", "soft_delete")), [h.record("s", {"External_Id__c": "T-1"})])
    assert sorted(by_ext(emulator, h)) == ["T-0", "T-2"]
    deleted = [r for r in emulator.admin.records("X__c") if r.get("External_Id__c") == "T-1"]
    assert deleted and deleted[0]["IsDeleted"]


def test_explicit_operation_delete_by_id(emulator, h) -> None:
    victims = [r["Id"] for r in h.live(emulator, "Account")[:2]]
    h.write(h.config(emulator, object="Account", operation="delete"), h.catalog(h.stream("a")),
            [h.record("a", {"Id": i}) for i in victims])  # fmt: skip
    assert not {r["Id"] for r in h.live(emulator, "Account")} & set(victims)


def test_overwrite_is_a_config_error(emulator, h) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        h.write(h.config(emulator), h.catalog(h.stream("s", "overwrite")), [])
    assert raised.value.failure_type == FailureType.config_error
    assert "overwrite" in raised.value.message


def test_destination_object_name_from_the_catalog_wins(emulator, h) -> None:
    before = len(h.live(emulator, "Contact"))
    h.write(h.config(emulator, object="X__c"), h.catalog(h.stream("people", object_name="Contact")),
            [h.record("people", {"LastName": "Lovelace"})])  # fmt: skip
    assert len(h.live(emulator, "Contact")) == before + 1


def test_platform_events_are_published_to_the_bus(emulator, h) -> None:
    emulator.admin.clear_events("X__e")
    out = h.write(h.config(emulator, object="X__e"), h.catalog(h.stream("ev")), [
        h.record("ev", {"Message__c": "shipped", "Order_Id__c": "O-1", "Amount__c": 9.5}),
        h.record("ev", {"Message__c": "paid", "Order_Id__c": "O-2"}),
        h.state("ev", c=2),
    ])  # fmt: skip
    events = emulator.admin.events("X__e")
    assert [(e["Message__c"], e["Order_Id__c"]) for e in events] == [("shipped", "O-1"), ("paid", "O-2")]
    assert out[0].state.destinationStats.rejectedRecordCount == 0.0


def test_platform_events_refuse_other_modes(emulator, h) -> None:
    with pytest.raises(AirbyteTracedException, match="Platform Event"):
        h.write(h.config(emulator, object="X__e"), h.catalog(h.stream("ev", "update")), [])


@pytest.mark.parametrize("auto_assign", [True, False])
def test_auto_assign_on_lead(emulator, h, auto_assign: bool) -> None:
    h.write(h.config(emulator, object="Lead", auto_assign=auto_assign), h.catalog(h.stream("leads")),
            [h.record("leads", {"LastName": f"Assign-{auto_assign}", "Company": "Acme"})])  # fmt: skip
    lead = next(r for r in h.live(emulator, "Lead") if r["LastName"] == f"Assign-{auto_assign}")
    assert (lead["OwnerId"] != lead["CreatedById"]) is auto_assign  # the rule routes to another user


def test_column_mapping_and_filter(emulator, h) -> None:
    cfg = h.config(
        emulator,
        external_id_field="External_Id__c",
        column_mapping=[{"source": "key", "target": "External_Id__c"}, {"source": "info.label", "target": "Text__c"},
                        {"source": "n", "target": "Integer__c"}, {"source": "on", "target": "Date__c"},
                        {"source": "flag", "target": "Checkbox__c"}],
        filter=[{"field": "country", "operator": "in", "value": ["FR", "DE"]},
                {"field": "n", "operator": ">", "value": 1}],
    )  # fmt: skip
    out = h.write(cfg, h.catalog(h.stream("s")), [
        h.record("s", {"key": "T-1", "info": {"label": "kept"}, "n": "5", "on": "2024-02-03T10:00:00Z", "flag": "yes",
                       "country": "FR"}),
        h.record("s", {"key": "T-2", "info": {"label": "wrong country"}, "n": 5, "country": "US"}),
        h.record("s", {"key": "T-3", "info": {"label": "too small"}, "n": 1, "country": "DE"}),
        h.state("s", c=1),
    ])  # fmt: skip
    rows = by_ext(emulator, h)
    assert list(rows) == ["T-1"]
    row = rows["T-1"]
    assert (row["Text__c"], row["Integer__c"], row["Date__c"], row["Checkbox__c"]) == ("kept", 5, "2024-02-03", True)
    stats = out[0].state.destinationStats
    assert (stats.recordCount, stats.rejectedRecordCount) == (3.0, 0.0)


def test_partial_failures_are_counted_exactly_and_written_to_the_reject_file(emulator, h, tmp_path) -> None:
    path = tmp_path / "rejects.jsonl"
    cfg = h.config(emulator, external_id_field="External_Id__c", rejected_records_path=str(path))
    out = h.write(cfg, h.catalog(h.stream("s")), [
        h.record("s", {"External_Id__c": "T-1", "Text__c": "fine"}),
        h.record("s", {"External_Id__c": "T-2", "Text__c": "x" * 101}),
        h.record("s", {"External_Id__c": "T-3", "Restricted_Picklist__c": "not a value"}),
        h.record("s", {"External_Id__c": "T-4", "Integer__c": "twelve"}),
        h.state("s", c=1),
        h.record("s", {"External_Id__c": "T-5", "Text__c": "fine"}),
        h.state("s", c=2),
    ])  # fmt: skip
    assert [(m.state.destinationStats.recordCount, m.state.destinationStats.rejectedRecordCount) for m in out] == [
        (4.0, 3.0), (1.0, 0.0)]  # fmt: skip
    assert sorted(by_ext(emulator, h)) == ["T-1", "T-5"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((line["key"], line["error"]["code"]) for line in lines) == [
        ("External_Id__c=T-3", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ("record #2", "STRING_TOO_LONG"),  # refused before any call, by the field's length in the describe
        ("record #4", "INVALID_VALUE"),
    ]


def test_reject_threshold_fails_the_sync_without_a_later_state(emulator, h) -> None:
    cfg = h.config(emulator, max_rejected_records=1)
    emitted = []
    with pytest.raises(AirbyteTracedException) as raised:
        for message in h.DestinationSalesforce().write(cfg, h.catalog(h.stream("s")), [
            h.record("s", {"Text__c": "x" * 101}), h.state("s", c=1),
            h.record("s", {"Text__c": "y" * 101}), h.state("s", c=2),
        ]):  # fmt: skip
            emitted.append(message)
    assert [m.state.stream.stream_state.c for m in emitted] == [1]
    assert "max_rejected_records=1" in raised.value.message
    assert raised.value.failure_type == FailureType.config_error

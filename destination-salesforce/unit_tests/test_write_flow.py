"""Bulk vs Collections, STATE ordering, real-time flushing, check and discover."""

import queue
import threading
import time

from airbyte_cdk.models import Status, Type


def comparable(org, h) -> dict:
    keep = ("Text__c", "Integer__c", "Date__c", "Checkbox__c", "Name")
    return {
        r["External_Id__c"]: tuple(r.get(k) for k in keep)
        for r in h.live(org, "X__c")
        if (r.get("External_Id__c") or "").startswith("T-")
    }


def test_bulk_and_collections_give_the_same_org(emulator_factory, h) -> None:
    def messages():
        for i in range(30):
            data = {
                "External_Id__c": f"T-{i}",
                "Text__c": f'text {i}, "quoted"',
                "Integer__c": i,
                "Date__c": "2024-05-06",
            }
            if i % 3 == 0:
                data["Checkbox__c"] = True
            if i % 5 == 0:
                data["Text__c"] = None
            yield h.record("s", data)
        yield h.record("s", {"External_Id__c": "T-bad", "Text__c": "z" * 101})
        yield h.state("s", c=1)

    results = {}
    for api in ("bulk", "collections"):
        org = emulator_factory(seed="demo", records=5)
        out = h.write(h.config(org, api=api, external_id_field="External_Id__c"), h.catalog(h.stream("s")), messages())
        results[api] = (comparable(org, h), out[0].state.destinationStats.rejectedRecordCount)
        used_bulk = any("jobs/ingest" in endpoint for endpoint in org.admin.calls()["by_endpoint"])
        assert used_bulk is (api == "bulk")
    assert results["bulk"] == results["collections"]
    assert len(results["bulk"][0]) == 30 and results["bulk"][1] == 1.0


def test_each_state_comes_after_its_records_are_in_the_org_and_in_order(emulator, h) -> None:
    def messages():
        for batch in range(3):
            for stream_name in ("a", "b"):
                for i in range(3):
                    yield h.record(stream_name, {"External_Id__c": f"T-{stream_name}{batch}{i}"})
                yield h.state(stream_name, batch=batch)

    cfg = h.config(emulator, external_id_field="External_Id__c", flush_interval_seconds=0)
    seen = []
    for message in h.DestinationSalesforce().write(cfg, h.catalog(h.stream("a"), h.stream("b")), messages()):
        name = message.state.stream.stream_descriptor.name
        batch = message.state.stream.stream_state.batch
        keys = {r["External_Id__c"] for r in h.live(emulator, "X__c") if r.get("External_Id__c")}
        assert {f"T-{name}{batch}{i}" for i in range(3)} <= keys  # committed before the STATE came out
        seen.append((name, batch, message.state.destinationStats.recordCount))
    assert seen == [(n, b, 3.0) for b in range(3) for n in ("a", "b")]


def test_real_time_mode_writes_each_record_before_the_next_arrives(emulator, h) -> None:
    inbox: queue.Queue = queue.Queue()
    events = []

    def messages():
        while (item := inbox.get()) is not None:
            events.append(f"sent {item.record.data['External_Id__c']}")
            yield item

    cfg = h.config(emulator, external_id_field="External_Id__c", flush_interval_seconds=0.2, batch_size=1000)
    writer = threading.Thread(target=h.write, args=(cfg, h.catalog(h.stream("s")), messages()), daemon=True)
    writer.start()
    for i in range(3):
        inbox.put(h.record("s", {"External_Id__c": f"T-{i}"}))
        deadline = time.monotonic() + 20
        while f"T-{i}" not in {r.get("External_Id__c") for r in h.live(emulator, "X__c")}:
            assert time.monotonic() < deadline, "record never written while stdin stayed quiet"
            time.sleep(0.05)
        events.append(f"written T-{i}")
    inbox.put(None)
    writer.join(timeout=30)
    assert events == ["sent T-0", "written T-0", "sent T-1", "written T-1", "sent T-2", "written T-2"]


def test_check(emulator, h) -> None:
    emulator.admin.add_field("Account", "External_Id__c", "string", external_id=True, unique=True)
    dest = h.DestinationSalesforce()
    ok = dest.check(
        h.LOGGER,
        h.config(
            emulator,
            external_id_field="External_Id__c",
            column_mapping=[
                {"source": "a", "target": "Text__c"},
                {"source": "b", "target": "Account__r.External_Id__c"},
            ],
        ),
    )
    assert ok.status == Status.SUCCEEDED, ok.message
    bad = dest.check(
        h.LOGGER,
        h.config(
            emulator,
            external_id_field="Text__c",
            column_mapping=[{"source": "a", "target": "Nope__c"}, {"source": "b", "target": "CreatedDate"}],
        ),
    )
    assert bad.status == Status.FAILED
    assert "Text__c" in bad.message and "not an External ID" in bad.message
    assert "Nope__c is not a field" in bad.message and "CreatedDate" in bad.message
    lookup = dest.check(h.LOGGER, h.config(emulator, column_mapping=[{"source": "b", "target": "Account__r.Name"}]))
    assert lookup.status == Status.FAILED
    assert "column_mapping target Account__r.Name: Name is not an External ID field of Account" in lookup.message
    missing = dest.check(h.LOGGER, h.config(emulator, object="Nothing__c"))
    assert missing.status == Status.FAILED and "Nothing__c" in missing.message
    wrong = h.config(emulator)
    wrong["credentials"] = {**wrong["credentials"], "password": "wrong-password"}
    denied = dest.check(h.LOGGER, wrong)
    assert denied.status == Status.FAILED and "wrong-password" not in denied.message


def test_discover_lists_operations_with_matching_keys(emulator, h) -> None:
    catalog = h.DestinationSalesforce().discover_operations(h.config(emulator))
    ops = {(o.object_name, o.sync_mode.value): o for o in catalog.operations}
    assert ops[("X__c", "append_dedup")].matching_keys == [["External_Id__c"]]
    assert "Text__c" in ops[("X__c", "append")].json_schema["properties"]
    assert "CreatedDate" not in ops[("X__c", "append")].json_schema["properties"]
    assert {m for (name, m) in ops if name == "X__e"} == {"append"}
    assert ("Contact", "soft_delete") in ops and ("Contact", "update") in ops
    assert Type.DESTINATION_CATALOG.value == "DESTINATION_CATALOG"

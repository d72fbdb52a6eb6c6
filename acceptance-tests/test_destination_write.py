"""write of the installed destination: what it writes the source reads back, and states come back in order."""

from __future__ import annotations

import json
from typing import Any

from acceptance_configs import pointed_at
from runner import configured_catalog


def record(stream: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1}})


def state(stream: str, position: int) -> str:
    descriptor = {"stream_descriptor": {"name": stream}, "stream_state": {"position": position}}
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": descriptor}})


def destination_catalog(stream: str, mode: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {}}
    return {
        "streams": [
            {
                "stream": {"name": stream, "json_schema": schema, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh",
                "destination_sync_mode": mode,
            }
        ]
    }


def test_write_round_trips_through_the_source_and_echoes_states_in_order(
    source, destination, fresh_org, destination_config, source_config
) -> None:
    config = pointed_at(destination_config, fresh_org)
    rows = [{"External_Id__c": f"ACC-{i}", "Name": f"Written {i}", "Integer__c": i} for i in range(1, 6)]
    lines = [record("people", rows[0]), record("people", rows[1]), state("people", 2)]
    lines += [record("people", r) for r in rows[2:]] + [state("people", 5), state("people", 5)]
    run = destination.run(
        "write", config=config, catalog=destination_catalog("people", "append_dedup"), stdin="\n".join(lines) + "\n"
    ).ok()
    echoed = run.states
    assert [s["stream"]["stream_state"]["position"] for s in echoed] == [2, 5, 5]
    assert [s["destinationStats"]["recordCount"] for s in echoed] == [2, 3, 0]

    reader_config = pointed_at(source_config, fresh_org)
    streams = source.run("discover", config=reader_config).ok().catalog["streams"]
    read = source.run("read", config=reader_config, catalog=configured_catalog(streams, ["X__c"], "full_refresh"))
    by_key = {r["External_Id__c"]: r for r in read.ok().records("X__c") if r.get("External_Id__c")}
    for row in rows:
        written = by_key[row["External_Id__c"]]
        assert {k: written[k] for k in row} == row

    # Upsert by external id: writing the same keys again changes the records instead of adding new ones.
    again = [{**r, "Name": f"Rewritten {r['Integer__c']}"} for r in rows]
    stdin = "\n".join([*(record("people", r) for r in again), state("people", 6)]) + "\n"
    destination.run("write", config=config, catalog=destination_catalog("people", "append_dedup"), stdin=stdin).ok()
    reread = source.run("read", config=reader_config, catalog=configured_catalog(streams, ["X__c"], "full_refresh"))
    names = [r["Name"] for r in reread.ok().records("X__c") if r.get("External_Id__c", "").startswith("ACC-")]
    assert sorted(names) == sorted(r["Name"] for r in again)


def test_write_with_bad_credentials_fails_without_a_state(destination, fresh_org, destination_config) -> None:
    config = pointed_at(destination_config, fresh_org)
    config["credentials"]["password"] = "wrong-password-for-write"  # noqa: S105
    stdin = record("people", {"External_Id__c": "X-1", "Name": "x"}) + "\n" + state("people", 1) + "\n"
    run = destination.run("write", config=config, catalog=destination_catalog("people", "append"), stdin=stdin)
    assert run.returncode != 0
    assert run.states == []
    assert run.errors and all(e["failure_type"] == "config_error" for e in run.errors)
    assert "wrong-password-for-write" not in run.stdout + run.stderr

"""The console script as Airbyte runs it: stdin in, protocol messages out; a kill mid-write and a rerun."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("destination-salesforce", path=str(Path(sys.executable).parent)) or "destination-salesforce"


def files(tmp_path: Path, cfg: dict, streams: list[dict]) -> list[str]:
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "catalog.json").write_text(json.dumps({"streams": streams}))
    return ["write", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]


def configured(name: str, mode: str = "append") -> dict:
    return {"stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh", "destination_sync_mode": mode}  # fmt: skip


def rec(i: int) -> str:
    data = {"External_Id__c": f"T-{i}", "Integer__c": i}
    return json.dumps({"type": "RECORD", "record": {"stream": "s", "data": data, "emitted_at": 1}}) + "\n"


def st(i: int) -> str:
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "s"}, "stream_state": {"last": i}}}}) + "\n"  # fmt: skip


def outputs(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_spec_and_write_through_stdin(emulator, h, tmp_path) -> None:
    spec = outputs(subprocess.run([SCRIPT, "spec"], capture_output=True, text=True, check=True).stdout)
    properties = spec[0]["spec"]["connectionSpecification"]["properties"]
    assert {"credentials", "object", "column_mapping", "filter", "auto_assign"} <= set(properties)
    args = files(tmp_path, h.config(emulator, external_id_field="External_Id__c"), [configured("s")])
    stdin = rec(1) + rec(2) + st(2) + rec(3) + st(3)
    done = subprocess.run([SCRIPT, *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    states = [m["state"] for m in outputs(done.stdout) if m["type"] == "STATE"]
    assert [s["stream"]["stream_state"]["last"] for s in states] == [2, 3]
    assert states[0]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 0.0}
    assert emulator.credentials()["password"] not in done.stdout + done.stderr


def test_malformed_line_fails_naming_the_line(emulator, h, tmp_path) -> None:
    args = files(tmp_path, h.config(emulator), [configured("s")])
    done = subprocess.run([SCRIPT, *args], input=rec(1) + "{not json\n", capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    traces = [m["trace"]["error"] for m in outputs(done.stdout) if m["type"] == "TRACE"]
    assert traces and "line 2" in traces[0]["message"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_mid_write_then_rerun_from_last_state_loses_nothing(emulator, h, tmp_path) -> None:
    total = 60
    args = files(tmp_path, h.config(emulator, external_id_field="External_Id__c", flush_interval_seconds=0),
                 [configured("s")])  # fmt: skip
    process = subprocess.Popen([SCRIPT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    last_state = 0
    for i in range(1, 41):  # the source got 40 records out, with a state every 10
        process.stdin.write(rec(i))
        if i % 10 == 0:
            process.stdin.write(st(i))
    process.stdin.flush()
    while last_state < 20:  # wait for two checkpoints, then pull the plug with records in flight
        line = process.stdout.readline()
        assert line, "the destination ended before emitting two states"
        message = json.loads(line)
        if message["type"] == "STATE":
            last_state = message["state"]["stream"]["stream_state"]["last"]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    # Airbyte restarts the source from the last state the destination emitted.
    stdin = "".join(rec(i) + (st(i) if i % 10 == 0 else "") for i in range(last_state + 1, total + 1))
    done = subprocess.run([SCRIPT, *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    keys = [r["External_Id__c"] for r in h.live(emulator, "X__c") if (r.get("External_Id__c") or "").startswith("T-")]
    assert sorted(keys) == sorted(f"T-{i}" for i in range(1, total + 1))  # nothing lost, no duplicate

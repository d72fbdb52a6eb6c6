"""A stdin line that is not a message ends the write only after everything before it: the complete records are
written, their STATEs emitted, then the write fails naming the line. Bytes that are not UTF-8 are such a line; a
UTF-8 byte order mark before the first line is not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce.protocol import parse_lines

SCRIPT = shutil.which("destination-salesforce", path=str(Path(sys.executable).parent)) or "destination-salesforce"


def rec(i: int) -> bytes:
    data = {"External_Id__c": f"T-{i}", "Integer__c": i}
    return json.dumps({"type": "RECORD", "record": {"stream": "s", "data": data, "emitted_at": 1}}).encode() + b"\n"


def st(i: int) -> bytes:
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "s"}, "stream_state": {"last": i}}}}).encode() + b"\n"  # fmt: skip


BAD_LINES = {
    "not UTF-8": b'{"type": "RECORD", "caf\xe9": 1}\n',
    "not JSON": b"{oops\n",
    "no record": b'{"type": "RECORD"}\n',
}


def keys(org, h) -> set[str]:
    return {r["External_Id__c"] for r in h.live(org, "X__c") if str(r.get("External_Id__c")).startswith("T-")}


@pytest.mark.parametrize("bad", list(BAD_LINES))
@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_batch_mode_commits_and_emits_everything_before_a_bad_line(emulator, h, api: str, bad: str) -> None:
    """In batch mode Bulk records gather across STATEs: all of them are written and every STATE before the bad line
    is emitted, and the records after the last STATE are written too."""
    lines = [rec(1), rec(2), st(2), rec(3), st(3), rec(4), BAD_LINES[bad], rec(5), st(5)]
    cfg = h.config(emulator, api=api, external_id_field="External_Id__c", flush_interval_seconds=0)
    emitted = []
    with pytest.raises(AirbyteTracedException) as raised:
        for message in h.DestinationSalesforce().write(cfg, h.catalog(h.stream("s")), parse_lines(lines)):
            emitted.append(message)
    assert raised.value.message.startswith("Input line 7 is not a valid Airbyte message")
    assert [m.state.stream.stream_state.last for m in emitted] == [2, 3]
    assert keys(emulator, h) == {"T-1", "T-2", "T-3", "T-4"}


def test_invalid_utf8_through_the_console_script_names_the_line(emulator, h, tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(h.config(emulator, external_id_field="External_Id__c")))
    streams = [{"stream": {"name": "s", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh", "destination_sync_mode": "append"}]  # fmt: skip
    (tmp_path / "catalog.json").write_text(json.dumps({"streams": streams}))
    args = [SCRIPT, "write", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    stdin = b"\xef\xbb\xbf" + rec(1) + st(1) + rec(2) + b'{"type": "RECORD", "record": {"\xff": 1}}\n' + rec(3)
    done = subprocess.run(args, input=stdin, capture_output=True, timeout=60)
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith(b"{")]
    errors = [m["trace"]["error"]["message"] for m in messages if m["type"] == "TRACE"]
    assert done.returncode != 0
    assert errors and errors[0].startswith("Input line 4 is not a valid Airbyte message: it is not valid UTF-8")
    assert [m["state"]["stream"]["stream_state"]["last"] for m in messages if m["type"] == "STATE"] == [1]
    assert keys(emulator, h) == {"T-1", "T-2"}  # the BOM line counts, and the record before the bad line is in

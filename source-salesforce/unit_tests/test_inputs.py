"""The catalog and state files of `read`: each broken file is a config error that names the file and the fault."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from source_salesforce import inputs

STREAM = {
    "stream": {"name": "Account", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
    "sync_mode": "incremental",
    "destination_sync_mode": "append",
}


def write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def refused(read, path: str) -> str:
    with pytest.raises(AirbyteTracedException) as caught:
        read(path)
    assert caught.value.failure_type == FailureType.config_error
    return caught.value.message or ""


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", ["not valid JSON", "line 1"]),
        ({}, ["no streams"]),
        ({"streams": []}, ["no streams"]),
        ([STREAM], ["no streams"]),
        ({"streams": [{**STREAM, "sync_mode": "sideways"}]}, ["streams/0/sync_mode", "sideways"]),
        ({"streams": [{"sync_mode": "incremental"}]}, ["streams/0", "stream"]),
        ({"streams": "Account"}, ["streams", "list"]),
    ],
    ids=["not-json", "empty-object", "no-streams", "a-list", "sync-mode", "no-stream", "streams-not-a-list"],
)
def test_broken_catalog_is_a_config_error_naming_the_fault(tmp_path, content, words):
    path = write(tmp_path, "catalog.json", content)
    message = refused(inputs.read_catalog, path)
    assert "catalog" in message and path in message
    for word in words:
        assert word in message


def test_missing_catalog_file_is_named(tmp_path):
    message = refused(inputs.read_catalog, str(tmp_path / "absent.json"))
    assert "absent.json" in message and "cannot be read" in message


def test_valid_catalog_is_read(tmp_path):
    catalog = inputs.read_catalog(write(tmp_path, "catalog.json", {"streams": [STREAM]}))
    assert [s.stream.name for s in catalog.streams] == ["Account"]


@pytest.mark.parametrize(
    "content, words",
    [
        ("[{broken", ["not valid JSON"]),
        ({"Account": {"cursor": "2024-01-01"}}, ["list of STATE messages"]),
        ([{"type": "BOGUS"}], ["type", "BOGUS"]),
        ([{"type": "STREAM", "stream": {"stream_descriptor": {}}}], ["stream_descriptor/name"]),
        (["text"], ["not of type"]),
        ([{"type": "STREAM"}], ["entry 0"]),
    ],
    ids=["not-json", "legacy-object", "unknown-type", "no-stream-name", "not-an-object", "no-stream"],
)
def test_broken_state_is_a_config_error_naming_the_fault(tmp_path, content, words):
    path = write(tmp_path, "state.json", content)
    message = refused(inputs.read_state, path)
    assert "state" in message and path in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("content", ["[]", "{}", "null"])
def test_empty_state_means_no_state(tmp_path, content):
    assert inputs.read_state(write(tmp_path, "state.json", content)) == []
    assert inputs.read_state(None) == []


def test_console_read_with_a_broken_catalog_fails_with_a_config_error_trace(tmp_path):
    """Through the console script, as the Docker image runs it: exit code non-zero, a TRACE, no bare traceback."""
    credentials = {
        "auth_type": "refresh_token",
        "client_id": "id",
        "client_secret": "Secret-Value-123",
        "refresh_token": "Refresh-Value-456",
        "login_url": "http://127.0.0.1:9",
    }
    config = write(tmp_path, "config.json", {"credentials": credentials})
    catalog = write(tmp_path, "catalog.json", {"streams": [{**STREAM, "sync_mode": "sideways"}]})
    script = Path(sys.executable).with_name("source-salesforce")
    result = subprocess.run(
        [str(script), "read", "--config", config, "--catalog", catalog],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    traces = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"type":"TRACE"')]
    errors = [t["trace"]["error"] for t in traces if t["trace"].get("type") == "ERROR"]
    assert errors and errors[0]["failure_type"] == "config_error"
    assert "sync_mode" in errors[0]["message"] and "catalog" in errors[0]["message"]
    assert "Something went wrong" not in errors[0]["message"]
    for secret in ("Secret-Value-123", "Refresh-Value-456"):
        assert secret not in result.stdout + result.stderr


CURSOR = {"cursor_field": "SystemModstamp", "cursor": "2024-01-01T00:00:00.000Z", "last_id": ""}


def stream_states(messages) -> dict[str, dict]:
    assert all(m.type.value == "STREAM" for m in messages)
    return {m.stream.stream_descriptor.name: vars(m.stream.stream_state) for m in messages}


def test_legacy_state_is_read_as_one_state_per_stream(tmp_path, caplog):
    """The CDK ignores `[{"data": {...}}]` without a word: the sync would start over as if there were no state."""
    path = write(tmp_path, "state.json", [{"data": {"Account": CURSOR, "Contact": {**CURSOR, "last_id": "003"}}}])
    with caplog.at_level("INFO", logger="airbyte"):
        messages = inputs.read_state(path)
    assert stream_states(messages) == {"Account": CURSOR, "Contact": {**CURSOR, "last_id": "003"}}
    assert "legacy state" in caplog.text


def test_legacy_state_that_is_not_per_stream_is_refused(tmp_path):
    message = refused(inputs.read_state, write(tmp_path, "state.json", [{"data": {"cursor": "2024-01-01"}}]))
    assert "legacy state" in message and "entry 0" in message


def test_global_state_with_shared_state_is_read_per_stream_and_the_shared_part_logged(tmp_path, caplog):
    """The CDK raises a bare ValueError ("Something went wrong") on a shared_state."""
    document = [
        {
            "type": "GLOBAL",
            "global": {
                "shared_state": {"lsn": 17},
                "stream_states": [{"stream_descriptor": {"name": "Account"}, "stream_state": CURSOR}],
            },
        }
    ]
    with caplog.at_level("INFO", logger="airbyte"):
        messages = inputs.read_state(write(tmp_path, "state.json", document))
    assert stream_states(messages) == {"Account": CURSOR}
    assert "shared_state" in caplog.text and "lsn" in caplog.text and "not used" in caplog.text

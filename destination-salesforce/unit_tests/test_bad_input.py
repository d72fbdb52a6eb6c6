"""Structurally wrong stdin lines, wrong-valued settings and unknown or hostile object names: each stops with an
error that names the line or the setting, never a value of a secret setting."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce.protocol import parse_lines
from destination_salesforce.spec import check_against_spec, check_api_name, connector_spec
from salesforce_api.errors import ConfigError

SCRIPT = shutil.which("destination-salesforce", path=str(Path(sys.executable).parent)) or "destination-salesforce"
GOOD_RECORD = '{"type": "RECORD", "record": {"stream": "s", "data": {"a": 1}, "emitted_at": 1}}'


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('{"type": "RECORD"}', "needs a 'record' object"),
        ('{"type": "RECORD", "record": "text"}', "needs a 'record' object"),
        ('{"type": "RECORD", "record": {"data": {}, "emitted_at": 1}}', "no 'stream'"),
        ('{"type": "RECORD", "record": {"stream": "", "data": {}, "emitted_at": 1}}', "no 'stream'"),
        ('{"type": "RECORD", "record": {"stream": "s", "data": [1], "emitted_at": 1}}', "'data' is not an object"),
        ('{"type": "RECORD", "record": {"stream": "s", "data": "x", "emitted_at": 1}}', "'data' is not an object"),
        ('{"type": "RECORD", "record": {"stream": "s", "data": {}}}', "'emitted_at'"),
        ('{"type": "STATE"}', "needs a 'state' object"),
        ('{"type": "SHOUT", "record": {}}', "'type' is not one of"),
        ('{"record": {}}', "'type' is not one of"),
        ("[1, 2]", "JSON array"),
        ('"just text"', "JSON string"),
        ("{not json", "not JSON"),
    ],
)
def test_structurally_wrong_line_names_its_number_and_its_problem(line: str, said: str) -> None:
    messages = parse_lines([GOOD_RECORD + "\n", "\n", line + "\n", GOOD_RECORD + "\n"])
    assert next(messages).record.data == {"a": 1}
    with pytest.raises(AirbyteTracedException) as raised:
        next(messages)
    assert raised.value.message.startswith("Input line 3 is not a valid Airbyte message"), raised.value.message
    assert said in raised.value.message


def test_a_bad_line_never_quotes_the_line() -> None:
    line = '{"type": "RECORD", "record": {"stream": "s", "data": {"ssn": "123-45-6789"}, "emitted_at": "x"}}'
    with pytest.raises(AirbyteTracedException) as raised:
        list(parse_lines([line]))
    assert "123-45-6789" not in raised.value.message + (raised.value.internal_message or "")


SPEC = connector_spec().connectionSpecification


def base_config(**settings) -> dict:
    credentials = {
        "auth_type": "username_password",
        "client_id": "cid",
        "client_secret": "Hidden-Client-Secret",
        "username": "u@example.com",
        "password": "Hidden-Password",
    }
    return {"credentials": credentials, "object": "X__c", **settings}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"api": "soap"}, ["'api'", "auto, collections, bulk"]),
        ({"batch_size": "big"}, ["'batch_size'", "integer"]),
        ({"batch_size": 0}, ["'batch_size'", "at least 1"]),
        ({"operation": "merge"}, ["'operation'", "insert, update, upsert, delete"]),
        ({"object": "X__c' OR Id != null"}, ["'object'", "wrong format"]),
        ({"max_rejected_ratio": 2}, ["'max_rejected_ratio'", "at most 1"]),
    ],
)
def test_wrong_setting_is_named_with_what_it_allows(settings: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        check_against_spec(base_config(**settings), SPEC)
    for word in words:
        assert word in str(raised.value)
    assert str(next(iter(settings.values()))) not in str(raised.value)


def test_missing_setting_is_named() -> None:
    config = base_config()
    del config["credentials"]
    with pytest.raises(ConfigError, match="'credentials' is required"):
        check_against_spec(config, SPEC)


def test_wrong_secret_value_is_never_echoed() -> None:
    config = base_config()
    config["credentials"]["password"] = ["Hidden-Password-In-A-List"]
    with pytest.raises(ConfigError) as raised:
        check_against_spec(config, SPEC)
    assert "Hidden-Password" not in str(raised.value) and "Hidden-Client-Secret" not in str(raised.value)
    assert "credentials" in str(raised.value)


def test_good_config_passes() -> None:
    check_against_spec(base_config(api="bulk", batch_size=200), SPEC)


@pytest.mark.parametrize("name", ["Account\n", "Account' OR Id != null", "../Account", "Account%2F", ""])
def test_api_names_are_checked_whole(name: str) -> None:
    with pytest.raises(ConfigError, match="'object'"):
        check_api_name(name, "object")


def run_write(tmp_path: Path, config: dict, catalog_stream: dict, stdin: str) -> tuple[int, list[dict], str]:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps({"streams": [catalog_stream]}))
    args = [SCRIPT, "write", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, messages, done.stdout + done.stderr


def configured(name: str = "s", object_name: str | None = None) -> dict:
    stream = {
        "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": "append",
    }
    if object_name is not None:
        stream["destination_object_name"] = object_name
    return stream


def errors(messages: list[dict]) -> list[dict]:
    return [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]


def test_unknown_object_is_a_config_error_naming_object_and_setting(emulator, h, tmp_path) -> None:
    code, messages, _ = run_write(tmp_path, h.config(emulator, object="No_Such__c"), configured(), GOOD_RECORD)
    assert code != 0
    (error,) = errors(messages)
    assert error["failure_type"] == "config_error"
    assert "No_Such__c" in error["message"] and "'object'" in error["message"], error["message"]


def test_unknown_catalog_object_names_the_catalog_setting(emulator, h, tmp_path) -> None:
    code, messages, _ = run_write(tmp_path, h.config(emulator), configured("s", "Nope__c"), GOOD_RECORD)
    (error,) = errors(messages)
    assert code != 0 and error["failure_type"] == "config_error"
    assert "Nope__c" in error["message"] and "destination_object_name of stream s" in error["message"]


@pytest.mark.parametrize("hostile", ["X__c/../Account", "X__c?q=SELECT", "X__c%2FAccount", "X__c'", "X__c\nAccount"])
def test_hostile_catalog_object_name_reaches_no_url(emulator, h, tmp_path, hostile: str) -> None:
    emulator.admin.reset_calls()
    code, messages, _ = run_write(tmp_path, h.config(emulator), configured("s", hostile), GOOD_RECORD)
    (error,) = errors(messages)
    assert code != 0 and error["failure_type"] == "config_error"
    assert "destination_object_name" in error["message"]
    endpoints = emulator.admin.calls()["by_endpoint"]
    assert not [e for e in endpoints if "sobjects" in e], endpoints
    assert not [r for r in emulator.admin.records("Account") if r.get("Name") == "x"]


def test_wrong_setting_on_the_command_line_names_it_and_hides_secrets(emulator, h, tmp_path) -> None:
    config = h.config(emulator, api="soap")
    code, messages, output = run_write(tmp_path, config, configured(), GOOD_RECORD)
    (error,) = errors(messages)
    assert code != 0 and error["failure_type"] == "config_error"
    assert "'api'" in error["message"] and "auto, collections, bulk" in error["message"]
    for secret in ("password", "client_secret", "security_token"):
        value = config["credentials"].get(secret)
        assert not value or value not in output


def test_check_with_a_wrong_setting_fails_naming_it(emulator, h, tmp_path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(h.config(emulator, batch_size="big")))
    done = subprocess.run(
        [SCRIPT, "check", "--config", str(tmp_path / "config.json")], capture_output=True, text=True, timeout=60
    )
    (status,) = [json.loads(x)["connectionStatus"] for x in done.stdout.splitlines() if "CONNECTION_STATUS" in x]
    assert status["status"] == "FAILED" and "'batch_size'" in status["message"] and "big" not in status["message"]

"""End-to-end spec, check and discover against the emulated org, in process and through the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Status, SyncMode, Type
from airbyte_cdk.test.entrypoint_wrapper import discover
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets
from salesforce_api import RestClient, connect
from source_salesforce import SourceSalesforce
from source_salesforce.entrypoint import SourceEntrypoint

WRONG_PASSWORD = "wrong-password-0123"  # noqa: S105 - a deliberately wrong test value
FLOWS = ["username_password", "refresh_token", "client_credentials", "jwt_bearer"]


def run_check(config, tmp_path: Path) -> list[AirbyteMessage]:
    """`check` through the connector's own entrypoint (the one the console script uses), in process."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    entrypoint = SourceEntrypoint(SourceSalesforce())
    lines = list(entrypoint.run(entrypoint.parse_args(["check", "--config", str(path)])))
    return [AirbyteMessageSerializer.load(json.loads(line)) for line in lines]


def connection_status(messages: list[AirbyteMessage]):
    return next(m.connectionStatus for m in messages if m.type == Type.CONNECTION_STATUS)


def test_spec_marks_secrets_and_offers_every_auth_flow():
    spec = SourceSalesforce().spec(None)
    connection = spec.connectionSpecification
    credentials = connection["properties"]["credentials"]
    assert "oneOf" in credentials
    config = {
        "credentials": {
            "auth_type": "username_password",
            "password": "p" * 10,
            "client_secret": "s" * 10,
            "security_token": "t" * 10,
        }
    }
    assert set(get_secrets(connection, config)) >= {"p" * 10, "s" * 10}
    orders = [p["order"] for p in connection["properties"].values()]
    assert len(orders) == len(set(orders))


@pytest.mark.parametrize("flow", FLOWS)
def test_check_succeeds_with_every_auth_flow(sf, org, flow, tmp_path):
    status = connection_status(run_check(sf.config(org, flow), tmp_path))
    assert status.status == Status.SUCCEEDED, status.message


@pytest.mark.parametrize(
    "change, setting",
    [
        (lambda c: c["credentials"].update({"password": WRONG_PASSWORD}), "password"),
        (lambda c: c["credentials"].update(client_id="unknown-client"), "client"),
        (lambda c: c.update(start_date="last tuesday"), "start_date"),
        (lambda c: c.update(force_api="soap"), "force_api"),
    ],
)
def test_check_names_the_wrong_setting(sf, org, change, setting, tmp_path):
    config = sf.config(org)
    change(config)
    messages = run_check(config, tmp_path)
    status = connection_status(messages)
    assert status.status == Status.FAILED
    assert setting in status.message.lower()
    assert "soap" not in status.message and "tuesday" not in status.message  # the rejected value is not echoed
    assert WRONG_PASSWORD not in "".join(str(m) for m in messages)


def test_check_with_unreachable_login_url_is_a_config_error(sf, org, tmp_path):
    config = sf.config(org)
    config["credentials"]["login_url"] = "http://127.0.0.1:9"
    status = connection_status(run_check(config, tmp_path))
    assert status.status == Status.FAILED and "login" in status.message.lower()


STRING = {"type": ["string", "null"]}
EXPECTED_TYPES = {
    "id": STRING,
    "string": STRING,
    "textarea": STRING,
    "picklist": STRING,
    "multipicklist": STRING,
    "combobox": STRING,
    "reference": STRING,
    "email": STRING,
    "phone": STRING,
    "url": STRING,
    "encryptedstring": STRING,
    "base64": STRING,
    "anyType": STRING,
    "boolean": {"type": ["boolean", "null"]},
    "int": {"type": ["integer", "null"]},
    "long": {"type": ["integer", "null"]},
    "double": {"type": ["number", "null"]},
    "currency": {"type": ["number", "null"]},
    "percent": {"type": ["number", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},
    "datetime": {"type": ["string", "null"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "time": {"type": ["string", "null"], "format": "time", "airbyte_type": "time_with_timezone"},
    "complexvalue": {"type": ["object", "null"]},
    "json": {"type": ["object", "null"]},
    "unheard_of": STRING,  # an unknown type is read as text, with a warning
}
# Types the seeded X__c lacks, added through the admin API before discover.
ADDED_TYPES = ("long", "combobox", "encryptedstring", "anyType", "complexvalue", "json", "unheard_of")


def test_discover_maps_every_describe_type(sf, org, config):
    for field_type in ADDED_TYPES:
        org.admin.add_field("X__c", f"T_{field_type}__c", field_type)
    output = discover(SourceSalesforce(), config)
    assert not output.errors
    streams = {s.name: s for s in output.catalog.catalog.streams}
    assert {"Account", "Contact", "Lead", "Opportunity", "Case", "User", "X__c"} <= set(streams)
    assert "X__e" not in streams
    describe = RestClient(connect(org.credentials("username_password"))).describe("X__c")
    properties = streams["X__c"].json_schema["properties"]
    seen = set()
    for field in describe["fields"]:
        seen.add(field["type"])
        if field["type"] not in ("address", "location"):
            assert properties[field["name"]] == EXPECTED_TYPES[field["type"]], field["name"]
    assert seen >= set(EXPECTED_TYPES) | {"address", "location"}
    number = {"type": ["number", "null"]}
    assert properties["Location__c"] == {
        "type": ["object", "null"],
        "properties": {"latitude": number, "longitude": number},
    }
    address = properties["Address__c"]["properties"]
    assert address["city"] == STRING and address["latitude"] == number and "geocodeAccuracy" in address
    assert output.is_in_logs("unheard_of")
    x = streams["X__c"]
    assert x.source_defined_primary_key == [["Id"]]
    assert x.default_cursor_field == ["SystemModstamp"]
    assert SyncMode.incremental in x.supported_sync_modes


def test_discover_batches_describes(sf, org, admin, config):
    admin.reset_calls()
    streams = sf.discover(config)
    calls = admin.calls()
    data_calls = calls["total"] - sum(n for k, n in calls["by_endpoint"].items() if "oauth2" in k)
    assert data_calls <= 1 + -(-len(streams) // 25)


def test_added_field_appears_on_next_discover(sf, org, admin, config):
    admin.add_field("Account", "Fresh__c", "double")
    streams = {s.name: s for s in sf.discover(config)}
    assert streams["Account"].json_schema["properties"]["Fresh__c"] == {"type": ["number", "null"]}


def test_stream_patterns_limit_discover(sf, org):
    streams = sf.discover(sf.config(org, streams=["Acc*", "*__c"]))
    assert {s.name for s in streams} == {"Account", "X__c"}


def test_console_script_spec_check_discover_read(sf, org, tmp_path):
    exe = Path(sys.executable).parent / "source-salesforce"
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(sf.config(org)))

    def run(*args: str) -> list[dict]:
        done = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    assert any(m["type"] == "SPEC" for m in run("spec"))
    assert any(
        m.get("connectionStatus", {}).get("status") == "SUCCEEDED" for m in run("check", "--config", str(config_path))
    )
    catalog = next(m["catalog"] for m in run("discover", "--config", str(config_path)) if m["type"] == "CATALOG")
    account = next(s for s in catalog["streams"] if s["name"] == "Account")
    configured = {"streams": [{"stream": account, "sync_mode": "incremental", "destination_sync_mode": "append"}]}
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(configured))
    messages = run("read", "--config", str(config_path), "--catalog", str(catalog_path))
    assert any(m["type"] == "RECORD" for m in messages)
    assert any(m["type"] == "STATE" for m in messages)
    secret = sf.config(org)["credentials"].get("password", "")
    assert not secret or all(secret not in json.dumps(m) for m in messages)

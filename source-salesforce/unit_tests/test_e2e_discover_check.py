"""End-to-end spec, check and discover against the emulated org, in process and through the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import Status, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import _run_command
from airbyte_cdk.test.models.scenario import ExpectedOutcome
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets
from source_salesforce import SourceSalesforce
from source_salesforce.schema import property_schema

WRONG_PASSWORD = "wrong-password-0123"  # noqa: S105 - a deliberately wrong test value
FLOWS = ["username_password", "refresh_token", "client_credentials", "jwt_bearer"]


def run_check(config, tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return _run_command(
        SourceSalesforce(), ["check", "--config", str(path)], expected_outcome=ExpectedOutcome.ALLOW_ANY
    )


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
    output = run_check(sf.config(org, flow), tmp_path)
    statuses = output.connection_status_messages
    assert statuses and statuses[-1].connectionStatus.status == Status.SUCCEEDED, output.get_formatted_error_message()


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
    output = run_check(config, tmp_path)
    status = output.connection_status_messages[-1].connectionStatus
    assert status.status == Status.FAILED
    assert setting in status.message.lower()
    assert WRONG_PASSWORD not in "".join(str(m) for m in output._messages)


def test_check_with_unreachable_login_url_is_a_config_error(sf, org, tmp_path):
    config = sf.config(org)
    config["credentials"]["login_url"] = "http://127.0.0.1:9"
    status = run_check(config, tmp_path).connection_status_messages[-1].connectionStatus
    assert status.status == Status.FAILED and "login" in status.message.lower()


def test_discover_maps_every_describe_type(sf, org, config):
    from salesforce_api import RestClient, connect

    streams = {s.name: s for s in sf.discover(config)}
    assert {"Account", "Contact", "Lead", "Opportunity", "Case", "User", "X__c"} <= set(streams)
    assert "X__e" not in streams
    describe = RestClient(connect(org.credentials("username_password"))).describe("X__c")
    properties = streams["X__c"].json_schema["properties"]
    types = set()
    for field in describe["fields"]:
        types.add(field["type"])
        if field["type"] in ("address", "location"):
            assert properties[field["name"]]["type"] == ["object", "null"]
        else:
            assert properties[field["name"]] == property_schema(field["type"]), field
    assert {"int", "long", "double", "datetime", "date", "time", "boolean", "multipicklist"} <= types
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

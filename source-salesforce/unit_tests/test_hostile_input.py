"""Malformed state, unknown objects and injection strings in the catalog, read against the emulated org.

Each is refused with a config error that names the stream (and the state key or field), the catalog's other streams
still sync, and no hostile text reaches a query or a URL: every request the client sends is recorded and searched.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteStreamStatus, FailureType, SyncMode
from airbyte_cdk.test.state_builder import StateBuilder
from salesforce_api.http import SalesforceSession

INJECTIONS = [
    "Name' OR Id != null",
    "Id FROM User WHERE Id != null --",
    "Name, Id",
    "../Account",
    "/../sobjects",
    "Account?q=SELECT",
    "Account%2F..",
    "Name\n",
    "Name\r\nHost: evil",
    "Last Name",
    'Name"',
    "Name;",
]


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Every request the client sends (method, path, query parameters, body), as text."""
    seen: list[str] = []
    original = SalesforceSession.request

    def recording(self, method: str, path: str, **kwargs: Any):
        seen.append(f"{method} {path} {kwargs.get('params')} {kwargs.get('json')} {kwargs.get('data')}")
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(SalesforceSession, "request", recording)
    return seen


def config_errors(output) -> list[str]:
    errors = [e.trace.error for e in output.errors]
    return [e.message for e in errors if e.failure_type == FailureType.config_error and e.message]


def assert_only_first_fails(sf, admin, output, failing: str, other: str = "Contact") -> None:
    assert output.get_stream_statuses(failing)[-1] == AirbyteStreamStatus.INCOMPLETE
    assert output.get_stream_statuses(other)[-1] == AirbyteStreamStatus.COMPLETE
    assert {r["Id"] for r in sf.records(output, other)} == {r["Id"] for r in admin.records(other)}
    assert not sf.records(output, failing)


# -- malformed state -----------------------------------------------------------------------------------------------

BAD_STATES = {
    "cursor not a date": ({"cursor_field": "SystemModstamp", "cursor": "soon", "last_id": ""}, "cursor"),
    "cursor a number": ({"cursor_field": "SystemModstamp", "cursor": 17, "last_id": ""}, "cursor"),
    "cursor injection": (
        {"cursor_field": "SystemModstamp", "cursor": "2024-01-01T00:00:00Z OR Id != null", "last_id": ""},
        "cursor",
    ),
    "last_id not an id": (
        {"cursor_field": "SystemModstamp", "cursor": "2024-01-01T00:00:00.000Z", "last_id": "x y"},
        "last_id",
    ),
    "last_id injection": (
        {"cursor_field": "SystemModstamp", "cursor": "2024-01-01T00:00:00.000Z", "last_id": "001' OR Id != '"},
        "last_id",
    ),
    "last_id with newline": (
        {"cursor_field": "SystemModstamp", "cursor": "2024-01-01T00:00:00.000Z", "last_id": "001000000000001AAA\n"},
        "last_id",
    ),
    "cursor_field not text": ({"cursor_field": ["SystemModstamp"], "cursor": "2024-01-01"}, "cursor_field"),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_malformed_incremental_state_fails_that_stream_only(sf, admin, config, sent, case):
    bad, key = BAD_STATES[case]
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.incremental)
    output = sf.read(config, catalog, StateBuilder().with_stream_state("Account", bad).build(), expect_failure=True)
    messages = config_errors(output)
    assert any("Account" in m and f"'{key}'" in m and "Reset" in m for m in messages), messages
    assert_only_first_fails(sf, admin, output, "Account")
    assert not [r for r in sent if "OR Id" in r or "x y" in r or "soon" in r]


@pytest.mark.parametrize("last_id", ["' OR Id != null", "x y", "001000000000001AAA' --"])
def test_malformed_full_refresh_state_fails_that_stream_only(sf, admin, config, sent, last_id):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.full_refresh)
    state = StateBuilder().with_stream_state("Account", {"last_id": last_id}).build()
    output = sf.read(config, catalog, state, expect_failure=True)
    assert any("Account" in m and "'last_id'" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, "Account")
    assert not [r for r in sent if last_id in r]


# -- unknown and hostile object names --------------------------------------------------------------------------------


def test_unknown_object_in_the_catalog_fails_alone_with_its_name(sf, admin, config):
    streams = sf.discover(config)
    ghost = dataclasses.replace(next(s for s in streams if s.name == "X__c"), name="No_Such_Object__c")
    catalog = sf.configured_catalog([ghost, *streams], ["No_Such_Object__c", "Contact"], SyncMode.incremental)
    state = StateBuilder().with_stream_state("No_Such_Object__c", {"cursor": "2024-01-01T00:00:00.000Z"}).build()
    output = sf.read(config, catalog, state, expect_failure=True)
    assert any("No_Such_Object__c" in m and "does not exist" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, "No_Such_Object__c")


def test_catalog_stream_named_in_another_case_fails_alone_naming_the_object(sf, admin, config):
    """Salesforce describes `x__c` as X__c: read under the object's own name, its records would match no stream of
    the catalog and vanish downstream (before, the stream was skipped with no error and exit 0)."""
    streams = sf.discover(config)
    lower = dataclasses.replace(next(s for s in streams if s.name == "X__c"), name="x__c")
    catalog = sf.configured_catalog([lower, *streams], ["x__c", "Contact"], SyncMode.incremental)
    output = sf.read(config, catalog, expect_failure=True)
    assert any("x__c" in m and "X__c" in m and "differ in case" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, "x__c")


def test_catalog_stream_outside_the_streams_setting_is_named(sf, org, admin):
    streams = sf.discover(sf.config(org))
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.full_refresh)
    output = sf.read(sf.config(org, streams=["Contact"]), catalog, expect_failure=True)
    assert any("Account" in m and "'streams'" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, "Account")


@pytest.mark.parametrize("name", ["Account' OR Id != null", "../Account", "Account?q=x", "Account%2F", "Account\n"])
def test_hostile_object_name_never_reaches_a_url_or_query(sf, admin, config, sent, name):
    streams = sf.discover(config)
    hostile = dataclasses.replace(next(s for s in streams if s.name == "Account"), name=name)
    catalog = sf.configured_catalog([hostile, *streams], [name, "Contact"], SyncMode.incremental)
    sent.clear()
    output = sf.read(config, catalog, expect_failure=True)
    assert any("not a valid Salesforce object name" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, name)
    # Only Contact was described and queried: the hostile name reached no path, no batch and no query.
    assert {m for r in sent for m in re.findall(r"sobjects/([^/'\"\s]+)", r)} == {"Contact"}
    assert {m for r in sent for m in re.findall(r"FROM (\S+)", r)} == {"Contact"}


# -- hostile field names ---------------------------------------------------------------------------------------------


def test_hostile_field_names_in_the_catalog_are_refused(sf, admin, config, sent):
    streams = sf.discover(config)
    account = next(s for s in streams if s.name == "Account")
    for field in INJECTIONS:
        account.json_schema["properties"][field] = {"type": ["string", "null"]}
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.incremental)
    output = sf.read(config, catalog, expect_failure=True)
    assert any("Account" in m and "not valid Salesforce field names" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, "Account")
    assert not [r for r in sent for field in INJECTIONS if field in r]


@pytest.mark.parametrize("field", [INJECTIONS[0], INJECTIONS[3], INJECTIONS[7]])
def test_hostile_cursor_field_is_refused(sf, admin, config, sent, field):
    streams = sf.discover(config)
    catalog = sf.configured_catalog(streams, ["Account", "Contact"], SyncMode.incremental, field)
    catalog.streams[1].cursor_field = None
    output = sf.read(config, catalog, expect_failure=True)
    assert any("cursor field" in m and "Account" in m for m in config_errors(output))
    assert_only_first_fails(sf, admin, output, "Account")
    assert not [r for r in sent if field in r]


def test_start_date_reaches_the_query_only_as_a_datetime_literal(sf, org, admin, sent):
    config = sf.config(org, start_date="2001-02-03", force_api="rest")
    streams = sf.discover(config)
    sf.read(config, sf.configured_catalog(streams, ["Contact"], SyncMode.incremental))
    queries = [r for r in sent if "FROM Contact" in r]
    assert queries and "SystemModstamp >= 2001-02-03T00:00:00.000Z" in queries[0]

"""A corpus of malformed configs, catalogs, states and destination input: each gets a clear error or a counted
reject, never a bare traceback; no good record is lost; hostile text round-trips byte-exact."""

from __future__ import annotations

import json

import pytest
from destination_messages import catalog as destination_catalog
from destination_messages import destination_config, record_line, state_line, written_rows
from reliability_harness import DESTINATION, SOURCE, TALLY, Run, configured_catalog, run

GENERIC = "something went wrong"


@pytest.fixture
def org(shared_org):
    """Every case here leaves the org usable for the next (refused inputs; writes under their own key prefix)."""
    return shared_org


def assert_clear_failure(result: Run, *words: str) -> None:
    assert result.returncode != 0, result.describe()
    assert result.errors, f"no error TRACE: {result.describe()}"
    messages = " ".join(e["message"] for e in result.errors)
    assert GENERIC not in messages.lower(), f"a generic message only: {result.describe()}"
    assert any(w.lower() in messages.lower() for w in words), f"the message does not name {words}: {messages}"
    TALLY["bad inputs tried"] += 1


def with_credentials(org, **changes) -> dict:
    return {**org.credentials("username_password"), **changes}


SOURCE_CONFIGS = {
    "missing credentials": (lambda org: {"streams": ["X__c"]}, ["credentials"]),
    "missing password": (
        lambda org: {"credentials": {k: v for k, v in org.credentials().items() if k != "password"}},
        ["password", "credentials"],
    ),
    "start_date not a date": (
        lambda org: {"credentials": org.credentials(), "start_date": "yesterday"},
        ["start_date"],
    ),
    "start_date wrong type": (lambda org: {"credentials": org.credentials(), "start_date": 20240101}, ["start_date"]),
    "force_api unknown": (lambda org: {"credentials": org.credentials(), "force_api": "soap"}, ["force_api"]),
    "budget out of range": (lambda org: {"credentials": org.credentials(), "api_budget_percent": 150}, ["budget"]),
    "budget wrong type": (lambda org: {"credentials": org.credentials(), "api_budget_percent": "most"}, ["budget"]),
    "streams wrong type": (lambda org: {"credentials": org.credentials(), "streams": 42}, ["streams"]),
    "login_url not a URL": (lambda org: {"credentials": with_credentials(org, login_url="not a url")}, ["login_url"]),
    "login_url ftp": (lambda org: {"credentials": with_credentials(org, login_url="ftp://x.example")}, ["login_url"]),
    "login_url http remote": (
        lambda org: {"credentials": with_credentials(org, login_url="http://login.salesforce.com")},
        ["https"],
    ),
    "wrong password": (
        lambda org: {"credentials": with_credentials(org, password="Wrong-Pass-123")},  # noqa: S106 - deliberately wrong
        ["password"],
    ),
    "wrong client secret": (
        lambda org: {"credentials": with_credentials(org, client_secret="wrong-secret-456")},  # noqa: S106
        ["client"],
    ),
    "expired refresh token": (
        lambda org: {"credentials": {**org.credentials("refresh_token"), "refresh_token": "expired-refresh-789"}},
        ["refresh"],
    ),
}


@pytest.mark.parametrize("case", list(SOURCE_CONFIGS))
def test_source_refuses_malformed_config_clearly(org, x_stream, case: str) -> None:
    make, words = SOURCE_CONFIGS[case]
    catalog = configured_catalog(x_stream)
    result = run(SOURCE, "read", config=make(org), catalog=catalog, org=org)
    assert_clear_failure(result, *words)
    assert not result.of_type("RECORD")


def bad_catalogs(stream: dict) -> dict[str, tuple[object, list[str]]]:
    unknown = {**stream, "name": "No_Such_Object__c"}
    return {
        "not JSON": ("{not json", ["catalog", "json"]),
        "empty object": ({}, ["streams", "catalog"]),
        "unknown object": (configured_catalog(unknown), ["No_Such_Object__c"]),
        "cursor not a datetime": (
            {"streams": [{**configured_catalog(stream)["streams"][0], "cursor_field": ["Name"]}]},
            ["cursor"],
        ),
        "bad sync mode": (
            {"streams": [{**configured_catalog(stream)["streams"][0], "sync_mode": "sideways"}]},
            ["sync"],
        ),
    }


@pytest.mark.parametrize(
    "case", ["not JSON", "empty object", "unknown object", "cursor not a datetime", "bad sync mode"]
)
def test_source_refuses_malformed_catalog_clearly(org, x_stream, case: str) -> None:
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    catalog, words = bad_catalogs(x_stream)[case]
    result = run(SOURCE, "read", config=config, catalog=catalog, org=org)
    assert_clear_failure(result, *words)


def stream_state(state: object) -> list[dict]:
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "X__c"}, "stream_state": state}}]


BAD_STATES = {
    "not JSON": ("[{broken", ["state", "json"]),
    "cursor not a date": (
        stream_state({"cursor_field": "SystemModstamp", "cursor": "soon", "last_id": ""}),
        ["cursor"],
    ),
    "cursor wrong type": (stream_state({"cursor_field": "SystemModstamp", "cursor": 17, "last_id": ""}), ["cursor"]),
    "last_id not an id": (
        stream_state({"cursor_field": "SystemModstamp", "cursor": "2024-01-01T00:00:00.000Z", "last_id": "x y"}),
        ["last_id", "id"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_source_refuses_malformed_state_clearly(org, x_stream, case: str) -> None:
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    catalog = configured_catalog(x_stream)
    state, words = BAD_STATES[case]
    result = run(SOURCE, "read", config=config, catalog=catalog, state=state, org=org)
    assert_clear_failure(result, *words)


HOSTILE = [
    'He said "hello", then left',
    "a,b,,c,",
    "line one\nline two\r\nline three",
    "tab\tseparated\tvalues",
    "=SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@import",
    "Zoë ßü 日本語 😀 \u202eevil",
    "back\\slash and 'single' quotes",
    '"',
    '""',
]


@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_hostile_text_round_trips_byte_exact(org, api: str) -> None:
    config = destination_config(org, api, bulk_threshold=1)
    rows = [
        {"External_Id__c": f"H-{i}", "Name": f"Hostile {i}", "Long_Text__c": text} for i, text in enumerate(HOSTILE)
    ]
    stdin = "".join(record_line(r) for r in rows) + state_line(len(rows))
    result = run(DESTINATION, "write", config=config, catalog=destination_catalog("append_dedup"), stdin=stdin, org=org)
    assert result.returncode == 0, result.describe()
    stored = {r["External_Id__c"]: r["Long_Text__c"] for r in written_rows(org, "H")}
    for r in rows:
        assert stored[r["External_Id__c"]] == r["Long_Text__c"], r["External_Id__c"]
    TALLY["hostile text values round-tripped"] += len(rows)


@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_bad_records_are_counted_rejects_and_good_ones_land(org, api: str, tmp_path) -> None:
    rejects = tmp_path / "rejects.jsonl"
    config = destination_config(org, api, bulk_threshold=1, rejected_records_path=str(rejects))
    good = [{"External_Id__c": f"G-{i}", "Name": f"Good {i}", "Integer__c": i} for i in range(5)]
    bad = [
        {"External_Id__c": "B-type", "Name": "Bad type", "Integer__c": "forty-two"},
        {"External_Id__c": "B-size", "Name": "x" * 100_000},
        {"External_Id__c": "B-rule", "Name": "Bad rule", "Number__c": -5},
    ]
    unknown = {"External_Id__c": "G-unknown", "Name": "Unknown field", "Not_A_Field__c": "ignored", "nested": {"a": 1}}
    stdin = "".join(record_line(r) for r in [good[0], bad[0], good[1], bad[1], good[2], unknown, bad[2], *good[3:]])
    stdin += state_line(9)
    result = run(
        DESTINATION,
        "write",
        config=config,
        catalog=destination_catalog("append_dedup"),
        stdin=stdin,
        org=org,
        written_files=[rejects],
    )
    assert result.returncode == 0, result.describe()
    (state,) = result.states
    assert state["destinationStats"]["rejectedRecordCount"] == len(bad)
    landed = {r["External_Id__c"] for r in written_rows(org, "G")}
    assert landed == {r["External_Id__c"] for r in good} | {"G-unknown"}
    assert not [r for r in written_rows(org, "B")]
    assert len(rejects.read_text().splitlines()) == len(bad)
    TALLY["bad inputs tried"] += len(bad) + 1


@pytest.mark.parametrize(
    "bad_line", ["{not json", '{"type": "RECORD"}', '{"type": "RECORD", "record": "text"}', "[1, 2]", '"just text"']
)
def test_malformed_stdin_line_fails_clearly_after_committing_earlier_records(org, bad_line: str) -> None:
    config = destination_config(org, "collections")
    stdin = record_line({"External_Id__c": "M-1", "Name": "Before"}) + state_line(1) + bad_line + "\n"
    stdin += record_line({"External_Id__c": "M-2", "Name": "After"}) + state_line(2)
    result = run(DESTINATION, "write", config=config, catalog=destination_catalog("append_dedup"), stdin=stdin, org=org)
    assert_clear_failure(result, "line 3", "line")
    assert [s["stream"]["stream_state"]["position"] for s in result.states] == [1]
    assert {r["External_Id__c"] for r in written_rows(org, "M")} >= {"M-1"}


DESTINATION_CONFIGS = {
    "missing object": (lambda org: {"credentials": org.credentials()}, ["object"]),
    "unknown object": (lambda org: destination_config(org, "collections", object="No_Such__c"), ["No_Such__c"]),
    "unknown api": (lambda org: destination_config(org, "soap"), ["api"]),
    "batch_size wrong type": (lambda org: destination_config(org, "collections", batch_size="big"), ["batch_size"]),
    "wrong password": (
        lambda org: {**destination_config(org, "collections"), "credentials": with_credentials(org, password="Nope-1")},  # noqa: S106
        ["password"],
    ),
}


@pytest.mark.parametrize("case", list(DESTINATION_CONFIGS))
def test_destination_refuses_malformed_config_clearly(org, case: str) -> None:
    make, words = DESTINATION_CONFIGS[case]
    stdin = record_line({"External_Id__c": "C-1", "Name": "x"}) + state_line(1)
    result = run(
        DESTINATION, "write", config=make(org), catalog=destination_catalog("append_dedup"), stdin=stdin, org=org
    )
    assert_clear_failure(result, *words)
    assert not result.states


def test_bad_config_json_is_refused_clearly(org) -> None:
    result = run(SOURCE, "check", config="{ this is not json", org=org)
    assert result.returncode != 0 or result.errors, result.describe()
    TALLY["bad inputs tried"] += 1
    assert json.dumps("emulator-password") not in result.stdout

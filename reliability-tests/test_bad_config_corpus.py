"""A corpus of broken files and hostile settings, given to every verb of both console scripts.

Each input must end in a clear config error that names what to fix (or, for inputs that are merely unusual, in a
working sync): never a generic "Something went wrong", never exit 0 with records missing, never a secret in the
output. Every input is judged and counted in RESULTS.md, as `bad-input corpus: ...` figures, before it is asserted on
(`inputs tried` counts every run of a connector here, the set-up read of the state-shape cases included, which gets
no verdict of its own).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from destination_messages import catalog as destination_catalog
from destination_messages import destination_config, record_line, state_line
from reliability_harness import (
    DESTINATION,
    SOURCE,
    TALLY,
    Live,
    Run,
    SecretLeak,
    Workdir,
    _env,
    configured_catalog,
    discover_stream,
    parse_messages,
    scan,
    secret_values,
)
from source_sync import PAGE, large_org

GENERIC = "something went wrong"
SECRET = "Corpus-Secret-4711"  # noqa: S105 - planted to be looked for
PLANTED = {"credentials": {"password": SECRET}}  # the secret planted in files the scan cannot parse as a config

FIGURES = ("inputs tried", "clear errors", "worked as expected", "generic crashes", "silent losses", "secrets found")
for _figure in FIGURES:
    TALLY[f"bad-input corpus: {_figure}"] += 0


def figure(name: str) -> None:
    TALLY[f"bad-input corpus: {name}"] += 1


def invoke(args: list[str], *, stdin: str | None = None, scan_config: Any = None, org: Any = None) -> Run:
    """Run a console script with these exact arguments; scan all it printed for secrets (counted, then raised)."""
    figure("inputs tried")
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=600, env=_env())
    try:
        scan({"stdout": done.stdout, "stderr": done.stderr}, scan_config, org)
    except SecretLeak:
        figure("secrets found")
        raise
    return Run(args, done.returncode, done.stdout, done.stderr, parse_messages(done.stdout))


def expect_config_error(result: Run, *words: str) -> None:
    """A failed run with a config_error TRACE whose message names one of `words`; counted before it is asserted."""
    errors = result.errors
    messages = " ".join(e.get("message", "") for e in errors)
    if GENERIC in messages.lower() or not errors:
        figure("generic crashes")
    elif result.returncode == 0 and (result.of_type("RECORD") or result.states):
        figure("silent losses")
    else:
        figure("clear errors")
    assert errors, f"no error TRACE: {result.describe()}"
    assert GENERIC not in messages.lower(), f"a generic message only: {result.describe()}"
    assert all(e.get("failure_type") == "config_error" for e in errors), result.describe()
    assert any(w.lower() in messages.lower() for w in words), f"the message names none of {words}: {messages}"


# -- broken files --------------------------------------------------------------------------------------------------

# What each broken file holds (None: the file does not exist; "dir": a directory), and a word its error must name.
BROKEN_FILES: dict[str, tuple[bytes | str | None, str]] = {
    "missing": (None, "cannot be read"),
    "empty": (b"", "is empty"),
    "whitespace only": (b"\n  \n", "is empty"),
    "not JSON": (b'{"credentials": {"password": "' + SECRET.encode() + b'"', "not valid JSON"),
    "a JSON array": (b'[{"credentials": {"password": "' + SECRET.encode() + b'"}}]', "holds a list"),
    "a JSON string": (json.dumps(SECRET).encode(), "holds a string"),
    "JSON null": (b"null", "holds null"),
    "a directory": ("dir", "is a directory"),
    "invalid UTF-8": (b'{"credentials": {"password": "\xc3\x28' + SECRET.encode() + b'"}}', "not UTF-8"),
    "UTF-16": ('{"credentials": {}}'.encode("utf-16"), "not UTF-8"),
    "nested 100,000 deep": (b"[" * 100_000, "nested too deeply"),
    "two documents": (b'{"credentials": {}}\n{"credentials": {}}', "not valid JSON"),
}
# Every verb of both scripts gets these; the others go to `check` (the same reader serves every verb).
EVERY_VERB = ["missing", "empty", "not JSON", "a JSON array", "a directory", "invalid UTF-8"]
# The catalog and state files only differ from a config in what their top level must be.
NOT_A_CATALOG = {"a JSON array": "no streams", "a JSON string": "no streams", "JSON null": "no streams"}
STATE_CASES = ["missing", "empty", "not JSON", "a JSON string", "a directory", "invalid UTF-8", "nested 100,000 deep"]


def broken_file(tmp_path: Path, case: str, name: str) -> str:
    content, _ = BROKEN_FILES[case]
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def write_json(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


@pytest.fixture
def org(shared_org):
    """Every case here is refused before it writes, or reads only: the org stays as it was for the next."""
    return shared_org


VERBS = [(SOURCE, "check"), (SOURCE, "discover"), (SOURCE, "read"), (DESTINATION, "check"),
         (DESTINATION, "discover"), (DESTINATION, "write")]  # fmt: skip


def verb_args(script: str, verb: str, config_path: str, tmp_path: Path, org, x_stream) -> tuple[list[str], str | None]:
    args, stdin = [script, verb, "--config", config_path], None
    if script == SOURCE and verb == "read":
        args += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(x_stream))]
    if script == DESTINATION and verb == "write":
        args += ["--catalog", write_json(tmp_path, "catalog.json", destination_catalog("append_dedup"))]
        stdin = record_line({"External_Id__c": "CORPUS-1", "Name": "never written"}) + state_line(1)
    return args, stdin


CONFIG_CASES = [(script, verb, case) for script, verb in VERBS for case in EVERY_VERB] + [
    (script, "check", case) for script in (SOURCE, DESTINATION) for case in BROKEN_FILES if case not in EVERY_VERB
]


@pytest.mark.parametrize(
    ("script", "verb", "case"), CONFIG_CASES, ids=[f"{Path(s).name}-{v}-{c}" for s, v, c in CONFIG_CASES]
)
def test_broken_config_file_is_a_named_config_error(org, x_stream, tmp_path, script, verb, case) -> None:
    config_path = broken_file(tmp_path, case, "config.json")
    args, stdin = verb_args(script, verb, config_path, tmp_path, org, x_stream)
    result = invoke(args, stdin=stdin, scan_config=PLANTED, org=org)
    expect_config_error(result, BROKEN_FILES[case][1])
    assert "config file" in " ".join(e["message"] for e in result.errors)
    assert not result.of_type("RECORD") and not result.states


@pytest.mark.parametrize("case", EVERY_VERB + ["a JSON string"])
@pytest.mark.parametrize("script", [SOURCE, DESTINATION], ids=["source", "destination"])
def test_broken_catalog_file_is_a_named_config_error(org, x_stream, tmp_path, script, case) -> None:
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    if script == DESTINATION:
        config = destination_config(org, "collections")
    args = [script, "read" if script == SOURCE else "write", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", broken_file(tmp_path, case, "catalog.json")]
    stdin = record_line({"External_Id__c": "CORPUS-2", "Name": "never written"}) + state_line(1)
    result = invoke(args, stdin=stdin if script == DESTINATION else None, scan_config=config, org=org)
    expect_config_error(result, NOT_A_CATALOG.get(case, BROKEN_FILES[case][1]))
    assert "catalog file" in " ".join(e["message"] for e in result.errors)


@pytest.mark.parametrize("case", STATE_CASES)
def test_broken_state_file_is_a_named_config_error(org, x_stream, tmp_path, case) -> None:
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(x_stream))]
    args += ["--state", broken_file(tmp_path, case, "state.json")]
    result = invoke(args, scan_config=config, org=org)
    words = "must be a list" if case == "a JSON string" else BROKEN_FILES[case][1]
    expect_config_error(result, words)
    assert "state file" in " ".join(e["message"] for e in result.errors)
    assert not result.of_type("RECORD")


def test_a_byte_order_mark_before_the_config_simply_works(org, tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text("\ufeff" + json.dumps({"credentials": org.credentials(), "streams": ["X__c"]}), encoding="utf-8")
    result = invoke([SOURCE, "check", "--config", str(path)], scan_config={"credentials": org.credentials()}, org=org)
    (status,) = result.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED", result.describe()
    figure("worked as expected")


# -- hostile login URLs ---------------------------------------------------------------------------------------------

URL_PASSWORD = "Url-Pass-0815"  # noqa: S105 - planted to be looked for
BAD_LOGIN_URLS = {
    "password in userinfo": (f"https://admin:{URL_PASSWORD}@login.salesforce.com", "user name or password"),
    "password in userinfo, bad port": (f"https://admin:{URL_PASSWORD}@login.salesforce.com:99999", "password"),
    "password in userinfo, no scheme": (f"admin:{URL_PASSWORD}@login.salesforce.com", "login_url"),
    "host of two dots": ("https://..", "host name"),
    "64-character label": (f"https://{'a' * 64}.my.salesforce.com", "host name"),
    "port 99999": ("https://login.salesforce.com:99999", "port"),
    "port 44x": ("https://login.salesforce.com:44x", "port"),
    "space in host": ("https://login salesforce.com", "host name"),
    "empty port": ("https://login.salesforce.com:", "port"),
    "token path": ("https://login.salesforce.com/services/oauth2/token", "path"),
    "unclosed IPv6": ("https://[::1", "login_url"),
    "not ASCII": ("https://lögin.salesforce.com", "host name"),
    "javascript": ("javascript:alert(1)", "login_url"),
}


@pytest.mark.parametrize("case", list(BAD_LOGIN_URLS))
@pytest.mark.parametrize("script", [SOURCE, DESTINATION], ids=["source", "destination"])
def test_hostile_login_url_is_a_named_config_error_that_never_echoes_it(org, tmp_path, script, case) -> None:
    url, word = BAD_LOGIN_URLS[case]
    credentials = {**org.credentials(), "login_url": url}
    config = {"credentials": credentials, "streams": ["X__c"]}
    if script == DESTINATION:
        config = {**destination_config(org, "collections"), "credentials": credentials}
    planted = {**config, "credentials": {**credentials, "password": URL_PASSWORD}}  # the scan looks for it
    result = invoke([script, "check", "--config", write_json(tmp_path, "config.json", config)], scan_config=planted)
    (status,) = result.of_type("CONNECTION_STATUS") or [None]
    if status is not None:  # check answers with a FAILED status
        message = status["connectionStatus"].get("message") or ""
        failed = status["connectionStatus"]["status"] == "FAILED"
        figure("clear errors" if failed and GENERIC not in message.lower() else "generic crashes")
        assert failed and "login_url" in message and word in message, result.describe()
    else:
        expect_config_error(result, word)
        assert "login_url" in " ".join(e["message"] for e in result.errors)


@pytest.mark.parametrize("script", [SOURCE, DESTINATION], ids=["source", "destination"])
def test_login_url_in_capitals_with_spaces_simply_works(org, tmp_path, script) -> None:
    credentials = {**org.credentials(), "login_url": "  " + org.url.replace("http://", "HTTP://") + "/ "}
    config = {"credentials": credentials, "streams": ["X__c"]}
    if script == DESTINATION:
        config = {**destination_config(org, "collections"), "credentials": credentials}
    result = invoke(
        [script, "check", "--config", write_json(tmp_path, "config.json", config)], scan_config=config, org=org
    )
    (status,) = result.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED", result.describe()
    figure("worked as expected")


# -- a flaky token endpoint -------------------------------------------------------------------------------------------


def test_source_read_survives_resets_at_login_and_at_the_re_login(org, x_stream, tmp_path) -> None:
    """A connection reset at the token endpoint, at the first login and at the re-login after a session expiry
    mid-read, is retried like a data call: every record is delivered (before, it was a config error)."""
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    org.admin.add_fault(kind="reset", token_endpoint=True, count=2)
    org.admin.add_fault(path="/query", kind="expire_session", count=1)
    org.admin.add_fault(kind="reset", token_endpoint=True, count=1)  # taken by the re-login, after the two above
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(x_stream, "full_refresh"))]
    result = invoke(args, scan_config=config, org=org)
    delivered = {r["Id"] for r in result.records("X__c")}
    expected = {r["Id"] for r in org.admin.records("X__c") if not r.get("IsDeleted")}
    if result.returncode == 0 and delivered != expected:
        figure("silent losses")
    assert result.returncode == 0 and not result.errors, result.describe()
    assert delivered == expected
    assert org.admin.faults() == []  # every fault was met
    figure("worked as expected")


# -- date-times out of range ------------------------------------------------------------------------------------------

SETTINGS = {
    "start_date year 1 with an offset": ({"start_date": "0001-01-01T00:00:00+01:00"}, "start_date"),
    "start_date year 9999 with an offset": ({"start_date": "9999-12-31T23:59:59-01:00"}, "start_date"),
    "start_date year 999": ({"start_date": "0999-06-01"}, "start_date"),
    "start_date Feb 30": ({"start_date": "2024-02-30"}, "start_date"),
    "start_date hour 24": ({"start_date": "2024-01-01T24:00:00Z"}, "start_date"),
    "lookback_seconds 1e12": ({"lookback_seconds": 1_000_000_000_000}, "lookback_seconds"),
    "lookback_seconds 1e20": ({"lookback_seconds": 10**20}, "lookback_seconds"),
    "window_days 1e10": ({"window_days": 1e10}, "window_days"),
    "window_days 1e-9": ({"window_days": 1e-9}, "window_days"),
    "api_budget_percent a string": ({"api_budget_percent": "half"}, "api_budget_percent"),
    "streams a list of numbers": ({"streams": [1, 2]}, "streams"),
    "unknown auth_type": ({"credentials": {"auth_type": "kerberos"}}, "auth_type"),
}


@pytest.mark.parametrize("case", list(SETTINGS))
def test_source_setting_out_of_range_is_a_named_config_error(org, x_stream, tmp_path, case) -> None:
    changes, setting = SETTINGS[case]
    config = {"credentials": org.credentials(), "streams": ["X__c"], **changes}
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(x_stream))]
    result = invoke(args, scan_config=config, org=org)
    expect_config_error(result, setting)
    assert not result.of_type("RECORD")


CURSORS = {
    "year 1 with an offset": "0001-01-01T00:00:00+01:00",
    "year 9999 with an offset": "9999-12-31T23:59:59-01:00",
    "year 999": "0999-01-01T00:00:00.000Z",
    "not a date-time": "2024-13-45T99:00:00Z",
    "a number as text": "1700000000",
}


@pytest.mark.parametrize("case", list(CURSORS))
def test_state_cursor_out_of_range_fails_its_stream_naming_the_cursor(org, x_stream, tmp_path, case) -> None:
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    saved = {"cursor_field": "SystemModstamp", "cursor": CURSORS[case], "last_id": ""}
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "X__c"}, "stream_state": saved}}]
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(x_stream))]
    args += ["--state", write_json(tmp_path, "state.json", state)]
    result = invoke(args, scan_config=config, org=org)
    expect_config_error(result, "cursor")
    assert not result.of_type("RECORD")


# -- state in other shapes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["legacy", "global with shared_state"])
def test_state_in_another_shape_resumes_where_the_last_sync_stopped(org, x_stream, tmp_path, shape) -> None:
    """Before, the CDK ignored a legacy state (the sync started over, exit 0) and crashed on a shared_state."""
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    base = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    base += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(x_stream))]
    first = invoke(base, scan_config=config, org=org)
    assert first.returncode == 0 and first.records("X__c"), first.describe()
    saved = first.states[-1]["stream"]["stream_state"]
    if shape == "legacy":
        state = [{"data": {"X__c": saved}}]
    else:
        per_stream = {"stream_descriptor": {"name": "X__c"}, "stream_state": saved}
        state = [{"type": "GLOBAL", "global": {"shared_state": {"lsn": 17}, "stream_states": [per_stream]}}]
    again = invoke([*base, "--state", write_json(tmp_path, "state.json", state)], scan_config=config, org=org)
    assert again.returncode == 0 and not again.errors, again.describe()
    assert again.records("X__c") == [], "the saved state was not used"
    assert any(word in " ".join(again.logs) for word in ("legacy state", "shared_state"))
    figure("worked as expected")


# -- values longer than the csv module allows -----------------------------------------------------------------------


@pytest.mark.parametrize("api", ["bulk", "rest"])
def test_a_value_over_131072_characters_is_delivered_whatever_the_api(org_factory, tmp_path, api) -> None:
    """Before, Bulk reads crashed on it (`field larger than field limit`) and lost the records of that page."""
    org = org_factory(records=5)
    org.admin.add_field("X__c", "Huge__c", "textarea", length=400_000)
    token = org.access_token()
    values = {}
    for number, row in enumerate(org.admin.records("X__c")):
        values[row["Id"]] = f"{number}:" + "z" * (131_072 + 1_000 * number) + '"\n,'
        response = requests.patch(
            f"{org.url}/services/data/v62.0/sobjects/X__c/{row['Id']}",
            json={"Huge__c": values[row["Id"]]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 204, response.text
    config = {"credentials": org.credentials(), "streams": ["X__c"], "force_api": api}
    stream = discover_stream(config, "X__c", org)
    # Only these columns: X__c has a base64 field, which Bulk cannot select (the source then reads over REST).
    properties = stream["json_schema"]["properties"]
    stream["json_schema"]["properties"] = {name: properties[name] for name in ("Id", "SystemModstamp", "Huge__c")}
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", configured_catalog(stream))]
    result = invoke(args, scan_config=config, org=org)
    used_bulk = any(key.startswith("POST /jobs/query") for key in org.admin.calls()["by_endpoint"])
    assert used_bulk == (api == "bulk")
    delivered = {r["Id"]: r.get("Huge__c") for r in result.records("X__c")}
    if result.returncode == 0 and delivered != values:
        figure("silent losses")
    assert result.returncode == 0, result.describe()
    assert delivered == values
    figure("worked as expected")


# -- secrets on disk after a kill -------------------------------------------------------------------------------------


def test_a_killed_read_leaves_no_copy_of_the_config_in_tmpdir(org_factory, tmp_path, monkeypatch) -> None:
    """The CDK writes the config (every secret in it) to a temporary folder for the run; kill -9 left it there."""
    org, config, catalog = large_org(org_factory, 3_000)
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", catalog)]
    work = Workdir()  # before TMPDIR changes: only the connector's own temporary files go there
    private = tmp_path / "tmpdir"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(private))
    live = Live(args, work)
    records = 0
    for message in live.messages():
        records += message["type"] == "RECORD"
        if records >= PAGE + 1:
            live.kill()
            break
    live.finish(config, org)
    figure("inputs tried")
    assert live.process.returncode == -signal.SIGKILL, "the read ended before the kill: make the org larger"
    secrets = [value.encode() for value in secret_values(config).values()]
    left = [str(p) for p in private.rglob("*") if p.is_file() and any(s in p.read_bytes() for s in secrets)]
    if left:
        figure("secrets found")
    assert left == [], f"secrets left on disk after kill -9: {left}"
    TALLY["source kill -9 survived"] += 1
    figure("worked as expected")


# -- more hostile settings and catalogs -----------------------------------------------------------------------------

# Raw config text (JSON's NaN and Infinity tokens included, which Python's parser accepts) and the setting to be named.
RAW_SETTINGS = {
    "api_budget_percent NaN": ('"api_budget_percent": NaN', "api_budget_percent"),
    "window_days Infinity": ('"window_days": Infinity', "window_days"),
    "lookback_seconds -Infinity": ('"lookback_seconds": -Infinity', "lookback_seconds"),
    "credentials a string": ('"credentials": "password=secret"', "credentials"),
    "credentials null": ('"credentials": null', "credentials"),
    "credentials a list": ('"credentials": [1]', "credentials"),
    "streams an object": ('"streams": {"Account": true}', "streams"),
    "streams a blank pattern": ('"streams": ["  "]', "streams"),
    "force_api in capitals": ('"force_api": "BULK"', "force_api"),
    "include_purged_deletes a string": ('"include_purged_deletes": "yes"', "include_purged_deletes"),
}


@pytest.mark.parametrize("case", list(RAW_SETTINGS))
def test_source_hostile_setting_is_a_named_config_error(org, tmp_path, case) -> None:
    text, setting = RAW_SETTINGS[case]
    credentials = json.dumps(org.credentials())
    body = text if text.startswith('"credentials"') else f'"credentials": {credentials}, {text}'
    path = tmp_path / "config.json"
    path.write_text("{" + body + "}")
    result = invoke([SOURCE, "check", "--config", str(path)], scan_config={"credentials": org.credentials()}, org=org)
    (status,) = result.of_type("CONNECTION_STATUS") or [None]
    if status is not None:
        message = status["connectionStatus"].get("message") or ""
        failed = status["connectionStatus"]["status"] == "FAILED"
        figure("clear errors" if failed and GENERIC not in message.lower() else "generic crashes")
        assert failed and setting in message, result.describe()
    else:
        expect_config_error(result, setting)


def test_catalog_stream_in_another_case_fails_with_a_config_error(org, x_stream, tmp_path) -> None:
    config = {"credentials": org.credentials(), "streams": ["X__c"]}
    catalog = configured_catalog({**x_stream, "name": "x__c"})
    args = [SOURCE, "read", "--config", write_json(tmp_path, "config.json", config)]
    args += ["--catalog", write_json(tmp_path, "catalog.json", catalog)]
    result = invoke(args, scan_config=config, org=org)
    if result.returncode == 0 and not result.errors:
        figure("silent losses")  # the stream was skipped and the sync called complete
        raise AssertionError(f"the stream was skipped without a word: {result.describe()}")
    expect_config_error(result, "differ in case")

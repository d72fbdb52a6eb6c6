"""A corpus of hostile and unusual destination input, run through the installed console script: values that JSON,
CSV or a Salesforce field cannot carry as they are, stdin lines that are not messages, and settings that look like
something else. Every case is judged the same way and counted in RESULTS.md:

- silent loss: a record sent that is neither in the org nor counted as rejected by a STATE, when the write exited 0,
  or a STATE emitted before a failure whose records are not all in the org or rejected;
- generic crash: a failure without an error TRACE, or whose message is the CDK's generic one, or that does not name
  what to fix (the line or the setting);
- secret found: any secret of the config or access token in anything the connector printed or wrote.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from destination_messages import catalog, destination_config, state_line
from reliability_harness import DESTINATION, TALLY, Run, SecretLeak, Workdir, _env, command, parse_messages, run, scan

BIG = 12345678901234567890123
PREFIX = "DI"  # every key of this module: the org is shared with nothing else, but rows stay recognisable
GENERIC = "something went wrong"


@pytest.fixture(scope="module")
def org(shared_org):
    return shared_org


def line(data: dict[str, Any] | str) -> bytes:
    """A RECORD line; `data` as a dict, or as raw JSON text (for numbers json.dumps would not write as given)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return b'{"type": "RECORD", "record": {"stream": "people", "emitted_at": 1, "data": ' + text.encode() + b"}}\n"


def state(n: int) -> bytes:
    return state_line(n).encode()


def rows(org, prefix: str) -> dict[str, dict[str, Any]]:
    return {
        r["External_Id__c"]: r
        for r in org.admin.records("X__c")
        if str(r.get("External_Id__c") or "").startswith(prefix) and not r.get("IsDeleted")
    }


def run_bytes(org, config: dict, stdin: bytes, mode: str = "append_dedup", written: list[Path] = ()) -> Run:
    """run() for stdin given as bytes (the harness's text mode cannot send bytes that are not UTF-8)."""
    work = Workdir()
    try:
        args = command(DESTINATION, "write", work, config, catalog(mode))
        done = subprocess.run(args, input=stdin, capture_output=True, timeout=600, env=_env())
    finally:
        work.close()
    stdout, stderr = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    texts = {"stdout": stdout, "stderr": stderr}
    texts.update({str(p): Path(p).read_text(errors="replace") for p in written if Path(p).is_file()})
    scan(texts, config, org)
    return Run(args, done.returncode, stdout, stderr, parse_messages(stdout))


@dataclass
class Case:
    """One input. `keys`: the External_Id__c of every record sent. `fails`: words of which the error must name one
    (None: the write must succeed). `check`: a further look at the org once judged."""

    config: dict[str, Any] = field(default_factory=dict)
    stdin: bytes = b""
    keys: list[str] = field(default_factory=list)
    fails: list[str] | None = None
    check: Callable[[Any], None] | None = None
    mode: str = "append_dedup"


def judge(org, name: str, case: Case, tmp_path: Path) -> Run:
    settings = dict(case.config)
    config = destination_config(org, settings.pop("api", "collections"), **settings)
    TALLY["destination bad inputs tried"] += 1
    files = [Path(config["rejected_records_path"])] if config.get("rejected_records_path") else []
    try:
        result = run_bytes(org, config, case.stdin, case.mode, files)
    except SecretLeak:
        TALLY["destination secrets found"] += 1
        raise
    TALLY["destination secrets found"] += 0
    crash = generic_crash(result, case)
    TALLY["destination generic crashes"] += crash
    lost = silent_losses(org, result, case)
    TALLY["destination silent losses"] += len(lost)
    assert not crash, f"{name}: {result.describe()}"
    assert not lost, f"{name}: records lost without a trace: {lost[:5]}; {result.describe()}"
    if case.check is not None:
        case.check(org)
    return result


def generic_crash(result: Run, case: Case) -> bool:
    if case.fails is None:
        return result.returncode != 0
    messages = " ".join(e.get("message", "") for e in result.errors)
    return (
        result.returncode == 0
        or not result.errors
        or GENERIC in messages.lower()
        or not any(word.lower() in messages.lower() for word in case.fails)
    )


def silent_losses(org, result: Run, case: Case) -> list[str]:
    """Keys promised (every record of a write that exited 0; those before its last STATE for one that failed: a case
    lists only those) that are neither in the org nor counted as rejected by a STATE."""
    if result.returncode != 0 and not result.states:
        return []  # refused before anything was sent: the failure says so
    rejected = sum(int(s.get("destinationStats", {}).get("rejectedRecordCount") or 0) for s in result.states)
    found = rows(org, PREFIX)
    missing = [k for k in case.keys if k not in found]
    return missing if len(missing) > rejected else []


def key(name: str, i: int = 0) -> str:
    return f"{PREFIX}-{name}-{i}"


# -- cases -------------------------------------------------------------------------------------------------------


def big_integer_keys(api: str) -> Case:
    keys = [str(BIG + i) for i in range(2)]

    def check(org) -> None:
        stored = {r["External_Id__c"]: r for r in org.admin.records("X__c")}
        assert all(stored[k]["Text__c"] == f"{PREFIX}-{k}" for k in keys)

    stdin = b"".join(line(f'{{"External_Id__c": {k}, "Text__c": "{PREFIX}-{k}"}}') for k in keys) + state(2)
    return Case({"api": api, "bulk_threshold": 1}, stdin, [], check=check)


def numbers_a_field_cannot_hold(api: str) -> Case:
    bad = ["12345678901234567890", "1e20", "9" * 400, "1e999999999", '"NaN"', '"Infinity"', '"-inf"', "true",
           '"1,000"', '""']  # fmt: skip
    keys = [key(f"num-{api}", i) for i in range(len(bad) + 1)]
    stdin = b"".join(line(f'{{"External_Id__c": "{k}", "Number__c": {v}}}') for k, v in zip(keys, bad, strict=False))
    stdin += line({"External_Id__c": keys[-1], "Number__c": 1.25}) + state(1)

    def check(org) -> None:
        found = rows(org, key(f"num-{api}", "")[:-1])
        assert found[keys[-1]]["Number__c"] == 1.25
        assert list(found) == [keys[-1]]  # "" is no number: rejected through either API

    return Case({"api": api, "bulk_threshold": 1}, stdin, keys, check=check)


def empty_string_clears(api: str) -> Case:
    k = key(f"empty-{api}")
    stdin = line({"External_Id__c": k, "Text__c": "before", "Phone__c": "1"}) + state(1)
    stdin += line({"External_Id__c": k, "Text__c": ""}) + state(2)

    def check(org) -> None:
        row = rows(org, k)[k]
        assert row.get("Text__c") is None and row["Phone__c"] == "1"

    return Case({"api": api, "bulk_threshold": 1}, stdin, [k], check=check)


def one_huge_text_value() -> Case:
    keys = [key("huge", i) for i in range(1000)]
    lines = [line({"External_Id__c": k, "Long_Text__c": "fine"}) for k in keys]
    lines.insert(400, line({"External_Id__c": key("huge", -1), "Long_Text__c": "x" * 200_000}))

    def check(org) -> None:
        assert len(rows(org, key("huge", "")[:-1])) == 1000

    return Case({"api": "bulk"}, b"".join(lines) + state(1), [*keys, key("huge", -1)], check=check)


def value_that_fails_whole_bulk_jobs() -> Case:
    keys = [key("b64", i) for i in range(300)]
    lines = [line({"External_Id__c": k, "Text__c": "fine"}) for k in keys]
    lines.insert(150, line({"External_Id__c": key("b64", -1), "Attachment__c": "QUJD" * 50_000}))

    def check(org) -> None:
        assert len(rows(org, key("b64", "")[:-1])) == 301

    return Case({"api": "bulk", "flush_interval_seconds": 0}, b"".join(lines) + state(1), keys, check=check)


CONTROL = [chr(c) for c in range(32)] + ["\x7f", "\r\n", "\u2028", "\ufeff"]


def control_characters(api: str) -> Case:
    keys = [key(f"ctl-{api}", i) for i in range(len(CONTROL))]
    stdin = b"".join(
        line({"External_Id__c": k, "Long_Text__c": f"a{c}b{c}"}) for k, c in zip(keys, CONTROL, strict=True)
    )

    def check(org) -> None:
        found = rows(org, key(f"ctl-{api}", "")[:-1])
        assert {k: found[k]["Long_Text__c"] for k in keys} == {
            k: f"a{c}b{c}" for k, c in zip(keys, CONTROL, strict=True)
        }
        TALLY["hostile text values round-tripped"] += len(keys)

    return Case({"api": api, "bulk_threshold": 1}, stdin + state(1), keys, check=check)


def dates_out_of_range() -> Case:
    bad = [{"Date__c": "0000-01-01"}, {"Date__c": "10000-01-01"}, {"DateTime__c": "9999-12-31T23:59:59-14:00"},
           {"DateTime__c": "0001-01-01T00:00:00+14:00"}, {"Time__c": "25:61"}, {"Checkbox__c": "maybe"},
           {"Date__c": "2024-02-29"}]  # fmt: skip
    # The last record is good: a stream whose every record is rejected fails the sync under the default reject policy.
    keys = [key("date", i) for i in range(len(bad))]
    stdin = b"".join(line({"External_Id__c": k, **v}) for k, v in zip(keys, bad, strict=True)) + state(1)
    return Case({"api": "bulk", "bulk_threshold": 1}, stdin, keys)


def line_shapes() -> Case:
    """Duplicate keys (the last wins), CRLF endings, a BOM before line 1, 2,000 unknown fields, blank lines."""
    keys = [key("shape", i) for i in range(4)]
    stdin = b"\xef\xbb\xbf" + line(f'{{"External_Id__c": "{keys[0]}", "Text__c": "one", "Text__c": "two"}}')
    stdin += line({"External_Id__c": keys[1]}).replace(b"\n", b"\r\n") + b"\n\n   \n"
    stdin += line({"External_Id__c": keys[2], **{f"unknown_{i}": i for i in range(2000)}})
    stdin += line({"External_Id__c": keys[3], "Text__c": "\u0000\ud7ff\ue000\U0010ffff"}) + state(1)

    def check(org) -> None:
        assert rows(org, keys[0])[keys[0]]["Text__c"] == "two"

    return Case({}, stdin, keys, check=check)


def bad_line(bad: bytes, batch_bulk: bool = True) -> Case:
    """Records and STATEs, then a bad line: what came before is written and its STATEs emitted."""
    name = f"bad-{abs(hash(bad)) % 10_000}"
    keys = [key(name, i) for i in range(4)]
    stdin = line({"External_Id__c": keys[0]}) + line({"External_Id__c": keys[1]}) + state(2)
    stdin += line({"External_Id__c": keys[2]}) + state(3) + line({"External_Id__c": keys[3]})
    stdin += bad + b"\n" + line({"External_Id__c": key(name, 9)}) + state(9)
    config = {"api": "bulk", "flush_interval_seconds": 0} if batch_bulk else {}

    def check(org) -> None:
        assert sorted(rows(org, key(name, "")[:-1])) == sorted(keys)

    return Case(config, stdin, keys, fails=["line 7"], check=check)


BAD_LINES = {
    "invalid UTF-8": b'{"type": "RECORD", "record": {"\xff\xfe": 1}}',
    "truncated UTF-8": b'{"type": "RECORD", "record": {"stream": "people", "data": {"a": "\xe2\x82"}}}',
    "lone surrogate": b'{"type": "RECORD", "record": {"stream": "people", "data": {"a": "\\ud800"}, "emitted_at": 1}}',
    "nested 5000 deep": b"[" * 5000 + b"]" * 5000,
    "5000-digit integer": b'{"type": "STATE", "state": {"data": ' + b"9" * 5000 + b"}}",
    "NaN literal": b'{"type": "RECORD", "record": {"stream": "people", "data": {"a": NaN}, "emitted_at": 1}}',
    "trailing garbage": b'{"type": "STATE", "state": {"data": {}}} {}',
    "BOM not on line 1": b'\xef\xbb\xbf{"type": "STATE", "state": {"data": {}}}',
    "NUL byte": b"\x00",
    "emitted_at text": b'{"type": "RECORD", "record": {"stream": "people", "data": {}, "emitted_at": "now"}}',
}


def rejects_path(path: str) -> Case:
    stdin = line({"External_Id__c": key("rp")}) + state(1)
    return Case({"rejected_records_path": path}, stdin, [], fails=["rejected_records_path"])


def config_case(settings: dict[str, Any], words: list[str]) -> Case:
    return Case(settings, line({"External_Id__c": key("cfg")}) + state(1), [], fails=words)


CASES: dict[str, Callable[[Path], Case]] = {
    "big integer keys (collections)": lambda tmp: big_integer_keys("collections"),
    "big integer keys (bulk)": lambda tmp: big_integer_keys("bulk"),
    "numbers a field cannot hold (collections)": lambda tmp: numbers_a_field_cannot_hold("collections"),
    "numbers a field cannot hold (bulk)": lambda tmp: numbers_a_field_cannot_hold("bulk"),
    "empty string clears (collections)": lambda tmp: empty_string_clears("collections"),
    "empty string clears (bulk)": lambda tmp: empty_string_clears("bulk"),
    "one 200,000-character value among 1,000 (bulk)": lambda tmp: one_huge_text_value(),
    "a value that fails whole Bulk jobs": lambda tmp: value_that_fails_whole_bulk_jobs(),
    "control characters (collections)": lambda tmp: control_characters("collections"),
    "control characters (bulk)": lambda tmp: control_characters("bulk"),
    "dates and booleans out of range": lambda tmp: dates_out_of_range(),
    "line shapes": lambda tmp: line_shapes(),
    **{f"bad line: {name} (batch bulk)": (lambda tmp, b=b: bad_line(b)) for name, b in BAD_LINES.items()},
    "bad line: invalid UTF-8 (real-time collections)": lambda tmp: bad_line(BAD_LINES["invalid UTF-8"], False),
    "rejected_records_path a directory": lambda tmp: rejects_path(str(tmp)),
    "rejected_records_path /dev/full": lambda tmp: rejects_path("/dev/full"),
    "rejected_records_path under a file": lambda tmp: rejects_path(str(Path(__file__)) + "/rejects.jsonl"),
    "api_version not served": lambda tmp: config_case({"api_version": "99.0"}, ["api_version"]),
    "object of 100,000 characters": lambda tmp: config_case({"object": "X" * 100_000}, ["'object'"]),
    "two mappings onto one field": lambda tmp: config_case(
        {"column_mapping": [{"source": "a", "target": "Text__c"}, {"source": "b", "target": "TEXT__C"}]},
        ["column_mapping"],
    ),
    "mapping target of 300 characters": lambda tmp: config_case(
        {"column_mapping": [{"source": "a", "target": "T" * 300}]}, ["column_mapping"]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_destination_input_corpus(org, name: str, tmp_path) -> None:
    judge(org, name, CASES[name](tmp_path), tmp_path)


def test_catalog_object_of_100000_characters_is_a_config_error(org) -> None:
    TALLY["destination bad inputs tried"] += 1
    stream = catalog("append_dedup")
    stream["streams"][0]["destination_object_name"] = "Y" * 100_000
    result = run(DESTINATION, "write", config=destination_config(org, "collections"), catalog=stream,
                 stdin=line({"External_Id__c": key("cat")}).decode() + state_line(1), org=org)  # fmt: skip
    crash = result.returncode == 0 or not result.errors or "destination_object_name" not in result.errors[0]["message"]
    TALLY["destination generic crashes"] += crash
    assert not crash, result.describe()
    assert result.errors[0]["failure_type"] == "config_error"

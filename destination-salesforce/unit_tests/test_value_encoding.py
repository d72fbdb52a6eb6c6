"""Values kept exact from stdin to the org, and the same outcome whichever API writes them: integers beyond 64 bits,
numbers a field cannot hold, NaN, empty strings, values longer than their field."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_salesforce.mapping import CSV_NULL, ValueFormatError, csv_value, field_limits, format_json
from destination_salesforce.protocol import message_to_json, parse_lines

BIG = 12345678901234567890123


def record_line(data: dict | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return b'{"type": "RECORD", "record": {"stream": "s", "emitted_at": 1, "data": ' + text.encode() + b"}}\n"


def state_line(n: int) -> bytes:
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "s"}, "stream_state": {"n": n}}}}).encode() + b"\n"  # fmt: skip


def test_integers_beyond_64_bits_and_long_decimals_are_read_exactly() -> None:
    lines = [record_line(f'{{"a": {BIG}, "b": -{BIG}, "c": 0.12345678901234567890123, "d": {"9" * 400}, "e": 1e400}}')]
    (message,) = parse_lines(lines)
    data = message.record.data
    assert data["a"] == BIG and data["b"] == -BIG and data["d"] == int("9" * 400)
    assert data["c"] == Decimal("0.12345678901234567890123") and data["e"] == Decimal("1e400")


def test_a_state_holding_a_big_integer_is_echoed_exactly() -> None:
    line = b'{"type": "STATE", "state": {"type": "LEGACY", "data": {"cursor": ' + str(BIG).encode() + b"}}}"
    (message,) = parse_lines([line])
    assert json.loads(message_to_json(message))["state"]["data"]["cursor"] == BIG


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(literal: str) -> None:
    with pytest.raises(AirbyteTracedException, match="line 1 .*not JSON"):
        list(parse_lines([record_line(f'{{"a": {literal}, "b": {BIG}}}')]))


def test_a_byte_order_mark_on_the_first_line_is_accepted_but_not_later() -> None:
    first = b"\xef\xbb\xbf" + record_line({"a": 1})
    assert [m.record.data for m in parse_lines([first, record_line({"a": 2})])] == [{"a": 1}, {"a": 2}]
    with pytest.raises(AirbyteTracedException, match="line 2 .*not JSON"):
        list(parse_lines([record_line({"a": 1}), b"\xef\xbb\xbf" + record_line({"a": 2})]))


def test_invalid_utf8_names_its_line_and_keeps_the_lines_before() -> None:
    bad = parse_lines([record_line({"a": 1}), b"\n", b'{"type": "RECORD", "record": {"a": "caf\xe9"}}\n'])
    assert next(bad).record.data == {"a": 1}
    with pytest.raises(AirbyteTracedException) as raised:
        next(bad)
    assert raised.value.message.startswith("Input line 3 is not a valid Airbyte message: it is not valid UTF-8")


@pytest.mark.parametrize(
    ("sf_type", "value", "code"),
    [
        ("double", BIG, "NUMBER_OUTSIDE_VALID_RANGE"),
        ("double", 10**19, "NUMBER_OUTSIDE_VALID_RANGE"),
        ("double", 1e20, "NUMBER_OUTSIDE_VALID_RANGE"),
        ("double", "1e20", "NUMBER_OUTSIDE_VALID_RANGE"),
        ("int", 10**19, "NUMBER_OUTSIDE_VALID_RANGE"),
        ("double", "NaN", "INVALID_VALUE"),
        ("double", "Infinity", "INVALID_VALUE"),
        ("currency", "-inf", "INVALID_VALUE"),
        ("int", "nan", "INVALID_VALUE"),
        ("double", Decimal("NaN"), "INVALID_VALUE"),
    ],
)
def test_numbers_a_field_cannot_hold_are_refused_with_a_code(sf_type: str, value: object, code: str) -> None:
    with pytest.raises(ValueFormatError) as raised:
        format_json(sf_type, value, "Number__c", 16)
    assert raised.value.code == code and raised.value.target == "Number__c"


def test_numbers_within_range_stay_exact_and_json_serialisable() -> None:
    assert format_json("double", 10**15, "n", 16) == 10**15
    assert format_json("double", Decimal("12.25"), "n", 16) == 12.25
    assert format_json("int", "123456789", "n", 9) == 123456789
    assert format_json("string", BIG, "t", 255) == str(BIG)
    assert format_json("string", Decimal("0.12345678901234567890123"), "t") == "0.12345678901234567890123"
    assert format_json(None, BIG, "Account__r.External_Id__c") == str(BIG)  # a lookup key: exact text


def test_text_longer_than_its_field_is_refused_before_upload() -> None:
    limits = field_limits([
        {"name": "T", "type": "string", "length": 100},
        {"name": "N", "type": "double", "precision": 18, "scale": 2},
        {"name": "I", "type": "int", "digits": 9},
        {"name": "D", "type": "double", "precision": 0},
        {"name": "R", "type": "reference", "length": 18},
    ])  # fmt: skip
    assert limits == {"T": 100, "N": 16, "I": 9, "D": 18}
    assert format_json("string", "x" * 100, "T", 100) == "x" * 100
    with pytest.raises(ValueFormatError) as raised:
        format_json("string", "x" * 101, "T", 100)
    assert raised.value.code == "STRING_TOO_LONG" and "101 characters" in str(raised.value)


def test_csv_clears_a_field_for_an_empty_string_as_collections_does() -> None:
    assert csv_value("") == CSV_NULL and csv_value(None) == CSV_NULL and csv_value(" ") == " "


# -- end to end, through both APIs -------------------------------------------------------------------------------


def run(org, h, api: str, lines: list[bytes], tmp_path) -> tuple[list, list[dict]]:
    rejects = tmp_path / f"rejects-{api}.jsonl"
    cfg = h.config(org, api=api, external_id_field="External_Id__c", rejected_records_path=str(rejects))
    out = h.write(cfg, h.catalog(h.stream("s")), parse_lines(lines))
    found = [json.loads(line) for line in rejects.read_text().splitlines()] if rejects.exists() else []
    return out, found


@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_big_integer_keys_stay_apart_and_exact(emulator, h, api: str, tmp_path) -> None:
    lines = [record_line(f'{{"External_Id__c": {BIG + i}, "Text__c": {BIG + i}}}') for i in range(2)]
    out, rejected = run(emulator, h, api, [*lines, state_line(1)], tmp_path)
    assert rejected == [] and out[0].state.destinationStats.rejectedRecordCount == 0
    rows = {r["External_Id__c"]: r["Text__c"] for r in h.live(emulator, "X__c") if r.get("External_Id__c")}
    assert rows[str(BIG)] == str(BIG) and rows[str(BIG + 1)] == str(BIG + 1)


@pytest.mark.parametrize("api", ["collections", "bulk"])
def test_out_of_range_and_nan_numbers_are_rejected_and_the_rest_lands(emulator, h, api: str, tmp_path) -> None:
    bad = {
        "N-20": "12345678901234567890",
        "N-1e20": "1e20",
        "N-nan": '"NaN"',
        "N-inf": '"Infinity"',
        "N-400": "9" * 400,
    }
    lines = [record_line(f'{{"External_Id__c": "{key}", "Number__c": {value}}}') for key, value in bad.items()]
    lines.append(record_line({"External_Id__c": "N-ok", "Number__c": 12.5}))
    out, rejected = run(emulator, h, api, [*lines, state_line(1)], tmp_path)
    assert out[0].state.destinationStats.rejectedRecordCount == len(bad)
    codes = {line["data"]["External_Id__c"]: line["error"]["code"] for line in rejected}
    too_big = "NUMBER_OUTSIDE_VALID_RANGE"
    assert codes == {"N-20": too_big, "N-1e20": too_big, "N-nan": "INVALID_VALUE", "N-inf": "INVALID_VALUE",
                     "N-400": too_big}  # fmt: skip
    rows = {r["External_Id__c"]: r for r in h.live(emulator, "X__c") if str(r.get("External_Id__c")).startswith("N-")}
    assert list(rows) == ["N-ok"] and rows["N-ok"]["Number__c"] == 12.5


def test_an_empty_string_clears_a_field_through_bulk_as_through_collections(emulator_factory, h, tmp_path) -> None:
    results = {}
    for api in ("collections", "bulk"):
        org = emulator_factory(seed="demo", records=0)
        first = [record_line({"External_Id__c": f"E-{i}", "Text__c": "before", "Phone__c": "123"}) for i in range(3)]
        run(org, h, api, [*first, state_line(1)], tmp_path)
        second = [
            record_line({"External_Id__c": "E-0", "Text__c": "", "Phone__c": None}),
            record_line({"External_Id__c": "E-1", "Text__c": "after"}),  # Phone__c absent: left as it is
            record_line({"External_Id__c": "E-2", "Phone__c": ""}),
        ]
        run(org, h, api, [*second, state_line(2)], tmp_path)
        results[api] = {r["External_Id__c"]: (r.get("Text__c"), r.get("Phone__c")) for r in h.live(org, "X__c")}
    assert results["collections"] == {"E-0": (None, None), "E-1": ("after", "123"), "E-2": ("before", None)}
    assert results["bulk"] == results["collections"]


def test_one_value_longer_than_its_field_is_rejected_and_the_bulk_job_holds_the_rest(emulator, h, tmp_path) -> None:
    lines = [record_line({"External_Id__c": f"L-{i}", "Long_Text__c": f"fine {i}"}) for i in range(1000)]
    lines.insert(500, record_line({"External_Id__c": "L-huge", "Long_Text__c": "x" * 200_000}))
    emulator.admin.reset_calls()
    out, rejected = run(emulator, h, "bulk", [*lines, state_line(1)], tmp_path)
    assert out[0].state.destinationStats.rejectedRecordCount == 1
    assert [(line["data"]["External_Id__c"], line["error"]["code"]) for line in rejected] == [
        ("L-huge", "STRING_TOO_LONG")
    ]
    assert "32768" in rejected[0]["error"]["message"]
    assert len([r for r in h.live(emulator, "X__c") if str(r.get("External_Id__c")).startswith("L-")]) == 1000
    jobs = [e for e in emulator.admin.calls()["by_endpoint"] if e == "POST /jobs/ingest"]
    assert jobs, "written through Bulk"


def test_an_exponent_beyond_a_double_keeps_its_value_and_a_5000_digit_integer_is_named() -> None:
    (message,) = parse_lines([record_line('{"a": 1e-400, "b": 2.5e308}')])
    assert message.record.data == {"a": Decimal("1e-400"), "b": Decimal("2.5e308")}
    with pytest.raises(AirbyteTracedException, match="line 1 .*integer of more than 4,300 digits"):
        list(parse_lines([record_line('{"a": ' + "9" * 5000 + "}")]))


def test_a_state_holding_a_number_beyond_a_double_is_still_json() -> None:
    line = b'{"type": "STATE", "state": {"type": "LEGACY", "data": {"a": 1e400, "b": 0.5, "c": ' + str(BIG).encode()
    (message,) = parse_lines([line + b"}}}"])
    assert json.loads(message_to_json(message))["state"]["data"] == {"a": "1E+400", "b": 0.5, "c": BIG}


def test_a_checkbox_takes_1_and_0_read_exactly_too() -> None:
    assert format_json("boolean", Decimal("1"), "c") is True and format_json("boolean", Decimal("0"), "c") is False

import pytest
from destination_salesforce.mapping import (
    PreparedRecord,
    RecordFilter,
    RecordMapper,
    ValueFormatError,
    csv_value,
    dedupe_last_wins,
    format_json,
    json_body,
    split_rounds,
)
from destination_salesforce.spec import ColumnRule, Condition


def test_filter_all_conditions_must_hold() -> None:
    f = RecordFilter(
        [Condition("country", "in", ["FR", "DE"]), Condition("score", ">=", 10), Condition("email", "not_null")]
    )
    assert f.matches({"country": "FR", "score": "12", "email": "a@x"})
    assert not f.matches({"country": "FR", "score": 9, "email": "a@x"})
    assert not f.matches({"country": "US", "score": 12, "email": "a@x"})
    assert not f.matches({"country": "DE", "score": 12, "email": None})


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        ("=", 5, "5.0", True),
        ("!=", "a", None, True),
        ("<", "b", "a", True),
        ("<=", 3, 4, False),
        (">", 2, 10, True),  # numeric, not textual ("10" < "2")
        ("not_in", ["x"], "y", True),
        ("is_null", None, None, True),
        ("contains", "ell", "hello", True),
        ("starts_with", "he", "hello", True),
        ("starts_with", "lo", "hello", False),
    ],
)
def test_filter_operators(operator: str, value: object, actual: object, expected: bool) -> None:
    assert RecordFilter([Condition("f", operator, value)]).matches({"f": actual}) is expected


def test_filter_reaches_nested_fields_and_refuses_unknown_operators() -> None:
    assert RecordFilter([Condition("a.b", "=", 1)]).matches({"a": {"b": 1}})
    with pytest.raises(ValueError, match="unknown operator"):
        RecordFilter([Condition("f", "~", 1)])
    with pytest.raises(ValueError, match="list"):
        RecordFilter([Condition("f", "in", "x")])


@pytest.mark.parametrize(
    ("sf_type", "value", "expected"),
    [
        ("datetime", "2024-01-01T21:12:21Z", "2024-01-01T21:12:21.000Z"),
        ("datetime", "2024-01-01 21:12:21 UTC", "2024-01-01T21:12:21.000Z"),
        ("datetime", "2024-01-01T23:00:00.5+02:00", "2024-01-01T21:00:00.500Z"),
        ("datetime", "2024-01-01T21:12:21", "2024-01-01T21:12:21.000Z"),
        ("date", "2024-03-04T10:00:00Z", "2024-03-04"),
        ("date", "2024-03-04", "2024-03-04"),
        ("time", "10:11:12", "10:11:12.000Z"),
        ("boolean", "TRUE", True),
        ("boolean", 0, False),
        ("int", "42", 42),
        ("double", "1.5", 1.5),
        ("currency", 3, 3),
        ("multipicklist", ["a", "b"], "a;b"),
        ("string", 12, "12"),
        ("string", True, "true"),
        ("string", None, None),
    ],
)
def test_format_json(sf_type: str, value: object, expected: object) -> None:
    assert format_json(sf_type, value) == expected


@pytest.mark.parametrize(("sf_type", "value"), [("int", "1.5"), ("boolean", "maybe"), ("date", "soon")])
def test_format_json_refuses_values_the_field_cannot_take(sf_type: str, value: object) -> None:
    with pytest.raises(ValueFormatError, match="Field__c"):
        format_json(sf_type, value, "Field__c")


def test_csv_values() -> None:
    assert csv_value(None) == "#N/A"
    assert csv_value(True) == "true"
    assert csv_value(1e20) == "100000000000000000000"
    assert csv_value("a,b") == "a,b"  # quoting is the CSV writer's job


def test_mapper_maps_columns_and_keeps_absent_apart_from_null() -> None:
    mapper = RecordMapper(
        [ColumnRule("name", "Name"), ColumnRule("ext", "External_Id__c"), ColumnRule("when", "Date__c"),
         ColumnRule("acct", "Account__r.External_Id__c")],
        {"Name": "string", "External_Id__c": "string", "Date__c": "date"},
        key_fields=["External_Id__c"],
    )  # fmt: skip
    prepared = mapper.prepare(7, {"name": "A", "ext": "E-1", "when": None, "acct": "P-1", "other": 1})
    assert prepared.values == {
        "Name": "A",
        "External_Id__c": "E-1",
        "Date__c": None,
        "Account__r.External_Id__c": "P-1",
    }
    assert prepared.key == "External_Id__c=E-1"
    assert mapper.prepare(8, {"name": "B"}).values == {"Name": "B"}
    assert mapper.prepare(8, {"name": "B"}).key == "record #8"
    assert json_body(prepared.values)["Account__r"] == {"External_Id__c": "P-1"}


def test_mapper_without_rules_passes_only_writable_fields() -> None:
    mapper = RecordMapper([], {"Name": "string", "Id": "id", "CreatedDate": "datetime"}, passthrough={"Name"})
    assert mapper.map({"Name": "A", "Id": "001", "CreatedDate": "2024-01-01", "junk": 1}) == {"Name": "A"}


def _records(*keys: object) -> list[PreparedRecord]:
    return [PreparedRecord(i + 1, str(k), {"K": k, "n": i}) for i, k in enumerate(keys)]


def test_dedupe_keeps_the_last_record_of_each_key() -> None:
    kept, superseded = dedupe_last_wins(_records("a", "b", "a", None, "b", "c"), "K")
    assert [(r.values["K"], r.values["n"]) for r in kept] == [("a", 2), (None, 3), ("b", 4), ("c", 5)]
    assert [r.values["n"] for r in superseded] == [0, 1]


def test_split_rounds_never_repeats_a_key_within_a_round() -> None:
    rounds = split_rounds(_records("a", "b", "a", "a", None), "K")
    assert [[r.values["n"] for r in rnd] for rnd in rounds] == [[0, 1, 4], [2], [3]]

from datetime import UTC, datetime, timedelta

import pytest
from source_salesforce import soql
from source_salesforce.soql import Position


def test_identifier_rejects_injection():
    assert soql.identifier("Foo__c") == "Foo__c"
    hostile = ("Id, Name", "Id FROM User--", "1abc", "", "Name'", "Name\n", "Account\r\n", "../Account", "A%2F", "Ñame")
    for bad in hostile:
        with pytest.raises(soql.SoqlError):
            soql.identifier(bad)


def test_id_and_string_literals():
    assert soql.id_literal("001000000000001AAA") == "'001000000000001AAA'"
    with pytest.raises(soql.SoqlError):
        soql.id_literal("001' OR Id != '")
    assert soql.string_literal("O'Brien\\x") == "'O\\'Brien\\\\x'"


@pytest.mark.parametrize(
    "text",
    ["2024-01-31T12:00:00.000+0000", "2024-01-31T12:00:00Z", "2024-01-31T13:00:00+01:00", "2024-01-31T12:00:00"],
)
def test_parse_datetime_formats(text):
    assert soql.parse_datetime(text) == datetime(2024, 1, 31, 12, tzinfo=UTC)


def test_parse_date_is_midnight_utc_and_format_keeps_millis():
    assert soql.parse_datetime("2024-01-31") == datetime(2024, 1, 31, tzinfo=UTC)
    moment = datetime(2024, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
    assert soql.format_datetime(moment) == "2024-01-31T12:00:00.123Z"
    assert soql.parse_datetime(soql.format_datetime(moment)) == soql.truncate_to_millis(moment)


def test_keyset_conditions_and_select():
    moment = datetime(2024, 1, 31, tzinfo=UTC)
    assert soql.after_position("SystemModstamp", Position(moment)) == "SystemModstamp >= 2024-01-31T00:00:00.000Z"
    assert soql.after_position("SystemModstamp", Position(moment, "001000000000001AAA")) == (
        "(SystemModstamp > 2024-01-31T00:00:00.000Z OR "
        "(SystemModstamp = 2024-01-31T00:00:00.000Z AND Id > '001000000000001AAA'))"
    )
    query = soql.select("Account", ["Id", "Name"], ["Id > 'x'"], order_by=["SystemModstamp", "Id"], limit=5)
    assert query == "SELECT Id,Name FROM Account WHERE Id > 'x' ORDER BY SystemModstamp ASC,Id ASC LIMIT 5"


def test_windows_cover_range_without_gaps():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=65)
    parts = list(soql.windows(start, end, timedelta(days=30)))
    assert parts[0][0] == start and parts[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    assert len(parts) == 3
    assert list(soql.windows(end, end, timedelta(days=1))) == []
    assert soql.midpoint(start, start + timedelta(seconds=3)) == start + timedelta(seconds=1.5)


@pytest.mark.parametrize("value", ["001000000000001AAA\n", "001000000000001", "x y", 17, None, "001' OR Id != '"])
def test_record_id_check_is_exact(value):
    assert soql.is_record_id(value) is (value == "001000000000001")


def test_cursor_conditions_hold_only_formatted_literals():
    position = Position(soql.parse_datetime("2024-01-31T12:00:00+01:00"), "001000000000001AAA")
    assert soql.after_position("SystemModstamp", position) == (
        "(SystemModstamp > 2024-01-31T11:00:00.000Z OR "
        "(SystemModstamp = 2024-01-31T11:00:00.000Z AND Id > '001000000000001AAA'))"
    )
    with pytest.raises(soql.SoqlError):
        soql.after_position("SystemModstamp OR Id != null", position)
    with pytest.raises(soql.SoqlError):
        soql.after_position("SystemModstamp", Position(position.cursor, "001000000000001AAA' OR Id != '"))


def test_a_year_before_1000_keeps_four_digits_in_a_literal():
    """strftime's %Y writes year 999 as `999`: Salesforce answers MALFORMED_QUERY."""
    assert soql.format_datetime(datetime(999, 3, 4, 5, 6, 7, 8000, tzinfo=UTC)) == "0999-03-04T05:06:07.008Z"
    assert soql.format_datetime(datetime(1700, 1, 1, tzinfo=UTC)) == "1700-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31T23:59:59.999Z"]
)
def test_datetimes_outside_salesforce_years_are_value_errors(text):
    with pytest.raises(ValueError, match="outside the date-times Salesforce stores"):
        soql.parse_datetime(text)

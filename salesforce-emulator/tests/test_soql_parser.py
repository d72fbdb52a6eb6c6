"""The SOQL parser alone: syntax accepted, literal decoding, date constants and MALFORMED_QUERY errors."""

from __future__ import annotations

import datetime as dt

import pytest
from salesforce_emulator.soql import MALFORMED_QUERY, SoqlError, parse
from salesforce_emulator.soql.query import And, Comparison, DateRange, Includes, InList, Literal, Not, Or

TODAY = dt.date(2024, 5, 15)  # a Wednesday


def where_value(condition_text: str):
    query = parse(f"SELECT Id FROM Account WHERE {condition_text}", today=TODAY)
    assert isinstance(query.where, Comparison | InList | Includes)
    return query.where


def test_full_query_structure_and_case_insensitive_keywords() -> None:
    query = parse(
        "select Id, owner.Name, Account.Owner.Name from Contact c where Name = 'a' "
        "order by Name desc nulls first, Id limit 10 offset 5"
    )
    assert query.object_name == "Contact"
    assert query.alias == "c"
    assert [f.parts for f in query.select] == [("Id",), ("owner", "Name"), ("Account", "Owner", "Name")]
    assert [(o.field.text, o.descending, o.nulls_first) for o in query.order_by] == [
        ("Name", True, True),
        ("Id", False, True),
    ]
    assert (query.limit, query.offset) == (10, 5)


def test_order_by_defaults_follow_soql_nulls_first_for_asc_last_for_desc() -> None:
    query = parse("SELECT Id FROM Account ORDER BY Name ASC, Id DESC, Rating NULLS LAST, Site DESC NULLS FIRST")
    assert [(o.descending, o.nulls_first) for o in query.order_by] == [
        (False, True),
        (True, False),
        (False, False),
        (True, True),
    ]


def test_count() -> None:
    query = parse("SELECT COUNT() FROM Account WHERE Name != null")
    assert query.is_count and query.select == []


def test_keyword_prefixes_stay_field_names() -> None:
    query = parse("SELECT LimitAmount__c, OrderNumber, Notes__c, Selected FROM Account")
    assert [f.text for f in query.select] == ["LimitAmount__c", "OrderNumber", "Notes__c", "Selected"]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"'it\'s'", "it's"),
        (r"'say \"hi\"'", 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'a\nb\tc\rd\be\ff'", "a\nb\tc\rd\be\ff"),
        (r"'100\%'", "100\\%"),
        (r"'under\_score'", "under\\_score"),
        ("'unicode é ü'", "unicode é ü"),
        ("''", ""),
    ],
)
def test_string_escapes(literal: str, expected: str) -> None:
    assert where_value(f"Name = {literal}").value.value == expected


@pytest.mark.parametrize(
    ("literal", "pattern"),
    [
        (r"'50\%%'", "50\\%%"),  # literal percent, then a wildcard
        (r"'a\_b_'", "a\\_b_"),
        (r"'back\\slash%'", "back\\\\slash%"),  # a literal backslash is escaped for LIKE
        ("'plain%'", "plain%"),
    ],
)
def test_like_patterns_keep_wildcards_and_escape_literals(literal: str, pattern: str) -> None:
    assert where_value(f"Name LIKE {literal}").value.like_pattern == pattern


def test_illegal_escape_is_malformed() -> None:
    with pytest.raises(SoqlError) as caught:
        parse(r"SELECT Id FROM Account WHERE Name = 'a\qb'")
    assert caught.value.error_code == MALFORMED_QUERY
    assert "Illegal character sequence '\\q' in string literal." in caught.value.message
    assert "ERROR at Row:1:Column:37" in caught.value.message


@pytest.mark.parametrize(
    ("literal", "stored"),
    [
        ("2024-01-31T10:00:00Z", "2024-01-31T10:00:00.000+0000"),
        ("2024-01-31T10:00:00.123Z", "2024-01-31T10:00:00.123+0000"),
        ("2024-01-31T10:00:00.5Z", "2024-01-31T10:00:00.500+0000"),
        ("2024-01-31T10:00:00+02:00", "2024-01-31T08:00:00.000+0000"),
        ("2024-01-31T23:30:00.000-01:00", "2024-02-01T00:30:00.000+0000"),
        ("2024-06-29T00:00:00.000+00:00", "2024-06-29T00:00:00.000+0000"),
        ("2024-01-01T00:30:00+0100", "2023-12-31T23:30:00.000+0000"),
    ],
)
def test_datetime_literals_normalise_to_stored_utc(literal: str, stored: str) -> None:
    value = where_value(f"CreatedDate >= {literal}").value
    assert (value.kind, value.value) == ("datetime", stored)


def test_other_literals() -> None:
    date = where_value("CloseDate = 2024-01-31").value
    assert isinstance(date, Literal) and (date.kind, date.value) == ("date", "2024-01-31")
    assert where_value("Amount > 12").value.value == 12
    assert where_value("Amount > -1.5").value.value == -1.5
    assert where_value("IsActive = TRUE").value.value is True
    assert where_value("IsActive = false").value.value is False
    assert where_value("Name = NULL").value.kind == "null"
    assert where_value("Name <> 'x'").operator == "!="


def test_invalid_date_is_malformed() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM Account WHERE CloseDate = 2024-02-30")
    assert caught.value.error_code == MALFORMED_QUERY


@pytest.mark.parametrize(
    ("constant", "start", "end"),
    [
        ("TODAY", "2024-05-15", "2024-05-16"),
        ("YESTERDAY", "2024-05-14", "2024-05-15"),
        ("TOMORROW", "2024-05-16", "2024-05-17"),
        ("THIS_WEEK", "2024-05-12", "2024-05-19"),
        ("LAST_WEEK", "2024-05-05", "2024-05-12"),
        ("THIS_MONTH", "2024-05-01", "2024-06-01"),
        ("LAST_MONTH", "2024-04-01", "2024-05-01"),
        ("NEXT_MONTH", "2024-06-01", "2024-07-01"),
        ("THIS_QUARTER", "2024-04-01", "2024-07-01"),
        ("LAST_QUARTER", "2024-01-01", "2024-04-01"),
        ("THIS_YEAR", "2024-01-01", "2025-01-01"),
        ("LAST_YEAR", "2023-01-01", "2024-01-01"),
        ("LAST_N_DAYS:3", "2024-05-12", "2024-05-16"),
        ("NEXT_N_DAYS:3", "2024-05-16", "2024-05-19"),
        ("N_DAYS_AGO:2", "2024-05-13", "2024-05-14"),
        ("LAST_N_MONTHS:5", "2023-12-01", "2024-05-01"),
        ("last_90_days", "2024-02-15", "2024-05-16"),
        ("LAST_N_YEARS:2", "2022-01-01", "2024-01-01"),
    ],
)
def test_date_constants_resolve_to_day_ranges(constant: str, start: str, end: str) -> None:
    value = where_value(f"CloseDate = {constant}").value
    assert isinstance(value, DateRange)
    assert (value.start.isoformat(), value.end.isoformat()) == (start, end)


def test_date_constant_needing_n_without_it_is_malformed() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM Account WHERE CloseDate = LAST_N_DAYS")
    assert caught.value.error_code == MALFORMED_QUERY


def test_boolean_structure_and_precedence() -> None:
    query = parse("SELECT Id FROM A WHERE (a = 1 OR b = 2) AND NOT c = 3 AND d IN ('x', 'y') AND e NOT IN (1)")
    assert isinstance(query.where, And)
    first, second, third, fourth = query.where.items
    assert isinstance(first, Or) and len(first.items) == 2
    assert isinstance(second, Not)
    assert isinstance(third, InList) and not third.negated and [v.value for v in third.values] == ["x", "y"]
    assert isinstance(fourth, InList) and fourth.negated


def test_includes_and_excludes() -> None:
    where = where_value("Tags__c INCLUDES ('a;b', 'c')")
    assert isinstance(where, Includes) and not where.negated
    assert [v.value for v in where.values] == ["a;b", "c"]
    assert where_value("Tags__c excludes ('a')").negated


@pytest.mark.parametrize(
    ("text", "column", "token"),
    [
        ("SELECT Id FROM Account WHERE", 29, "<EOF>"),
        ("SELECT Id FROM Account WHERE a = 1 AND b = 2 OR c = 3", 46, "OR"),
        ("SELECT Id FROM Account WHERE a = 1 OR b = 2 AND c = 3", 45, "AND"),
        ("SELECT Id, , Name FROM Account", 12, ","),
        ("SELECT Id FROM Account LIMIT x", 30, "x"),
        ("SELECT Id FROM Account GROUP Name", 30, "Name"),
        ("SELECT Id FROM Account WHERE Name = Foo", 37, "Foo"),
    ],
)
def test_syntax_errors_point_at_the_token(text: str, column: int, token: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(text)
    error = caught.value
    assert error.error_code == MALFORMED_QUERY
    caret = " " * (column - 1) + "^"
    assert error.message == f"\n{text}\n{caret}\nERROR at Row:1:Column:{column}\nunexpected token: '{token}'"


def test_unterminated_string_and_stray_character() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM Account WHERE Name = 'abc")
    assert caught.value.error_code == MALFORMED_QUERY
    assert "ERROR at Row:1:Column:37" in caught.value.message
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM Account WHERE Name = #")
    assert "no viable alternative at character '#'" in caught.value.message


def test_multiline_query_reports_the_row() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id\nFROM Account\nWHERE Name = = 'x'")
    expected = "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: '='"
    assert caught.value.message == expected

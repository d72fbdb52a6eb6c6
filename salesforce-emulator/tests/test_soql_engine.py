"""The SOQL engine against a real in-memory SQLite laid out per the storage contract, with a small fake schema."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from salesforce_emulator.soql import INVALID_FIELD, INVALID_TYPE, MALFORMED_QUERY, QueryPlan, SoqlError, compile_query

TODAY = dt.date(2024, 5, 15)

# --- a fake schema implementing the Protocols --------------------------------------------------------------------


@dataclass
class Field:
    name: str
    type: str
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    filterable: bool = True
    sortable: bool = True
    compound_field_name: str | None = None


@dataclass
class Obj:
    name: str
    fields: list[Field]
    queryable: bool = True

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name.lower() == name.lower()), None)


@dataclass
class Schema:
    objects: list[Obj]

    def object(self, name: str) -> Obj | None:
        return next((o for o in self.objects if o.name.lower() == name.lower()), None)


def address(prefix: str) -> list[Field]:
    compound = f"{prefix}Address"
    parts = [("Street", "textarea"), ("City", "string"), ("State", "string"), ("PostalCode", "string"),
             ("Country", "string"), ("Latitude", "double"), ("Longitude", "double"),
             ("GeocodeAccuracy", "picklist")]  # fmt: skip
    return [Field(compound, "address", filterable=False, sortable=False)] + [
        Field(prefix + part, kind, compound_field_name=compound) for part, kind in parts
    ]


COMMON = [Field("Id", "id"), Field("IsDeleted", "boolean")]
USER = Obj(
    "User",
    [
        *COMMON,
        Field("Name", "string"),
        Field("IsActive", "boolean"),
        Field("ManagerId", "reference", ["User"], "Manager"),
    ],  # fmt: skip
)
ACCOUNT = Obj(
    "Account",
    [
        *COMMON,
        Field("Name", "string"),
        Field("OwnerId", "reference", ["User"], "Owner"),
        Field("ParentId", "reference", ["Account"], "Parent"),
        Field("Industry", "picklist"),
        Field("AnnualRevenue", "currency"),
        Field("NumberOfEmployees", "int"),
        Field("Active__c", "boolean"),
        Field("Tags__c", "multipicklist", sortable=False),
        Field("CreatedDate", "datetime"),
        Field("LastActivityDate", "date"),
        Field("Description", "textarea", filterable=False, sortable=False),
        *address("Billing"),
        Field("Location__c", "location", filterable=False, sortable=False),
        Field("Location__Latitude__s", "double", compound_field_name="Location__c"),
        Field("Location__Longitude__s", "double", compound_field_name="Location__c"),
    ],
)
CONTACT = Obj(
    "Contact",
    [
        *COMMON,
        Field("LastName", "string"),
        Field("AccountId", "reference", ["Account"], "Account"),
        Field("Partner__c", "reference", ["Account"], "Partner__r"),
        Field("OwnerId", "reference", ["Group", "User"], "Owner"),  # polymorphic; Group is not in this org
    ],
)
EVENT = Obj("Alert__e", [Field("Message__c", "string")], queryable=False)
SCHEMA = Schema([USER, ACCOUNT, CONTACT, EVENT])

SQL_TYPES = {"boolean": "INTEGER", "int": "INTEGER", "currency": "REAL", "double": "REAL"}


def oid(prefix: str, n: int) -> str:
    return f"{prefix}xx00000000{n:03d}AAA"


U1, U2, U3 = oid("005", 1), oid("005", 2), oid("005", 3)
A1, A2, A3, A4, A5 = (oid("001", n) for n in range(1, 6))
C1, C2, C3 = oid("003", 1), oid("003", 2), oid("003", 3)

USERS = [
    {"Id": U1, "Name": "Ada", "IsActive": 1, "ManagerId": None},
    {"Id": U2, "Name": "Bob", "IsActive": 0, "ManagerId": U1},
    {"Id": U3, "Name": "Gone", "IsActive": 1, "ManagerId": None, "IsDeleted": 1},
]
ACCOUNTS = [
    {"Id": A1, "Name": "Acme", "OwnerId": U1, "Industry": "Energy", "AnnualRevenue": 1500.5, "NumberOfEmployees": 10,
     "Active__c": 1, "Tags__c": "red;green", "CreatedDate": "2024-01-31T08:00:00.000+0000",
     "LastActivityDate": "2024-05-15", "BillingCity": "Paris", "BillingCountry": "France", "BillingLatitude": 48.85,
     "Location__Latitude__s": 1.5, "Location__Longitude__s": -2.25},
    {"Id": A2, "Name": "beta 50% off", "OwnerId": U2, "ParentId": A1, "Industry": "Retail", "AnnualRevenue": 99.0,
     "NumberOfEmployees": 200, "Active__c": 0, "Tags__c": "green", "CreatedDate": "2024-03-01T00:00:00.000+0000",
     "LastActivityDate": "2024-05-01"},
    {"Id": A3, "Name": "Gamma_Co", "OwnerId": None, "Industry": None, "AnnualRevenue": None, "NumberOfEmployees": None,
     "Active__c": None, "Tags__c": None, "CreatedDate": "2024-05-15T12:00:00.000+0000", "LastActivityDate": None},
    {"Id": A4, "Name": "O'Brien \\ Sons", "OwnerId": U1, "Industry": "Energy", "NumberOfEmployees": 5,
     "Active__c": 1, "Tags__c": "blue;red;yellow", "CreatedDate": "2023-12-31T23:59:59.999+0000"},
    {"Id": A5, "Name": "Deleted Inc", "IsDeleted": 1, "OwnerId": U1},
]  # fmt: skip
CONTACTS = [
    {"Id": C1, "LastName": "Smith", "AccountId": A2, "Partner__c": A1, "OwnerId": U2},
    {"Id": C2, "LastName": "Jones", "AccountId": None, "Partner__c": None, "OwnerId": U1},
    {"Id": C3, "LastName": "Brown", "AccountId": A3, "Partner__c": None, "OwnerId": None},
]


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    for obj, rows in ((USER, USERS), (ACCOUNT, ACCOUNTS), (CONTACT, CONTACTS)):
        stored = [f for f in obj.fields if f.type not in ("address", "location")]
        columns = ", ".join(
            f'"{f.name}" {"TEXT PRIMARY KEY" if f.name == "Id" else SQL_TYPES.get(f.type, "TEXT")}' for f in stored
        )
        connection.execute(f'CREATE TABLE "{obj.name}" ({columns})')
        for row in rows:
            values = [row.get(f.name, 0 if f.name == "IsDeleted" else None) for f in stored]
            marks = ", ".join("?" * len(stored))
            connection.execute(f'INSERT INTO "{obj.name}" VALUES ({marks})', values)
    yield connection
    connection.close()


def plan(soql: str, **options: object) -> QueryPlan:
    return compile_query(soql, SCHEMA, today=TODAY, **options)  # type: ignore[arg-type]


def run(db: sqlite3.Connection, soql: str, **options: object) -> list[dict]:
    compiled = plan(soql, **options)
    return [compiled.record(row, "62.0") for row in db.execute(compiled.sql, compiled.params)]


def ids(db: sqlite3.Connection, where: str, obj: str = "Account", **options: object) -> list[str]:
    return [r["Id"] for r in run(db, f"SELECT Id FROM {obj} WHERE {where} ORDER BY Id", **options)]


def error_of(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        plan(soql)
    return caught.value


# --- records -----------------------------------------------------------------------------------------------------


def test_record_shape_attributes_first_then_select_order_with_types(db: sqlite3.Connection) -> None:
    select = "Name, Active__c, NumberOfEmployees, AnnualRevenue, Industry, CreatedDate, LastActivityDate"
    records = run(db, f"SELECT {select} FROM Account WHERE Id IN ('{A1}', '{A3}') ORDER BY Name")
    assert records == [
        {
            "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{A1}"},
            "Name": "Acme",
            "Active__c": True,
            "NumberOfEmployees": 10,
            "AnnualRevenue": 1500.5,
            "Industry": "Energy",
            "CreatedDate": "2024-01-31T08:00:00.000+0000",
            "LastActivityDate": "2024-05-15",
        },
        {
            "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{A3}"},
            "Name": "Gamma_Co",
            "Active__c": None,
            "NumberOfEmployees": None,
            "AnnualRevenue": None,
            "Industry": None,
            "CreatedDate": "2024-05-15T12:00:00.000+0000",
            "LastActivityDate": None,
        },
    ]
    assert list(records[0]) == ["attributes", "Name", "Active__c", "NumberOfEmployees", "AnnualRevenue",
                                "Industry", "CreatedDate", "LastActivityDate"]  # fmt: skip


def test_names_are_case_insensitive_and_come_back_canonical(db: sqlite3.Connection) -> None:
    compiled = plan(f"select ID, nAmE, owner.NAME from ACCOUNT where id = '{A1}'")
    assert compiled.columns == ["Id", "Name", "Owner.Name"]
    assert compiled.object.name == "Account"
    row = db.execute(compiled.sql, compiled.params).fetchone()
    assert compiled.record(row, "v58.0") == {
        "attributes": {"type": "Account", "url": f"/services/data/v58.0/sobjects/Account/{A1}"},
        "Id": A1,
        "Name": "Acme",
        "Owner": {"attributes": {"type": "User", "url": f"/services/data/v58.0/sobjects/User/{U1}"}, "Name": "Ada"},
    }


def test_parent_relationships_nest_share_one_object_and_null_when_empty(db: sqlite3.Connection) -> None:
    records = run(db, "SELECT Account.Owner.Name, LastName, Account.Name, Owner.Name, Partner__r.Name, "
                      "Account.Owner.IsActive FROM Contact ORDER BY LastName")  # fmt: skip
    base = "/services/data/v62.0/sobjects/"
    brown, jones, smith = records
    assert smith == {
        "attributes": {"type": "Contact", "url": f"{base}Contact/{C1}"},
        "Account": {
            "attributes": {"type": "Account", "url": f"{base}Account/{A2}"},
            "Owner": {"attributes": {"type": "User", "url": f"{base}User/{U2}"}, "Name": "Bob", "IsActive": False},
            "Name": "beta 50% off",
        },
        "LastName": "Smith",
        "Owner": {"attributes": {"type": "User", "url": f"{base}User/{U2}"}, "Name": "Bob"},  # polymorphic -> User
        "Partner__r": {"attributes": {"type": "Account", "url": f"{base}Account/{A1}"}, "Name": "Acme"},
    }
    assert jones["Account"] is None and jones["Partner__r"] is None and jones["Owner"]["Name"] == "Ada"
    assert brown["Account"] == {"attributes": {"type": "Account", "url": f"{base}Account/{A3}"}, "Owner": None,
                                "Name": "Gamma_Co"}  # fmt: skip
    assert brown["Owner"] is None


def test_csv_header_and_values(db: sqlite3.Connection) -> None:
    compiled = plan("SELECT Id, Name, Owner.Name, Active__c, NumberOfEmployees, AnnualRevenue, CreatedDate, "
                    "LastActivityDate, Tags__c FROM Account ORDER BY Name")  # fmt: skip
    assert compiled.csv_header() == ["Id", "Name", "Owner.Name", "Active__c", "NumberOfEmployees", "AnnualRevenue",
                                     "CreatedDate", "LastActivityDate", "Tags__c"]  # fmt: skip
    rows = [compiled.csv_values(row) for row in db.execute(compiled.sql, compiled.params)]
    assert rows[0] == [A1, "Acme", "Ada", "true", "10", "1500.5", "2024-01-31T08:00:00.000+0000", "2024-05-15",
                       "red;green"]  # fmt: skip
    assert rows[1] == [A2, "beta 50% off", "Bob", "false", "200", "99.0", "2024-03-01T00:00:00.000+0000",
                       "2024-05-01", "green"]  # fmt: skip
    gamma = rows[2]
    assert gamma == [A3, "Gamma_Co", "", "", "", "", "2024-05-15T12:00:00.000+0000", "", ""]
    assert all(isinstance(value, str) for row in rows for value in row)
    assert compiled.bulk_error() is None


def test_compound_fields_are_objects_and_block_bulk(db: sqlite3.Connection) -> None:
    compiled = plan("SELECT Name, BillingAddress, BillingCity, Location__c FROM Account ORDER BY Name")
    records = [compiled.record(row, "62.0") for row in db.execute(compiled.sql, compiled.params)]
    acme = records[0]
    assert acme["BillingAddress"] == {"city": "Paris", "country": "France", "geocodeAccuracy": None,
                                      "latitude": 48.85, "longitude": None, "postalCode": None, "state": None,
                                      "street": None}  # fmt: skip
    assert list(acme) == ["attributes", "Name", "BillingAddress", "BillingCity", "Location__c"]
    assert acme["Location__c"] == {"latitude": 1.5, "longitude": -2.25}
    assert records[1]["BillingAddress"] is None and records[1]["Location__c"] is None
    assert compiled.bulk_error() == "Selecting compound data not supported in Bulk Query"


def test_count_plan(db: sqlite3.Connection) -> None:
    compiled = plan("SELECT COUNT() FROM Account WHERE Industry = 'energy'")
    assert compiled.is_count and compiled.columns == []
    assert db.execute(compiled.sql, compiled.params).fetchone()[0] == 2
    assert compiled.bulk_error() == "Aggregate queries are not supported in Bulk Query"


def test_count_sql_counts_every_match_of_the_where_clause(db: sqlite3.Connection) -> None:
    compiled = plan("SELECT Id FROM Account WHERE Owner.Name = 'Ada' ORDER BY Name LIMIT 1")
    assert db.execute(compiled.count_sql, compiled.count_params).fetchone()[0] == 2  # LIMIT/OFFSET are the caller's
    assert len(db.execute(compiled.sql, compiled.params).fetchall()) == 1
    limited = plan("SELECT Id FROM Account LIMIT 3 OFFSET 2")
    assert db.execute(limited.count_sql, limited.count_params).fetchone()[0] == 4
    assert limited.bulk_error() == "OFFSET is not supported in Bulk Query"


def test_deleted_rows_only_with_include_deleted(db: sqlite3.Connection) -> None:
    assert A5 not in ids(db, "Name != null")
    assert A5 in ids(db, "Name != null", include_deleted=True)


# --- operators ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'acme'", [A1]),  # text comparisons are case-insensitive
        ("Name != 'Acme'", [A2, A3, A4]),
        ("Industry <> 'Energy'", [A2, A3]),  # != keeps rows where the field is null
        ("Industry = null", [A3]),
        ("Industry != null", [A1, A2, A4]),
        ("NumberOfEmployees < 10", [A4]),
        ("NumberOfEmployees <= 10", [A1, A4]),
        ("NumberOfEmployees > 10", [A2]),
        ("NumberOfEmployees >= 10", [A1, A2]),
        ("AnnualRevenue > 100.25", [A1]),
        ("Active__c = TRUE", [A1, A4]),
        ("Active__c = false", [A2]),
        ("Name IN ('ACME', 'Gamma_Co', 'nobody')", [A1, A3]),
        ("Industry NOT IN ('Energy')", [A2, A3]),
        ("Industry IN ('Retail', null)", [A2, A3]),
        ("Industry NOT IN ('Retail', null)", [A1, A4]),
        ("Name LIKE 'a%'", [A1]),
        ("Name LIKE '%50\\% off'", [A2]),
        ("Name LIKE '%\\%%'", [A2]),
        ("Name LIKE 'gamma\\_co'", [A3]),
        ("Name LIKE 'gamma_co'", [A3]),
        ("Name LIKE 'gamma\\_c_'", [A3]),
        ("Name LIKE '_cme'", [A1]),
        ("Name LIKE 'O\\'Brien \\\\ Sons'", [A4]),
        ("Name = 'O\\'Brien \\\\ Sons'", [A4]),
        ("Tags__c INCLUDES ('red')", [A1, A4]),
        ("Tags__c INCLUDES ('red;yellow', 'GREEN')", [A1, A2, A4]),
        ("Tags__c INCLUDES ('red;green')", [A1]),
        ("Tags__c EXCLUDES ('red')", [A2, A3]),
        ("(Industry = 'Energy' OR Industry = 'Retail') AND NumberOfEmployees > 5", [A1, A2]),
        ("Industry = 'Energy' AND (NumberOfEmployees > 5 OR Active__c = true)", [A1, A4]),
        ("NOT Industry = 'Energy'", [A2, A3]),
        ("NOT (NumberOfEmployees > 5)", [A3, A4]),  # two-valued: a null comparison is false, its negation true
        ("NOT Name LIKE 'a%'", [A2, A3, A4]),
        ("Owner.Name = 'Ada'", [A1, A4]),
        ("Parent.Owner.Name = 'ada'", [A2]),
        ("Owner.IsActive = true AND Parent.Name = null", [A1, A4]),
    ],
)
def test_filters(db: sqlite3.Connection, where: str, expected: list[str]) -> None:
    assert ids(db, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("CreatedDate = 2024-01-31T08:00:00Z", [A1]),
        ("CreatedDate = 2024-01-31T10:00:00+02:00", [A1]),
        ("CreatedDate = 2024-01-31T07:00:00.000-01:00", [A1]),
        ("CreatedDate >= 2024-01-01T00:00:00.000+00:00 AND CreatedDate < 2024-03-01T00:00:00Z", [A1]),
        ("CreatedDate > 2024-03-01", [A1, A3][1:]),  # a date means midnight UTC on a datetime field
        ("CreatedDate >= 2024-03-01", [A2, A3]),
        ("CreatedDate < 2024-01-01", [A4]),
        ("LastActivityDate = 2024-05-15", [A1]),
        ("LastActivityDate < 2024-05-15", [A2]),
        ("LastActivityDate = TODAY", [A1]),
        ("CreatedDate = TODAY", [A3]),
        ("CreatedDate = THIS_YEAR", [A1, A2, A3]),
        ("CreatedDate != THIS_YEAR", [A4, A5][:1]),
        ("CreatedDate < THIS_YEAR", [A4]),
        ("CreatedDate <= LAST_YEAR", [A4]),
        ("CreatedDate > LAST_MONTH", [A3]),
        ("CreatedDate >= LAST_N_DAYS:80", [A2, A3]),
        ("LastActivityDate = LAST_N_DAYS:14", [A1, A2]),
        ("LastActivityDate IN (TODAY, 2024-05-01)", [A1, A2]),
    ],
)
def test_date_and_datetime_filters(db: sqlite3.Connection, where: str, expected: list[str]) -> None:
    assert ids(db, where) == expected


def test_fifteen_character_ids_match_their_eighteen_character_form(db: sqlite3.Connection) -> None:
    real = "001000000000001AAA"
    db.execute('INSERT INTO "Account" ("Id", "IsDeleted", "Name") VALUES (?, 0, ?)', (real, "Fifteen"))
    try:
        assert ids(db, "Id = '001000000000001'") == [real]
    finally:
        db.execute('DELETE FROM "Account" WHERE "Id" = ?', (real,))


@pytest.mark.parametrize(
    "nasty",
    ["x' OR '1'='1", '\'; DROP TABLE "Account"; --', '" OR 1=1 --', "%' --", "\\' OR 1=1"],
)
def test_values_only_ever_reach_sql_as_parameters(db: sqlite3.Connection, nasty: str) -> None:
    escaped = nasty.replace("\\", "\\\\").replace("'", "\\'")
    compiled = plan(f"SELECT Id FROM Account WHERE Name = '{escaped}' OR Name LIKE '{escaped}'")
    reference = plan("SELECT Id FROM Account WHERE Name = 'a' OR Name LIKE 'a'")
    assert compiled.sql == reference.sql
    assert nasty in compiled.params
    assert db.execute(compiled.sql, compiled.params).fetchall() == []
    assert db.execute('SELECT COUNT(*) FROM "Account"').fetchone()[0] == 5


# --- ordering and paging -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("NumberOfEmployees", [A3, A4, A1, A2]),  # ASC: nulls first
        ("NumberOfEmployees DESC", [A2, A1, A4, A3]),  # DESC: nulls last
        ("NumberOfEmployees ASC NULLS LAST", [A4, A1, A2, A3]),
        ("NumberOfEmployees DESC NULLS FIRST", [A3, A2, A1, A4]),
        ("Industry DESC, Name", [A2, A1, A4, A3]),
        ("Industry, Name DESC", [A3, A4, A1, A2]),
        ("Name", [A1, A2, A3, A4]),  # case-insensitive: "beta" sorts between "Acme" and "Gamma"
        ("Owner.Name DESC, CreatedDate", [A2, A4, A1, A3]),
    ],
)
def test_order_by(db: sqlite3.Connection, order: str, expected: list[str]) -> None:
    assert [r["Id"] for r in run(db, f"SELECT Id FROM Account ORDER BY {order}")] == expected


def test_limit_and_offset(db: sqlite3.Connection) -> None:
    assert [r["Name"] for r in run(db, "SELECT Name FROM Account ORDER BY Name LIMIT 2")] == ["Acme", "beta 50% off"]
    assert [r["Name"] for r in run(db, "SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1")] == [
        "beta 50% off",
        "Gamma_Co",
    ]
    assert [r["Name"] for r in run(db, "SELECT Name FROM Account ORDER BY Name OFFSET 3")] == ["O'Brien \\ Sons"]


def test_alias_prefix_is_accepted(db: sqlite3.Connection) -> None:
    records = run(db, "SELECT a.Name, a.Owner.Name FROM Account a WHERE a.Name = 'Acme'")
    assert records[0]["Name"] == "Acme" and records[0]["Owner"]["Name"] == "Ada"


# --- errors ------------------------------------------------------------------------------------------------------


def test_unknown_object_is_invalid_type() -> None:
    error = error_of("SELECT Id FROM Foo__c")
    assert error.error_code == INVALID_TYPE
    assert error.message == (
        "\nSELECT Id FROM Foo__c\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Foo__c' is not supported. If you are attempting to use a custom object, be sure to append the "
        "'__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )
    assert error_of("SELECT Message__c FROM Alert__e").error_code == INVALID_TYPE


def test_unknown_column_is_invalid_field_with_caret() -> None:
    error = error_of("SELECT Id, Foo FROM Account")
    assert error.error_code == INVALID_FIELD
    assert error.message == (
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to append the "
        "'__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    )
    assert "No such column 'Nope' on entity 'User'" in error_of("SELECT Owner.Nope FROM Account").message
    assert "ERROR at Row:1:Column:30" in error_of("SELECT Id FROM Account WHERE Nope = 1").message
    assert error_of("SELECT Id FROM Account ORDER BY Nope").error_code == INVALID_FIELD


def test_bad_relationship_path_is_invalid_field() -> None:
    error = error_of("SELECT Id, Boss.Name FROM Account")
    assert error.error_code == INVALID_FIELD
    assert error.message.startswith(
        "\nSELECT Id, Boss.Name FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "Didn't understand relationship 'Boss' in field path."
    )
    # A reference field's own name is not a relationship name, and neither is a plain field.
    assert error_of("SELECT OwnerId.Name FROM Account").error_code == INVALID_FIELD
    assert error_of("SELECT Name.Name FROM Account").error_code == INVALID_FIELD


@pytest.mark.parametrize(
    ("where", "column", "detail"),
    [
        ("CreatedDate > '2024-01-01'", 44, "value of filter criterion for field 'CreatedDate' must be of type "
                                           "dateTime and should not be enclosed in quotes"),
        ("LastActivityDate = '2024-01-01'", 49, "value of filter criterion for field 'LastActivityDate' must be of "
                                                "type date and should not be enclosed in quotes"),
        ("NumberOfEmployees = '5'", 50, "value of filter criterion for field 'NumberOfEmployees' must be of type "
                                        "integer and should not be enclosed in quotes"),
        ("AnnualRevenue > 'big'", 46, "value of filter criterion for field 'AnnualRevenue' must be of type double "
                                      "and should not be enclosed in quotes"),
        ("Active__c = 'true'", 42, "value of filter criterion for field 'Active__c' must be of type boolean and "
                                   "should not be enclosed in quotes"),
        ("Name = 5", 37, "value of filter criterion for field 'Name' must be of type string and should be "
                         "enclosed in quotes"),
        ("Name = TODAY", 37, "Date constant TODAY can only be used with date and dateTime fields: 'Name'"),
    ],
)  # fmt: skip
def test_type_mismatch_is_invalid_field(where: str, column: int, detail: str) -> None:
    error = error_of(f"SELECT Id FROM Account WHERE {where}")
    assert error.error_code == INVALID_FIELD
    assert error.message.endswith(f"ERROR at Row:1:Column:{column}\n{detail}")


def test_field_capabilities_are_enforced() -> None:
    assert error_of("SELECT Id FROM Account WHERE Description = 'x'").message.endswith(
        "field 'Description' can not be filtered in a query call"
    )
    assert error_of("SELECT Id FROM Account WHERE BillingAddress = null").error_code == INVALID_FIELD
    assert error_of("SELECT Id FROM Account ORDER BY Tags__c").message.endswith(
        "field 'Tags__c' can not be sorted in a query call"
    )
    assert error_of("SELECT Id FROM Account WHERE Name INCLUDES ('a')").error_code == INVALID_FIELD
    assert error_of("SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'").error_code == INVALID_FIELD


def test_duplicate_and_subquery_errors() -> None:
    duplicate = error_of("SELECT Id, Name, name FROM Account")
    assert duplicate.error_code == MALFORMED_QUERY
    assert duplicate.message.endswith("ERROR at Row:1:Column:18\nduplicate field selected: Name")
    assert error_of("SELECT Id, (SELECT Id FROM Contacts) FROM Account").error_code == INVALID_TYPE


def test_syntax_errors_surface_through_compile_query() -> None:
    assert error_of("SELECT FROM Account").error_code == MALFORMED_QUERY

"""Bulk CSV lines built by SQLite (soql.csv_lines) are byte for byte what csv.writer(QUOTE_ALL) makes of csv_values."""

from __future__ import annotations

import csv
import io
import math
import random
import sqlite3
from dataclasses import dataclass, field

import pytest
from salesforce_emulator.soql import QueryPlan, compile_query, csv_lines

HOSTILE_TEXT = [None, "", "plain", 'say "hi"', '"', '""', "a,b", "line\nbreak", "cr\r\nlf", "tab\there", "50% off",
                "%s %w %d", "(NULL)", "it's", "é ü 東京 🚀", " padded ", "semi;colon", "pipe|caret^back`tick",
                "x" * 5000]  # fmt: skip
HOSTILE_REAL = [None, 0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.1 + 0.2, 1500.5, 99.0, -52.288198, 229433.71, 1e-4, 9.99e-5,
                1e-5, 1.5e-7, 123456789012345.6, 999999999999999.0, 1e15, 1e16, 1.7976931348623157e308,
                5e-324, math.inf, -math.inf, 2.0**53, 1 / 3, "not a number", 7]  # fmt: skip
HOSTILE_INT = [None, 0, -1, 42, 2**63 - 1, -(2**63), 12.5, "text"]
BOOLEANS = [None, 0, 1]


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


SQL_TYPES = {"boolean": "INTEGER", "int": "INTEGER", "double": "REAL", "currency": "REAL", "percent": "REAL"}
OWNER = Obj("User", [Field("Id", "id"), Field("IsDeleted", "boolean"), Field("Name", "string")])
THING = Obj(
    "Thing__c",
    [
        Field("Id", "id"),
        Field("IsDeleted", "boolean"),
        Field("Name", "string"),
        Field("Notes__c", "textarea"),
        Field("Flag__c", "boolean"),
        Field("Count__c", "int"),
        Field("Amount__c", "currency"),
        Field("Ratio__c", "double"),
        Field("Share__c", "percent"),
        Field("When__c", "datetime"),
        Field("OwnerId", "reference", ["User"], "Owner"),
    ],
)


def _create(conn: sqlite3.Connection, obj: Obj) -> None:
    columns = ", ".join(f'"{f.name}" {SQL_TYPES.get(f.type, "TEXT")}' for f in obj.fields)
    conn.execute(f'CREATE TABLE "{obj.name}" ({columns})')


def _insert(conn: sqlite3.Connection, obj: Obj, rows: list[dict]) -> None:
    names = [f.name for f in obj.fields]
    marks = ", ".join("?" for _ in names)
    conn.executemany(f'INSERT INTO "{obj.name}" VALUES ({marks})', [[row.get(n) for n in names] for row in rows])


def _python_csv(plan: QueryPlan, conn: sqlite3.Connection, delimiter: str, newline: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_ALL)
    writer.writerows(plan.csv_values(row) for row in conn.execute(plan.sql, plan.params))
    return buffer.getvalue().encode()


def _sqlite_lines(plan: QueryPlan, conn: sqlite3.Connection, delimiter: str, newline: str) -> list[bytes | None]:
    csv_lines.register(conn)
    return [line for (line,) in conn.execute(plan.csv_lines_sql(delimiter, newline), plan.params)]


def _sqlite_csv(plan: QueryPlan, conn: sqlite3.Connection, delimiter: str, newline: str) -> bytes:
    return b"".join(_sqlite_lines(plan, conn, delimiter, newline))


@pytest.fixture
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    _create(conn, OWNER)
    _create(conn, THING)
    _insert(conn, OWNER, [{"Id": "005A", "IsDeleted": 0, "Name": 'Ada "the" Owner, é'}])
    rng = random.Random(7)
    rows = []
    for i in range(len(HOSTILE_TEXT) * 3):
        rows.append(
            {
                "Id": f"a00{i:04d}",
                "IsDeleted": 0,
                "Name": HOSTILE_TEXT[i % len(HOSTILE_TEXT)],
                "Notes__c": HOSTILE_TEXT[(i * 7 + 3) % len(HOSTILE_TEXT)],
                "Flag__c": BOOLEANS[i % 3],
                "Count__c": HOSTILE_INT[i % len(HOSTILE_INT)],
                "Amount__c": HOSTILE_REAL[i % len(HOSTILE_REAL)],
                "Ratio__c": HOSTILE_REAL[(i * 5 + 1) % len(HOSTILE_REAL)],
                "Share__c": rng.choice([None, round(rng.uniform(-100, 100), 2), rng.uniform(-1e6, 1e6)]),
                "When__c": "2024-01-31T08:00:00.000+0000" if i % 2 else None,
                "OwnerId": "005A" if i % 3 else None,
            }
        )
    _insert(conn, THING, rows)
    return conn


SCHEMA = Schema([OWNER, THING])
SELECT = (
    "SELECT Id, Name, Notes__c, Flag__c, Count__c, Amount__c, Ratio__c, Share__c, When__c, OwnerId, Owner.Name "
    "FROM Thing__c ORDER BY Id"
)


@pytest.mark.parametrize(
    ("delimiter", "newline"),
    [(",", "\n"), (",", "\r\n"), ("\t", "\n"), (";", "\r\n"), ("|", "\n"), ("^", "\n"), ("`", "\n")],  # fmt: skip
)
def test_hostile_values_give_the_same_bytes_as_csv_writer(db: sqlite3.Connection, delimiter: str, newline: str) -> None:
    plan = compile_query(SELECT, SCHEMA)
    expected = _python_csv(plan, db, delimiter, newline)
    assert expected.count(newline.encode()) >= 60
    assert _sqlite_csv(plan, db, delimiter, newline) == expected


def test_where_limit_and_relationship_only_selects(db: sqlite3.Connection) -> None:
    plan = compile_query("SELECT Owner.Name, Amount__c FROM Thing__c WHERE Count__c != null LIMIT 7", SCHEMA)
    expected = _python_csv(plan, db, ",", "\n")
    assert expected.count(b"\n") >= 7
    assert _sqlite_csv(plan, db, ",", "\n") == expected


def test_floats_near_fifteen_digit_decimals_print_like_python_repr() -> None:
    """The cases where a 15-digit text might be taken for a value it is not: neighbours of short decimals."""
    rng = random.Random(11)
    values: list[float] = []
    for _ in range(4000):
        base = round(rng.uniform(-1e6, 1e6), rng.randint(0, 9))
        values += [base, math.nextafter(base, math.inf), math.nextafter(base, -math.inf)]
        values.append(rng.uniform(-1, 1) * 10 ** rng.randint(-6, 16))
    conn = sqlite3.connect(":memory:")
    obj = Obj("Num__c", [Field("Id", "id"), Field("IsDeleted", "boolean"), Field("Value__c", "double")])
    _create(conn, obj)
    _insert(conn, obj, [{"Id": str(i), "IsDeleted": 0, "Value__c": v} for i, v in enumerate(values)])
    plan = compile_query("SELECT Value__c FROM Num__c", Schema([obj]))
    assert _sqlite_csv(plan, conn, ",", "\n") == _python_csv(plan, conn, ",", "\n")


def test_more_columns_than_one_printf_call_takes() -> None:
    extra = [Field(f"F{i}__c", "string" if i % 3 else "double") for i in range(2 * csv_lines.MAX_PRINTF_ARGS + 5)]
    obj = Obj("Wide__c", [Field("Id", "id"), Field("IsDeleted", "boolean"), *extra])
    conn = sqlite3.connect(":memory:")
    _create(conn, obj)
    values = {f.name: (f'v"{i}' if f.type == "string" else i / 4) for i, f in enumerate(extra)}
    row = {"Id": "1", "IsDeleted": 0} | values
    _insert(conn, obj, [row, {"Id": "2", "IsDeleted": 0}])
    plan = compile_query("SELECT " + ", ".join(f.name for f in extra) + " FROM Wide__c", Schema([obj]))
    expected = _python_csv(plan, conn, ",", "\n")
    assert expected.count(b'","') == 2 * (len(extra) - 1)
    assert _sqlite_csv(plan, conn, ",", "\n") == expected


def test_a_nul_character_in_free_text_gives_a_null_line(db: sqlite3.Connection) -> None:
    """printf() would cut the text at the NUL, so the line is left to the caller's Python path."""
    db.execute("UPDATE Thing__c SET Notes__c = ? WHERE Id = 'a000003'", ("before\x00after",))
    plan = compile_query("SELECT Id, Notes__c FROM Thing__c ORDER BY Id", SCHEMA)
    lines = _sqlite_lines(plan, db, ",", "\n")
    assert lines[3] is None
    assert all(isinstance(line, bytes) for i, line in enumerate(lines) if i != 3)

"""Bulk API 2.0 CSV lines built by SQLite itself: one SQL value per result row, ready to write.

Shaping rows in Python (a tuple per row, a list of cells, csv.writer) costs several times what SQLite needs to read
them, so a Bulk query instead runs the plan's SQL wrapped in a SELECT whose single column is the finished line:
printf() with `"%w"` per text cell (it doubles embedded quotes, which is all QUOTE_ALL escaping does) and the
delimiter and line ending written into the format. The bytes are exactly what csv.writer(quoting=QUOTE_ALL) makes of
QueryPlan.csv_values:

- text: NULL -> "", else the stored text with quotes doubled;
- boolean: 1/0/NULL -> "true"/"false"/"";
- number: an INTEGER prints as SQLite prints it (the same digits as Python's str(int)). A REAL uses SQLite's
  '%!.15g' only when that text is certainly Python's repr(): the value lies in [1e-4, 1e15) (where both use fixed
  notation) and the 15-digit text reads back as the same double (so repr, the shortest round-trip text, has those
  digits). Anything else (17-digit values, zero and -0.0, huge or tiny values, text) goes to a Python function, so
  the rare hard cases stay exact instead of approximately right.

printf() ends a text at a NUL character, so a line whose free text holds one comes back NULL: the caller then
shapes that result in Python instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .rows import BOOLEAN_TYPES, NUMBER_TYPES, Column

# Stored forms that are normalised on the way in (ids, dates, times, base64) cannot hold a NUL character.
NORMALISED_TYPES = frozenset({"id", "reference", "date", "datetime", "time", "base64"})
PYTHON_CELL = "soql_csv_cell"  # the SQL function name of the exact (slow) path
MAX_PRINTF_ARGS = 100  # SQLite allows 127 arguments per function call by default


def _python_cell(value: object) -> str:
    return str(value).replace('"', '""')


def register(conn: sqlite3.Connection) -> None:
    """Make the exact fallback available to lines_sql() on this connection."""
    conn.create_function(PYTHON_CELL, 1, _python_cell, deterministic=True)


def _number(cell: str) -> str:
    fifteen = f"printf('%!.15g', {cell})"
    return (
        f"CASE typeof({cell}) WHEN 'integer' THEN {cell} WHEN 'null' THEN '' "
        f"WHEN 'real' THEN CASE WHEN abs({cell}) >= 1e-4 AND abs({cell}) < 1e15 AND CAST({fifteen} AS REAL) = {cell} "
        f"THEN {fifteen} ELSE {PYTHON_CELL}({cell}) END "
        f"ELSE {PYTHON_CELL}({cell}) END"
    )


def _cell(column: Column | None) -> tuple[str, str]:
    """(printf conversion, SQL argument) for one CSV cell; the argument reads a column of the wrapped row `r`."""
    if column is None:  # compound fields have no CSV form (Bulk refuses them before it gets here)
        return "%s", "''"
    cell = f"r.c{column.index}"
    if column.field_type in BOOLEAN_TYPES:
        return "%s", f"CASE {cell} WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE '' END"
    if column.field_type in NUMBER_TYPES:
        return "%s", _number(cell)
    return "%w", f"ifnull({cell}, '')"


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _format_text(text: str) -> str:
    return _sql_text(text.replace("%", "%%"))


def lines_sql(sql: str, width: int, columns: Sequence[Column | None], delimiter: str, newline: str) -> str:
    """SQL whose rows are the CSV lines (BLOB, UTF-8) of `sql`'s rows, in the same order; binds the same params.

    `width` is how many columns `sql` selects; `columns` are the CSV cells (QueryPlan's csv columns).
    """
    names = ", ".join(f"c{i}" for i in range(width))
    cells = [_cell(column) for column in columns]
    separator = _format_text('"' + delimiter + '"')
    parts = []
    for start in range(0, len(cells), MAX_PRINTF_ARGS):
        chunk = cells[start : start + MAX_PRINTF_ARGS]
        fmt = separator.join(conversion for conversion, _ in chunk)
        fmt = ("" if start == 0 else separator) + fmt
        parts.append(f"printf('{fmt}', {', '.join(argument for _, argument in chunk)})")
    line = f"CAST('\"' || {' || '.join(parts)} || '\"{_sql_text(newline)}' AS BLOB)"
    free_text = [
        f"instr(r.c{c.index}, char(0))"
        for c in columns
        if c is not None and c.field_type not in BOOLEAN_TYPES | NUMBER_TYPES | NORMALISED_TYPES
    ]
    if free_text:
        line = f"CASE WHEN {' OR '.join(free_text)} THEN NULL ELSE {line} END"
    return f"WITH r({names}) AS ({sql}) SELECT {line} FROM r"

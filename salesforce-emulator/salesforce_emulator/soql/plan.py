"""QueryPlan: the compiled SQL of one query, plus the row shapers for its REST records and Bulk CSV rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import csv_lines
from .rows import Column
from .schema import ObjectInfo


class QueryPlan:
    """A compiled query: run `sql` with `params`, then shape each row with record() or csv_values()."""

    def __init__(
        self,
        *,
        object_info: ObjectInfo,
        sql: str,
        params: tuple,
        count_sql: str,
        count_params: tuple,
        is_count: bool,
        columns: list[str],
        record_function: Callable[[tuple, str], dict],
        csv_function: Callable[[tuple], list[str]],
        bulk_error: str | None,
        csv_columns: list[Column | None] | None = None,
        width: int = 0,
        children: list[tuple[str, QueryPlan, int]] | None = None,
    ) -> None:
        self.object = object_info
        self.sql = sql
        self.params = params
        self.count_sql = count_sql
        self.count_params = count_params
        self.is_count = is_count
        self.columns = columns
        self.csv_values = csv_function  # row -> Bulk API 2.0 CSV cells: null "", booleans true/false, rest as stored
        self._record = record_function
        self._bulk_error = bulk_error
        self._csv_columns = csv_columns or []
        self._width = width
        self._bases: dict[str, str] = {}
        # Child subqueries: (relationship name, the child's plan, the index of the parent's Id in a row).
        self.children = children or []

    def __repr__(self) -> str:
        return f"QueryPlan(object={self.object.name!r}, columns={self.columns!r})"

    def _base(self, api_version: str) -> str:
        version = api_version[1:] if api_version[:1] in ("v", "V") else api_version
        base = self._bases[api_version] = f"/services/data/v{version}/sobjects/"
        return base

    def record(self, row: tuple, api_version: str) -> dict:
        """The REST JSON record for one row of `sql` (api_version like "62.0" or "v62.0")."""
        return self._record(row, self._bases.get(api_version) or self._base(api_version))

    def add_children(self, records: list[dict], rows: list[tuple], conn: Any, api_version: str) -> None:
        """Fill each record's child subqueries: null when none, else {totalSize, done, records}."""
        for name, child, id_index in self.children:
            for record, row in zip(records, rows, strict=True):
                found = conn.execute(child.sql, (row[id_index], *child.params[1:])).fetchall()
                record[name] = (
                    {"totalSize": len(found), "done": True, "records": [child.record(r, api_version) for r in found]}
                    if found
                    else None
                )

    def csv_header(self) -> list[str]:
        return list(self.columns)

    def csv_lines_sql(self, delimiter: str, newline: str) -> str:
        """SQL (binding `params`) whose rows are whole Bulk CSV lines as UTF-8 BLOBs: the csv.writer(QUOTE_ALL)
        bytes of csv_values(), built by SQLite. Run it on a connection prepared with csv_lines.register()."""
        return csv_lines.lines_sql(self.sql, self._width, self._csv_columns, delimiter, newline)

    def bulk_error(self) -> str | None:
        """Why Bulk API 2.0 cannot run this query, or None."""
        return self._bulk_error

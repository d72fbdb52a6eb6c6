"""What one write call sees of a table: the rows as they were before the call, plus the call's own pending writes.

A call's records are checked one after the other, each against the org as the earlier records left it. Rather than
writing each record and querying again, the checks read this view: lookups are prefetched in a few `IN (...)`
queries (and answered from the cache), the call's own writes overlay them, and everything reaches SQLite at the end
in executemany batches. Nothing is written before `flush`, so the database stays the pre-call snapshot throughout.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from salesforce_emulator.schema import ObjectDef
from salesforce_emulator.store import q

CHUNK = 5000  # bound parameters per IN (...) query, well below SQLite's limit
NEW_ROWID = 1 << 62  # rows inserted by the call sort after every existing row, as SQLite will number them


class TableView:
    def __init__(self, conn: sqlite3.Connection, obj: ObjectDef) -> None:
        self.conn = conn
        self.obj = obj
        self.table = q(obj.name)
        # The database before the call: rows by Id (None: no such row), and live (rowid, Id) pairs by field value.
        self._rows: dict[str, tuple[int, dict[str, Any]] | None] = {}
        self._keys: dict[str, dict[Any, list[tuple[int, str]]]] = {}
        # The call's writes: Id -> (rowid, row, or None when hard deleted); live written Ids by field value.
        self.written: dict[str, tuple[int, dict[str, Any] | None]] = {}
        self._index: dict[str, dict[Any, set[str]]] = {}
        self._inserted: list[str] = []
        self._columns: list[str] | None = None

    # --- prefetching -----------------------------------------------------------------------------------------------

    def prefetch_rows(self, ids: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(i for i in ids if i not in self._rows))
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            cursor = self.conn.execute(
                f"SELECT rowid, * FROM {self.table} WHERE Id IN ({', '.join('?' * len(chunk))})", chunk
            )
            self._remember_rows(cursor)
            for record_id in chunk:
                self._rows.setdefault(record_id, None)

    def prefetch_keys(self, field: str, values: Iterable[Any], *, rows: bool = False) -> None:
        """Live rows whose `field` is one of `values` (with their whole rows when `rows`)."""
        known = self._keys.setdefault(field, {})
        wanted = list(dict.fromkeys(v for v in values if v is not None and v not in known))
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            selected = "*" if rows else f"Id, {q(field)}"
            cursor = self.conn.execute(
                f"SELECT rowid, {selected} FROM {self.table} WHERE {q(field)} IN ({', '.join('?' * len(chunk))})"
                " AND IsDeleted = 0",
                chunk,
            )
            names = [d[0] for d in cursor.description]
            id_at, value_at = names.index("Id"), names.index(field) if field in names else -1
            found: dict[Any, list[tuple[int, str]]] = {}
            fetched = cursor.fetchall()
            for row in fetched:
                found.setdefault(row[value_at], []).append((row[0], row[id_at]))
                if rows:
                    self._rows[row[id_at]] = (row[0], dict(zip(names[1:], row[1:], strict=True)))
            asked = set(chunk)
            if any(value not in asked for value in found):
                continue  # stored under another type than asked for: leave these values to one-by-one lookups
            for value in chunk:
                known[value] = sorted(found.get(value, []))

    def _remember_rows(self, cursor: sqlite3.Cursor) -> None:
        names = [d[0] for d in cursor.description]
        id_at = names.index("Id")
        for row in cursor:
            self._rows[row[id_at]] = (row[0], dict(zip(names[1:], row[1:], strict=True)))

    # --- reads -----------------------------------------------------------------------------------------------------

    def purged(self, record_id: str) -> bool:
        """Whether a row with this Id existed and was hard deleted."""
        return self.conn.execute("SELECT 1 FROM _emulator_purged WHERE Id = ?", (record_id,)).fetchone() is not None

    def row(self, record_id: str) -> dict[str, Any] | None:
        """The current row with this Id (deleted ones included), or None; callers copy before changing it."""
        if record_id in self.written:
            return self.written[record_id][1]
        found = self._db_row(record_id)
        return found[1] if found else None

    def _db_row(self, record_id: str) -> tuple[int, dict[str, Any]] | None:
        if record_id not in self._rows:
            self.prefetch_rows([record_id])
        return self._rows[record_id]

    def live_ids(self, field: str, value: Any) -> list[str]:
        """Ids of the live rows whose `field` equals `value`, in table order (what `WHERE f = ?` returns)."""
        known = self._keys.setdefault(field, {})
        if value not in known:
            known[value] = self.conn.execute(
                f"SELECT rowid, Id FROM {self.table} WHERE {q(field)} = ? AND IsDeleted = 0", (value,)
            ).fetchall()
        written = self.written
        pairs = [pair for pair in known[value] if pair[1] not in written]
        if written:
            pairs += [(written[i][0], i) for i in self._written_index(field).get(value, ())]
            pairs.sort()
        return [pair[1] for pair in pairs]

    def _written_index(self, field: str) -> dict[Any, set[str]]:
        index = self._index.get(field)
        if index is None:
            index = self._index[field] = {}
            for record_id, (_, row) in self.written.items():
                if row is not None and not row.get("IsDeleted"):
                    index.setdefault(row.get(field), set()).add(record_id)
        return index

    # --- writes ----------------------------------------------------------------------------------------------------

    def write(self, record_id: str, row: dict[str, Any] | None) -> None:
        """Record the row's new state (None: hard deleted)."""
        previous = self.written.get(record_id)
        if previous is not None:
            rowid, old = previous
        else:
            existing = self._rows.get(record_id)
            if existing is not None:
                rowid, old = existing[0], None
            else:
                rowid, old = NEW_ROWID + len(self._inserted), None
                self._inserted.append(record_id)
        for field, index in self._index.items():
            if old is not None and not old.get("IsDeleted"):
                index.get(old.get(field), set()).discard(record_id)
            if row is not None and not row.get("IsDeleted"):
                index.setdefault(row.get(field), set()).add(record_id)
        self.written[record_id] = (rowid, row)

    def flush(self, columns: list[str], now: str) -> None:
        """Apply the call's writes: hard deletes (remembered as purged at `now`), then updates of existing rows, then
        inserts in their order."""
        inserted = set(self._inserted)
        deletes = [(i,) for i, (_, row) in self.written.items() if row is None and i not in inserted]
        updates = [row for i, (_, row) in self.written.items() if row is not None and i not in inserted]
        inserts = [self.written[i][1] for i in self._inserted if self.written[i][1] is not None]
        if deletes:
            self.conn.executemany(f"DELETE FROM {self.table} WHERE Id = ?", deletes)
            self.conn.executemany(
                "INSERT OR REPLACE INTO _emulator_purged (object, Id, deletedDate) VALUES (?, ?, ?)",
                [(self.obj.name, i, now) for (i,) in deletes],
            )
        if updates:
            names = [c for c in columns if c != "Id"]
            self.conn.executemany(
                f"UPDATE {self.table} SET {', '.join(q(c) + ' = ?' for c in names)} WHERE Id = ?",
                [[row.get(c) for c in names] + [row["Id"]] for row in updates],
            )
        if inserts:
            self.conn.executemany(
                f"INSERT INTO {self.table} ({', '.join(q(c) for c in columns)})"
                f" VALUES ({', '.join('?' * len(columns))})",
                [[row.get(c) for c in columns] for row in inserts],
            )


class PendingWrites:
    """The views of every table one call touches."""

    def __init__(self, conn: sqlite3.Connection, now: str) -> None:
        self.conn = conn
        self.now = now
        self._views: dict[str, TableView] = {}

    def view(self, obj: ObjectDef) -> TableView:
        view = self._views.get(obj.name)
        if view is None:
            view = self._views[obj.name] = TableView(self.conn, obj)
        return view

    def flush(self) -> None:
        for view in self._views.values():
            if view.written:
                view.flush([f.name for f in view.obj.stored_fields], self.now)

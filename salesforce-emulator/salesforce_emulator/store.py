"""The SQLite database behind the org: one table per sObject, a connection per thread, one writer at a time."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator

from salesforce_emulator.ids import counter_of, make_id
from salesforce_emulator.schema import FieldDef, ObjectDef, Schema

SQL_TYPES = {
    "boolean": "INTEGER",
    "int": "INTEGER",
    "long": "INTEGER",
    "double": "REAL",
    "currency": "REAL",
    "percent": "REAL",
}
INDEXED = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
MAX_CACHED_COUNTS = 256


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_sql(f: FieldDef) -> str:
    if f.type == "id":
        return f"{q(f.name)} TEXT PRIMARY KEY"
    if f.name == "IsDeleted":
        return f"{q(f.name)} INTEGER NOT NULL DEFAULT 0"
    return f"{q(f.name)} {SQL_TYPES.get(f.type, 'TEXT')}"


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self.write_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self.writer = self._open()
        self.writer.execute("PRAGMA journal_mode=WAL")
        self.writer.execute("PRAGMA synchronous=OFF")
        self.writer.execute("CREATE TABLE IF NOT EXISTS _emulator_meta (key TEXT PRIMARY KEY, value TEXT)")
        # Hard-deleted (purged) rows: gone from every query, still reported by getDeleted for PURGED_DAYS.
        self.writer.execute(
            "CREATE TABLE IF NOT EXISTS _emulator_purged (object TEXT, Id TEXT PRIMARY KEY, deletedDate TEXT)"
        )
        self._counters: dict[str, int] = {}
        # Bumped around every write so cached counts never outlive the data they counted.
        self.version = 0
        self._counts: dict[tuple[str, tuple], tuple[int, int]] = {}
        self._counts_lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=60)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-65536")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def read_connection(self) -> sqlite3.Connection:
        """A connection for reads owned by the calling thread."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def new_connection(self) -> sqlite3.Connection:
        """A private connection (e.g. for a query cursor that outlives one request); close it when done."""
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=60)
        conn.execute("PRAGMA cache_size=-16384")
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.write_lock:
            self.version += 1
            self.writer.execute("BEGIN IMMEDIATE")
            try:
                yield self.writer
            except BaseException:
                self.writer.execute("ROLLBACK")
                self.version += 1
                raise
            self.writer.execute("COMMIT")
            self.version += 1

    def count(self, sql: str, params: tuple) -> int:
        """SELECT COUNT(*) result, remembered until the next write (a large table's COUNT is a full scan)."""
        key = (sql, params)
        version = self.version
        with self._counts_lock:
            cached = self._counts.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        value = self.read_connection().execute(sql, params).fetchone()[0]
        with self._counts_lock:
            if len(self._counts) >= MAX_CACHED_COUNTS:
                self._counts.clear()
            self._counts[key] = (version, value)
        return value

    # --- schema -------------------------------------------------------------------------------------------------

    def saved_schema(self) -> list[dict] | None:
        row = self.writer.execute("SELECT value FROM _emulator_meta WHERE key = 'schema'").fetchone()
        return json.loads(row[0]) if row else None

    def save_schema(self, schema: Schema) -> None:
        data = json.dumps([obj.to_json() for obj in schema.objects])
        with self.write_lock:
            self.writer.execute("INSERT OR REPLACE INTO _emulator_meta VALUES ('schema', ?)", (data,))

    def create_table(self, obj: ObjectDef) -> None:
        if not obj.queryable:
            return
        columns = ", ".join(column_sql(f) for f in obj.stored_fields)
        with self.write_lock:
            self.writer.execute(f"CREATE TABLE IF NOT EXISTS {q(obj.name)} ({columns})")
            for name in INDEXED:
                if obj.field(name):
                    self.writer.execute(
                        f"CREATE INDEX IF NOT EXISTS {q(obj.name + '_' + name)} ON {q(obj.name)} ({q(name)})"
                    )
            for f in obj.fields:
                if f.external_id or f.unique:
                    self.add_index(obj, f)

    def add_index(self, obj: ObjectDef, f: FieldDef) -> None:
        self.writer.execute(f"CREATE INDEX IF NOT EXISTS {q(obj.name + '_' + f.name)} ON {q(obj.name)} ({q(f.name)})")

    def add_column(self, obj: ObjectDef, f: FieldDef) -> None:
        with self.write_lock:
            self.version += 1
            self.writer.execute(f"ALTER TABLE {q(obj.name)} ADD COLUMN {column_sql(f)}")
            if f.external_id or f.unique:
                self.add_index(obj, f)

    def drop_column(self, obj: ObjectDef, name: str) -> None:
        with self.write_lock:
            self.version += 1
            self.writer.execute(f"DROP INDEX IF EXISTS {q(obj.name + '_' + name)}")
            self.writer.execute(f"ALTER TABLE {q(obj.name)} DROP COLUMN {q(name)}")

    # --- ids ------------------------------------------------------------------------------------------------------

    def next_ids(self, obj: ObjectDef, count: int) -> list[str]:
        with self.write_lock:
            start = self._counters.get(obj.name)
            if start is None:
                start = 0
                if obj.queryable:
                    row = self.writer.execute(f"SELECT MAX(Id) FROM {q(obj.name)}").fetchone()
                    start = counter_of(row[0]) if row and row[0] else 0
            self._counters[obj.name] = start + count
        return [make_id(obj.key_prefix, n) for n in range(start + 1, start + count + 1)]

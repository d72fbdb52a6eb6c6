"""REST /query and /queryAll: run SOQL through the engine and page the result with server-side cursors.

A locator keeps one open SQLite cursor, so page N costs the same as page 1 however large the result (no OFFSET
scan per page). The last page served is kept too, so a client that lost a response can ask for it again.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from salesforce_emulator.ids import BASE62

if TYPE_CHECKING:
    from salesforce_emulator.org import Org

CURSOR_TTL_SECONDS = 15 * 60  # Salesforce lets an idle query locator expire after 15 minutes
MAX_OPEN_CURSORS = 64
LONG_TEXT_PAGE = 1000  # page size cap when a long text area is selected


class QueryError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Cursor:
    locator: str
    plan: Any
    conn: sqlite3.Connection
    rows: Any  # the live sqlite3 cursor
    total: int
    page_size: int
    api_version: str
    delivered: int = 0
    last_start: int = -1
    last_page: list[Any] = field(default_factory=list)
    used_at: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class QueryCursors:
    def __init__(self, org: Org) -> None:
        self.org = org
        self._cursors: dict[str, Cursor] = {}
        self._lock = threading.Lock()

    # --- entry points ----------------------------------------------------------------------------------------------

    def start(
        self, soql: str, *, include_deleted: bool, api_version: str, batch_size: int | None, path: str
    ) -> dict[str, Any]:
        from salesforce_emulator.soql import SoqlError, compile_query, parse

        try:
            parsed = parse(soql)
            plan = compile_query(parsed, self.org.schema, include_deleted=include_deleted)
        except SoqlError as exc:
            raise QueryError(400, exc.error_code, exc.message) from exc
        count = self.org.store.count(plan.count_sql, plan.count_params)
        offset = parsed.offset or 0
        total = max(0, count - offset)
        if parsed.limit is not None:
            total = min(total, parsed.limit)
        self._check_timeout(total, path)
        if plan.is_count:
            return {"totalSize": total, "done": True, "records": []}
        page_size = self._page_size(plan, batch_size)
        conn = self.org.store.new_connection()
        rows = conn.execute(plan.sql, plan.params)
        cursor = Cursor(self._new_locator(), plan, conn, rows, total, page_size, api_version)
        page = self._next_page(cursor)
        if cursor.delivered < total and page:
            self._register(cursor)
        else:
            conn.close()
        return self._body(cursor, page)

    def more(self, locator: str, position: int, api_version: str) -> dict[str, Any]:
        with self._lock:
            cursor = self._cursors.get(locator)
        if cursor is None:
            raise QueryError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        with cursor.lock:
            cursor.used_at = time.monotonic()
            cursor.api_version = api_version
            if position == cursor.delivered:
                page = self._next_page(cursor)
            elif position == cursor.last_start:
                page = cursor.last_page  # a retry of the page whose response was lost
            else:
                page = self._reposition(cursor, position)
            body = self._body(cursor, page, start=position)
            if cursor.delivered >= cursor.total or not page:
                # Done: release the snapshot but keep the last page for a client that retries it.
                cursor.conn.close()
            return body

    # --- internals -------------------------------------------------------------------------------------------------

    def _check_timeout(self, total: int, path: str) -> None:
        limit = self.org.config.query_timeout_rows
        fault = self.org.faults.take(None, path, {"query_timeout"}, rows=total)
        if fault or (limit is not None and total > limit):
            raise QueryError(400, "QUERY_TIMEOUT", "Your query request was running for too long.")

    def _page_size(self, plan: Any, batch_size: int | None) -> int:
        size = self.org.config.rest_page_size
        if batch_size:
            size = min(size, max(200, min(batch_size, 2000)))
        obj = plan.object
        for column in plan.columns:
            f = obj.field(column) if "." not in column else None
            if f is not None and f.type == "textarea" and f.length > 255:
                return min(size, LONG_TEXT_PAGE)
        return size

    def _next_page(self, cursor: Cursor) -> list[Any]:
        wanted = min(cursor.page_size, cursor.total - cursor.delivered)
        rows = cursor.rows.fetchmany(wanted) if wanted > 0 else []
        record = cursor.plan.record
        version = cursor.api_version
        page = [record(row, version) for row in rows]
        if cursor.plan.children:
            cursor.plan.add_children(page, rows, cursor.conn, version)
        cursor.last_start = cursor.delivered
        cursor.last_page = page
        cursor.delivered += len(page)
        return page

    def _reposition(self, cursor: Cursor, position: int) -> list[Any]:
        """Rare: a client jumped to another position; re-run the query from there."""
        if position < 0 or position > cursor.total or cursor.delivered >= cursor.total:
            raise QueryError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.rows.close()
        cursor.rows = cursor.conn.execute(cursor.plan.sql, cursor.plan.params)
        skipped = 0
        while skipped < position:
            chunk = cursor.rows.fetchmany(min(10000, position - skipped))
            if not chunk:
                break
            skipped += len(chunk)
        cursor.delivered = position
        return self._next_page(cursor)

    def _body(self, cursor: Cursor, page: list[Any], start: int | None = None) -> dict[str, Any]:
        end = (start if start is not None else cursor.last_start) + len(page)
        body: dict[str, Any] = {"totalSize": cursor.total, "done": end >= cursor.total or not page}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{cursor.api_version}/query/{cursor.locator}-{end}"
        body["records"] = page
        return body

    def _new_locator(self) -> str:
        tail = "".join(secrets.choice(BASE62) for _ in range(10))
        return "0r8" + "8d" + tail + "AAG"

    def _register(self, cursor: Cursor) -> None:
        now = time.monotonic()
        with self._lock:
            for locator, other in list(self._cursors.items()):
                if now - other.used_at > CURSOR_TTL_SECONDS:
                    self._drop_locked(locator)
            while len(self._cursors) >= MAX_OPEN_CURSORS:
                oldest = min(self._cursors.values(), key=lambda c: c.used_at)
                self._drop_locked(oldest.locator)
            self._cursors[cursor.locator] = cursor

    def _drop(self, locator: str) -> None:
        with self._lock:
            self._drop_locked(locator)

    def _drop_locked(self, locator: str) -> None:
        cursor = self._cursors.pop(locator, None)
        if cursor is not None:
            try:
                cursor.conn.close()
            except sqlite3.Error:
                pass

    def close_all(self) -> None:
        with self._lock:
            for locator in list(self._cursors):
                self._drop_locked(locator)

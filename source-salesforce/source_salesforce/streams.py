"""One Salesforce object as an Airbyte stream: it picks the API, wires a window planner and a reader, and owns state.

The data path: `read` -> full refresh or incremental -> WindowPlanner (windows.py: which records, in which windows)
-> RestReader or BulkReader (readers.py: records and checkpoints) -> RecordOutput (record_output.py: messages);
checkpoints become STATE messages here.

State (per stream):
- incremental: {"cursor_field": "SystemModstamp", "cursor": "2024-01-31T12:00:00.000Z", "last_id": "001..."}: every
  record before (cursor, last_id) in (cursor, Id) order has been delivered; an empty last_id means every record with
  a cursor before `cursor`. REST reads save it after every page; Bulk reads (unordered results) after every window,
  with an empty last_id.
- full refresh: {"last_id": "001..."} while reading in Id order (REST), then {"__ab_full_refresh_sync_complete":
  true}, after which the next sync starts over. A read in SystemModstamp windows (Bulk, or REST after a
  QUERY_TIMEOUT) saves {"last_id": as above if any, "windows": {"cursor_field": "SystemModstamp", "cursor": ...,
  "last_id": ...}}: every record with Id > last_id before the windows' position has been delivered. A full refresh
  given an incremental state ignores it (and says so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from airbyte_cdk.models import AirbyteMessage, ConfiguredAirbyteStream, FailureType, SyncMode, Type
from airbyte_cdk.sources.streams import CheckpointMixin, Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from salesforce_api import BulkClient, RestClient, SalesforceSession
from salesforce_api.airbyte import traced_exception
from salesforce_api.bulk import BulkJobError, BulkNotSupportedError
from salesforce_api.errors import ApiError, QueryTimeoutError, QuotaExceededError, SalesforceError

from source_salesforce import soql
from source_salesforce.config import SourceConfig
from source_salesforce.page_workers import PageWorkers
from source_salesforce.progress import ReadProgress
from source_salesforce.readers import BulkJobSlots, BulkReader, JobsInFlight, Reader, RestReader, TooManyForRest
from source_salesforce.record_blocks import RecordBlock
from source_salesforce.record_output import RecordOutput
from source_salesforce.records import RecordShaper
from source_salesforce.schema import ObjectSchema
from source_salesforce.soql import Position
from source_salesforce.windows import Window, WindowPlanner

logger = logging.getLogger("airbyte")

FULL_REFRESH_DONE = "__ab_full_refresh_sync_complete"
BULK_JOBS = "bulk_jobs"  # state key: the Bulk jobs that existed when the state was saved
MODSTAMP = "SystemModstamp"  # the field that windows a Bulk full refresh
PURGED_DELETES_DAYS = 29  # getDeleted refuses a start more than 30 days back: one day of margin
API_NAMES = {"rest": "REST", "bulk": "Bulk API 2.0"}
# Cursors Salesforce sets on every record: no record is left out by a cursor range on them.
ALWAYS_SET_CURSORS = frozenset({"SystemModstamp", "LastModifiedDate", "CreatedDate"})
DELETED_IDS_PER_QUERY = 200  # ids per `Id IN (...)` query: the query stays well under the URL length limit


@dataclass
class ReadContext:
    """What every stream of one command shares: the clients, the settings, and whether the API budget ran out."""

    session: SalesforceSession
    rest: RestClient
    bulk: BulkClient
    config: SourceConfig
    record_blocks: bool = False  # records go out as RecordBlocks (only SourceEntrypoint writes those)
    page_workers: PageWorkers | None = None  # shape large Bulk results in parallel (with record_blocks only)
    stopped_streams: set[str] = field(default_factory=set)
    quota_message: str | None = None
    bulk_slots: BulkJobSlots = field(default_factory=BulkJobSlots)  # Bulk query jobs at once, all streams together


class SalesforceStream(Stream, CheckpointMixin):
    """Reads one object. Records go out as ready-made RECORD messages to keep per-record work small."""

    source_defined_cursor = False

    def __init__(self, schema: ObjectSchema, context: ReadContext | None):
        self._schema = schema
        self._context = context
        self._state: dict[str, Any] = {}
        self._open_jobs: tuple[str, ...] = ()  # this read's Bulk jobs that exist now

    @property
    def name(self) -> str:
        return self._schema.name

    @property
    def schema(self) -> ObjectSchema:
        return self._schema

    @property
    def primary_key(self) -> str | None:
        return self._schema.primary_key

    @property
    def cursor_field(self) -> str | list[str]:
        return self._schema.default_cursor or []

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: Mapping[str, Any]) -> None:
        self._state = dict(value or {})

    def get_json_schema(self) -> Mapping[str, Any]:
        return self._schema.json_schema

    def as_airbyte_stream(self):  # noqa: ANN201 - the CDK's AirbyteStream
        stream = super().as_airbyte_stream()
        stream.is_resumable = self.primary_key is not None or bool(self.cursor_field)
        return stream

    def read_records(self, sync_mode: SyncMode, cursor_field=None, stream_slice=None, stream_state=None):  # noqa: ANN001, ANN201
        raise NotImplementedError("SalesforceStream is read through read()")

    # -- reading -------------------------------------------------------------------------------------------------

    def read(  # type: ignore[override]
        self,
        configured_stream: ConfiguredAirbyteStream,
        logger: logging.Logger,
        slice_logger: Any,
        stream_state: MutableMapping[str, Any],
        state_manager: Any,
        internal_config: Any,
    ) -> Iterable[AirbyteMessage]:
        context = self._require_context()
        if context.quota_message:
            context.stopped_streams.add(self.name)
            logger.warning("%s skipped: %s", self.name, context.quota_message)
            return
        self._state_manager = state_manager
        self._delete_stale_jobs()
        incremental = configured_stream.sync_mode == SyncMode.incremental
        cursor = self._choose_cursor(configured_stream) if incremental else None
        progress = ReadProgress(self.name, context.session, self.namespace)
        output = RecordOutput(
            self.name,
            self.namespace,
            self._shaper(configured_stream, cursor),
            progress,
            blocks=context.record_blocks,
            page_workers=context.page_workers,
        )
        try:
            if incremental and cursor:
                yield from self._read_incremental(cursor, output)
            else:
                yield from self._read_full_refresh(output)
        except QuotaExceededError as exc:
            context.stopped_streams.add(self.name)
            context.quota_message = _quota_message(exc, context)
            logger.warning("%s stopped: %s", self.name, context.quota_message)
            yield self._state_message()
            return
        except SalesforceError as exc:
            raise traced_exception(exc) from exc
        progress.log("done")

    def _require_context(self) -> ReadContext:
        if self._context is None:
            raise RuntimeError("stream built without a read context")
        return self._context

    def _choose_cursor(self, configured_stream: ConfiguredAirbyteStream) -> str | None:
        allowed = self._schema.cursor_fields
        chosen = configured_stream.cursor_field[0] if configured_stream.cursor_field else self._schema.default_cursor
        if chosen is None:
            return None
        if chosen not in allowed:
            raise AirbyteTracedException(
                message=(
                    f"The cursor field {_shown(chosen)} of stream {self.name} cannot be used: choose one of "
                    f"{', '.join(allowed) or '(none: use full refresh)'}."
                ),
                failure_type=FailureType.config_error,
            )
        return chosen

    def _shaper(self, configured_stream: ConfiguredAirbyteStream, cursor: str | None) -> RecordShaper:
        properties = (configured_stream.stream.json_schema or {}).get("properties") or {}
        if not isinstance(properties, Mapping):
            raise AirbyteTracedException(
                message=f"The catalog's json_schema of stream {self.name} has 'properties' that are not an object.",
                failure_type=FailureType.config_error,
            )
        invalid = sorted(_shown(name) for name in properties if not soql.is_identifier(name))
        if invalid:
            # Refused, not just skipped: a catalog with such names was not produced by discover.
            raise AirbyteTracedException(
                message=(
                    f"The catalog of stream {self.name} selects fields that are not valid Salesforce field names: "
                    f"{', '.join(invalid[:5])}. Refresh the source schema and select the stream's fields again."
                ),
                failure_type=FailureType.config_error,
            )
        parents = set(self._schema.parents)  # relationships carrying a parent external id (parent_external_ids)
        wanted = set(properties or [*self._schema.fields, *parents])
        if parents - wanted:
            logger.warning(
                "%s: the catalog does not select %s, which parent_external_ids adds: refresh the source schema and "
                "select it to read the parent external ids.",
                self.name,
                ", ".join(sorted(parents - wanted)),
            )
        missing = sorted(wanted - set(self._schema.fields) - parents)
        if missing:
            logger.warning(
                "%s: fields no longer in Salesforce are left out of this sync: %s. Refresh the schema to drop them.",
                self.name,
                ", ".join(missing),
            )
        wanted |= {name for name in ("Id", cursor) if name and name in self._schema.fields}
        base64 = sorted(
            name for name in wanted if name in self._schema.fields and self._schema.fields[name].type == "base64"
        )
        if base64 and self._require_context().config.exclude_base64_fields:
            logger.info("%s: base64 fields left out (exclude_base64_fields): %s", self.name, ", ".join(base64))
            wanted -= set(base64)
        return RecordShaper(self._schema, wanted)

    # -- messages and state --------------------------------------------------------------------------------------

    def _state_message(self) -> AirbyteMessage:
        state = self._state
        if self._open_jobs:
            state = {**state, BULK_JOBS: list(self._open_jobs)}
        self._state_manager.update_state_for_stream(self.name, self.namespace, state)
        return self._state_manager.create_state_message(self.name, self.namespace)

    def _emit(
        self, items: Iterator[AirbyteMessage | Position | JobsInFlight], checkpoint: Callable[[Position], None]
    ) -> Iterator[AirbyteMessage]:
        """A reader's records; each checkpoint recorded by `checkpoint` and saved as STATE, as is every new Bulk job
        (so that a run killed while it runs leaves its id for the next run to delete)."""
        for item in items:
            if isinstance(item, Position):
                checkpoint(item)
                yield self._state_message()
            elif isinstance(item, JobsInFlight):
                new = not set(item.ids) <= set(self._open_jobs)
                self._open_jobs = item.ids
                if new:
                    yield self._state_message()
            else:
                yield item

    def _delete_stale_jobs(self) -> None:
        """Delete the Bulk jobs a run that was cut off (kill -9) left, as its last state lists them."""
        saved = self._state.pop(BULK_JOBS, None)
        if not isinstance(saved, list):
            return
        bulk = self._require_context().bulk
        for job_id in saved:
            if isinstance(job_id, str) and soql.is_record_id(job_id):
                logger.info("%s: deleting Bulk job %s, left by an earlier sync that was cut off", self.name, job_id)
                bulk.abort_job(job_id, "query", quiet=True)
                bulk.delete_job(job_id, "query", quiet=True)

    def _set_position(self, cursor_field: str, position: Position) -> AirbyteMessage:
        self._position(cursor_field, position)
        return self._state_message()

    def _position(self, cursor_field: str, position: Position) -> None:
        self._state = {
            "cursor_field": cursor_field,
            "cursor": soql.format_datetime(position.cursor),
            "last_id": position.last_id,
        }

    def _state_error(self, key: str, problem: str) -> AirbyteTracedException:
        return AirbyteTracedException(
            message=(
                f"The saved state of stream {self.name} is not usable: its '{key}' {problem}. Reset this stream's "
                "state (in Airbyte: Connection > Settings > Clear data for the stream) so the next sync starts afresh."
            ),
            failure_type=FailureType.config_error,
        )

    def _saved_last_id(self, saved: Mapping[str, Any] | None = None, key: str = "last_id") -> str:
        """The state's `last_id`, checked: it goes into the query as a record id literal."""
        value = (self._state if saved is None else saved).get("last_id")
        if value in (None, ""):
            return ""
        if not isinstance(value, str) or not soql.is_record_id(value):
            raise self._state_error(key, f"is {_shown(value)}, not a Salesforce record id")
        return value

    def _saved_position(self, cursor: str, saved: Mapping[str, Any] | None = None, key: str = "") -> Position | None:
        """The state's (cursor, last_id) (or those of its part `saved`, under `key`), checked, when it was saved for
        this cursor field; else None."""
        saved = self._state if saved is None else saved
        if not isinstance(saved, Mapping):
            raise self._state_error(key, f"is {_shown(saved)}, not an object")
        field_name = saved.get("cursor_field", cursor)
        if not isinstance(field_name, str):
            raise self._state_error(key + "cursor_field", f"is {_shown(field_name)}, not a field name")
        value = saved.get("cursor")
        if not value or field_name != cursor:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            moment = soql.parse_datetime(value)
        except ValueError:
            raise self._state_error(
                key + "cursor", f"is {_shown(value)}, not a date-time such as 2024-01-31T12:00:00.000Z"
            ) from None
        return Position(moment, self._saved_last_id(saved, key + "last_id"))

    def _start_position(self, cursor: str) -> Position | None:
        config = self._require_context().config
        saved = self._state
        position = self._saved_position(cursor)
        if position is not None:
            if config.lookback:
                position = Position(position.cursor - config.lookback)
            return position
        if saved.get("cursor"):
            logger.warning(
                "%s: the saved state is for cursor %s, not %s; reading from the start date.",
                self.name,
                _shown(saved.get("cursor_field")),
                cursor,
            )
        return Position(config.start_date) if config.start_date else None

    # -- incremental ---------------------------------------------------------------------------------------------

    def _read_incremental(self, cursor: str, output: RecordOutput) -> Iterator[AirbyteMessage]:
        context = self._require_context()
        if self._may_be_null(cursor):
            yield from self._null_cursor_records(cursor, output)
        end = self._server_now()
        start = self._start_position(cursor)
        if start is not None and start.cursor >= end:
            yield self._state_message() if self._state else self._set_position(cursor, start)
            return
        planner = WindowPlanner(context.rest, self.name, cursor)
        window = Window(start, end)
        api = self._api(output.shaper)
        if api == "bulk":
            yield from self._bulk_incremental(planner, window, output)
        else:
            rest = RestReader(context.rest, planner, output, context.config.bulk_threshold if api == "auto" else None)
            try:
                yield from self._emit(rest.read([window]), partial(self._position, cursor))
            except TooManyForRest as switch:
                logger.info("%s: %d records to read, using Bulk API 2.0", self.name, switch.total)
                yield from self._bulk_incremental(planner, window, output, known_count=switch.total)
        if context.config.include_purged_deletes:
            yield from self._purged_deletes(cursor, start, end, output)

    def _may_be_null(self, cursor: str) -> bool:
        """Whether records may lack a value in `cursor`: a nillable field, but not one Salesforce always sets."""
        return cursor not in ALWAYS_SET_CURSORS and self._schema.fields[cursor].nillable

    def _null_cursor_records(self, cursor: str, output: RecordOutput) -> Iterator[AirbyteMessage]:
        """Records whose cursor is empty: no cursor range selects them, so they are read in every sync (re-read, but
        never lost), and the log says how many."""
        context = self._require_context()
        where = [f"{soql.identifier(cursor)} = null"]
        count = 0
        for item in RestReader(context.rest, None, output).read_by_id(self._after_id(output, where)):
            if isinstance(item, str):
                continue
            if isinstance(item, RecordBlock):
                count += item.count
            elif item.type == Type.RECORD:
                count += 1
            yield item
        if count:
            logger.warning(
                "%s: %d records have no value in the cursor field %s; they are read in every sync. Choose a cursor "
                "that is always set (such as SystemModstamp) to read them only when they change.",
                self.name,
                count,
                cursor,
            )

    def _server_now(self) -> datetime:
        """Salesforce's clock, not this machine's: a read's upper bound (and so the saved cursor) taken from a
        clock running ahead would skip the changes made in between for good."""
        context = self._require_context()
        now = context.session.server_time()
        if now is None:
            context.rest.limits()  # any answer carries Salesforce's time in its Date header
            now = context.session.server_time()
        if now is None:
            raise AirbyteTracedException(
                message="Salesforce's answers carry no Date header, so the sync cannot tell the org's time.",
                failure_type=FailureType.system_error,
            )
        # Salesforce stamps whole seconds: a change later in this second is stamped with its start, so the read ends
        # there and the next sync reads the whole second (an end inside it would skip such a change for good).
        return now.astimezone(UTC).replace(microsecond=0)

    def _api(self, shaper: RecordShaper) -> str:
        """Which API reads the stream, logged with the reason: rest, bulk or auto (REST, Bulk above bulk_threshold)."""
        config = self._require_context().config
        wanted = config.force_api
        base64 = [name for name in shaper.field_columns if self._schema.fields[name].type == "base64"]
        if wanted != "rest" and base64:
            log = logger.warning if wanted == "bulk" or config.window else logger.info
            log(
                "%s: reading through REST (force_api: %s, window_days %s): Bulk API 2.0 cannot return the base64 "
                "field(s) %s. Set exclude_base64_fields, or deselect them, to read this stream through Bulk.",
                self.name,
                wanted,
                "ignored" if config.window else "not set",
                ", ".join(base64),
            )
            return "rest"
        if wanted == "auto":
            logger.info(
                "%s: reading through REST, or Bulk API 2.0 if it has more than %d records to read (force_api: auto)",
                self.name,
                config.bulk_threshold,
            )
        else:
            logger.info("%s: reading through %s (force_api: %s)", self.name, API_NAMES[wanted], wanted)
        return wanted

    def _bulk_incremental(
        self, planner: WindowPlanner, window: Window, output: RecordOutput, known_count: int | None = None
    ) -> Iterator[AirbyteMessage]:
        """Read the window in Bulk jobs of one window each; state is saved when a window is complete.

        Bulk results are unordered, so a window is the unit of checkpointing. Without a configured window size the
        windows are sized by record count, so a sparse history costs one job, not one per month.
        """
        context = self._require_context()
        cursor, upper = planner.cursor, window.upper
        assert upper is not None
        count = known_count
        if count is None:
            try:
                count = planner.count(window)
            except QueryTimeoutError:
                # Too many rows to even count quickly: one job, which splits itself while it times out.
                logger.info("%s: counting the records timed out; reading them in Bulk jobs split on demand", self.name)
        yield from output.estimate(count)  # ESTIMATE: the COUNT() before Bulk
        windows = [] if count == 0 else planner.by_count(window, count, context.config.window)
        if not windows:
            yield self._set_position(cursor, Position(upper))
            return
        per_job = count // len(windows) if count else None
        reached = window.lower

        def checkpoint(position: Position) -> None:
            nonlocal reached
            reached = position
            self._position(cursor, position)

        rest = RestReader(context.rest, planner, output)
        try:
            yield from self._emit(
                BulkReader(context.bulk, planner, output, per_job, rest, context.bulk_slots).read(windows), checkpoint
            )
        except BulkNotSupportedError as exc:
            # Raised when the job is created or refused, before any of its rows: nothing is read twice.
            logger.warning("%s: Bulk API cannot serve this object (%s); reading it through REST.", self.name, exc)
            yield from self._emit(rest.read([Window(reached, upper)]), partial(self._position, cursor))

    def _purged_deletes(
        self, cursor: str, start: Position | None, end: datetime, output: RecordOutput
    ) -> Iterator[AirbyteMessage]:
        """Each record getDeleted reports deleted since `start`, once: a row queryAll still returns (the Recycle Bin)
        is read whole by this sync when its cursor lies in [start, end), by the next one when past `end`, and read
        here when before `start`; only a purged record, gone from queryAll, becomes {Id, IsDeleted, cursor}."""
        context = self._require_context()
        earliest = end - timedelta(days=PURGED_DELETES_DAYS)
        begin = max(start.cursor, earliest) if start else earliest
        try:
            answer = context.rest.deleted(self.name, begin, end)
        except ApiError as exc:
            logger.warning("%s: purged deletes are not available (%s)", self.name, exc)
            return
        deleted = {
            item["id"]: item.get("deletedDate")
            for item in answer.get("deletedRecords", [])
            if isinstance(item, Mapping) and soql.is_record_id(item.get("id"))
        }
        if not deleted:
            return
        ids = list(deleted)
        columns = output.shaper.columns
        found = 0
        for chunk in (ids[i : i + DELETED_IDS_PER_QUERY] for i in range(0, len(ids), DELETED_IDS_PER_QUERY)):
            literals = ",".join(soql.id_literal(record_id) for record_id in chunk)
            query = soql.select(self.name, columns, [f"Id IN ({literals})"])
            earlier = []
            for record in context.rest.query(query, include_deleted=True):
                deleted.pop(record["Id"], None)
                value = record.get(cursor)
                if value is None or (start is not None and soql.parse_datetime(value) < start.cursor):
                    earlier.append(record)
            found += len(earlier)
            yield from output.rest(earlier)
        stubs = [{"Id": record_id, "IsDeleted": True, cursor: _rfc3339(date)} for record_id, date in deleted.items()]
        yield from output.shaped(stubs)
        logger.info(
            "%s: %d deleted records reported by getDeleted: %d read whole here, %d purged (Id and deletion time only)",
            self.name,
            len(ids),
            found,
            len(stubs),
        )
        if found or stubs:
            yield self._state_message()  # the records above come after the read's last STATE

    # -- full refresh --------------------------------------------------------------------------------------------

    def _read_full_refresh(self, output: RecordOutput) -> Iterator[AirbyteMessage]:
        """Every record, in Id order through REST; or in SystemModstamp windows (Bulk, or after a QUERY_TIMEOUT),
        within the records after the saved `last_id`."""
        context = self._require_context()
        last_id, windows_from = self._full_refresh_start()
        keyed = self.primary_key == "Id"
        where = [f"Id > {soql.id_literal(last_id)}"] if last_id else []
        api = self._api(output.shaper)
        known_count: int | None = None
        if windows_from is None and api != "bulk":
            rest = RestReader(context.rest, None, output, context.config.bulk_threshold if api == "auto" else None)
            try:
                for item in rest.read_by_id(self._after_id(output, where)):
                    if not isinstance(item, str):
                        yield item
                    elif keyed:
                        last_id, where = item, [f"Id > {soql.id_literal(item)}"]
                        self._state = {"last_id": item}
                        yield self._state_message()
            except TooManyForRest as switch:
                logger.info("%s: %d records to read, using Bulk API 2.0", self.name, switch.total)
                api, known_count = "bulk", switch.total
            except QueryTimeoutError:
                if MODSTAMP not in self._schema.fields:
                    raise
                logger.info("%s: the full refresh query timed out; reading in %s windows", self.name, MODSTAMP)
                api = "rest"
            else:
                api = "done"
        if api != "done":
            yield from self._windowed_full_refresh(last_id, where, windows_from, api, output, known_count)
        self._state = {FULL_REFRESH_DONE: True}
        yield self._state_message()

    def _after_id(self, output: RecordOutput, where: list[str]) -> Callable[[str], str]:
        """The query of records matching `where` after a given Id (all for ""), in Id order."""

        def query(last_id: str) -> str:
            if self.primary_key != "Id":  # no Id to order by (none seen so far): read it whole
                return soql.select(self.name, output.shaper.columns, where)
            after = [f"Id > {soql.id_literal(last_id)}"] if last_id else []
            return soql.select(self.name, output.shaper.columns, [*where, *after], order_by=("Id",))

        return query

    def _full_refresh_start(self) -> tuple[str, Position | None]:
        """(last_id, SystemModstamp position of the windows) to resume a full refresh from; an incremental state
        is not one (it would skip every record before its cursor): it is ignored, and said so."""
        saved = self._state
        if saved.get(FULL_REFRESH_DONE):
            self._state = {}  # a new full refresh starts
            return "", None
        if "cursor" in saved or "cursor_field" in saved:
            logger.warning(
                "%s: the saved state %s is an incremental one; this full refresh ignores it and reads every record.",
                self.name,
                _shown({k: saved.get(k) for k in ("cursor_field", "cursor", "last_id") if k in saved}, 200),
            )
            self._state = {}
            return "", None
        windows = saved.get("windows")
        position = None
        if windows is not None and MODSTAMP in self._schema.fields:
            position = self._saved_position(MODSTAMP, windows, "windows.")
        return self._saved_last_id(), position

    def _windowed_full_refresh(
        self,
        last_id: str,
        where: list[str],
        lower: Position | None,
        api: str,
        output: RecordOutput,
        known_count: int | None,
    ) -> Iterator[AirbyteMessage]:
        """Read every record matching `where` from `lower` on, in SystemModstamp windows: in pipelined Bulk jobs of
        about BULK_FULL_REFRESH_WINDOW_RECORDS records each, or through REST (ordered, split while they time out).

        The last window has no upper bound: a record changed during the sync moves to a later SystemModstamp, so it
        is still read (perhaps twice), never missed. State records how far the windows got, so a failed sync
        resumes after what was delivered.
        """
        context = self._require_context()
        if MODSTAMP not in self._schema.fields:
            # No field to window on: one Bulk job (retried), or REST in Id order when Bulk cannot serve it.
            planner = WindowPlanner(context.rest, self.name, "Id", where)
            try:
                reader = BulkReader(context.bulk, planner, output, known_count, slots=context.bulk_slots)
                yield from self._emit(reader.read([Window(None, None)]), lambda _: None)
            except (BulkNotSupportedError, BulkJobError) as exc:
                logger.warning("%s: Bulk API could not read this object (%s); reading it through REST.", self.name, exc)
                for item in RestReader(context.rest, None, output).read_by_id(self._after_id(output, where)):
                    if not isinstance(item, str):
                        yield item
            return
        planner = WindowPlanner(context.rest, self.name, MODSTAMP, where)
        end = self._server_now()
        rest = RestReader(context.rest, planner, output)
        windows = [Window(lower, end), Window(Position(end), None)]
        reader: Reader = rest
        if api == "bulk":
            count = known_count if lower is None else None
            if count is None:
                try:
                    count = planner.count(Window(lower, None))
                except QueryTimeoutError:
                    logger.info(
                        "%s: counting the records timed out; reading them in Bulk jobs split on demand", self.name
                    )
            yield from output.estimate(count)  # ESTIMATE: the COUNT() before Bulk
            if count is not None:
                windows = planner.open_ended(lower, count, end)
            per_job = count // len(windows) if count else None
            reader = BulkReader(context.bulk, planner, output, per_job, rest, context.bulk_slots)
        reached = lower

        def checkpoint(position: Position) -> None:
            nonlocal reached
            reached = position
            self._full_refresh_position(last_id, position)

        try:
            yield from self._emit(reader.read(windows), checkpoint)
        except BulkNotSupportedError as exc:
            # Raised when a job is created or refused, before any of its rows.
            logger.warning("%s: Bulk API cannot serve this object (%s); reading it through REST.", self.name, exc)
            yield from self._emit(rest.read([Window(reached, end), Window(Position(end), None)]), checkpoint)

    def _full_refresh_position(self, last_id: str, position: Position) -> None:
        """State of a windowed full refresh: every record with Id > last_id (when set) before `position` in
        (SystemModstamp, Id) order has been delivered."""
        windows = {"cursor_field": MODSTAMP, "cursor": soql.format_datetime(position.cursor)}
        if position.last_id:
            windows["last_id"] = position.last_id
        self._state = {"last_id": last_id, "windows": windows} if last_id else {"windows": windows}


class UnavailableStream(Stream):
    """A configured stream that cannot be read (unknown object, invisible to the user, invalid name).

    It fails on its own with a config error when its turn comes, so the catalog's other streams still sync.
    """

    primary_key = None

    def __init__(self, name: str, message: str):
        self._name, self._message = name, message

    @property
    def name(self) -> str:
        return self._name

    def get_json_schema(self) -> Mapping[str, Any]:
        return {"type": "object", "properties": {}}

    def read(self, *args: Any, **kwargs: Any) -> Iterable[AirbyteMessage]:  # type: ignore[override]
        raise AirbyteTracedException(message=self._message, failure_type=FailureType.config_error)

    def read_records(self, sync_mode: SyncMode, cursor_field=None, stream_slice=None, stream_state=None):  # noqa: ANN001, ANN201
        raise AirbyteTracedException(message=self._message, failure_type=FailureType.config_error)


def _shown(value: Any, limit: int = 60) -> str:
    """A value from the catalog or state quoted for a message: repr (so newlines and quotes stay visible), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return soql.format_datetime(soql.parse_datetime(value))


def _quota_message(exc: Exception, context: ReadContext) -> str:
    usage = context.session.usage
    used = f" (API use {usage.used}/{usage.limit})" if usage else ""
    if isinstance(exc, QuotaExceededError) and getattr(exc, "budget", False):
        return (
            f"the API budget of {context.config.api_budget_percent:g}% of the daily limit is reached{used}; "
            "the sync stopped with its state saved and resumes from there next time"
        )
    return f"the org's daily API limit is reached{used}; the sync stopped with its state saved"

"""One Salesforce object as an Airbyte stream: REST and Bulk readers, windows, checkpoints and state.

State (per stream):
- incremental: {"cursor_field": "SystemModstamp", "cursor": "2024-01-31T12:00:00.000Z", "last_id": "001..."}: every
  record before (cursor, last_id) in (cursor, Id) order has been delivered; an empty last_id means every record with
  a cursor before `cursor`. REST reads save it after every page; Bulk reads (unordered results) after every window,
  with an empty last_id.
- full refresh: {"last_id": "001..."} while reading (records are read in Id order), then
  {"__ab_full_refresh_sync_complete": true}, after which the next sync starts over. A Bulk read, in SystemModstamp
  windows, saves {"cursor_field": "SystemModstamp", "cursor": end of the last window read, "last_id": as above
  if any}: every record with Id > last_id and SystemModstamp < cursor has been delivered.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    ConfiguredAirbyteStream,
    FailureType,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.streams import CheckpointMixin, Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from salesforce_api import BulkClient, QueryPage, RestClient, SalesforceSession
from salesforce_api.airbyte import traced_exception
from salesforce_api.bulk import BulkJobError, BulkNotSupportedError, BulkQueryResult
from salesforce_api.errors import ApiError, QueryTimeoutError, QuotaExceededError, SalesforceError

from source_salesforce import soql
from source_salesforce.config import SourceConfig
from source_salesforce.page_workers import MIN_RECORDS as PARALLEL_MIN_RECORDS
from source_salesforce.page_workers import PageWorkers
from source_salesforce.prefetch import prefetched
from source_salesforce.progress import ReadProgress as _Progress  # ESTIMATE traces, rate/ETA log lines
from source_salesforce.record_blocks import RecordBlock, RecordBlocks, record_block
from source_salesforce.record_lines import record_line_parts
from source_salesforce.records import RecordShaper
from source_salesforce.schema import ObjectSchema
from source_salesforce.soql import Position

logger = logging.getLogger("airbyte")

FULL_REFRESH_DONE = "__ab_full_refresh_sync_complete"
MODSTAMP = "SystemModstamp"  # the field that windows a Bulk full refresh
MIN_SPLIT = timedelta(seconds=1)  # a window that still times out at this size is reported, not split further
PURGED_DELETES_DAYS = 29  # getDeleted only covers the last 30 days
BLOCK_RECORDS = 1_000  # Bulk rows per RecordBlock: few messages, and a block's bytes stay under a megabyte or so
# Records per Bulk job when no window size is configured: small enough that jobs pipeline (one is processed by
# Salesforce while the previous one's results are read) and state is saved often, large enough to cost few calls.
BULK_WINDOW_RECORDS = 500_000
# A full refresh windows only beyond this: each window is a filtered job that rescans the object server-side,
# which (measured against the emulator) costs more than the overlap gains below a million records.
BULK_FULL_REFRESH_WINDOW_RECORDS = 1_000_000


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


class SalesforceStream(Stream, CheckpointMixin):
    """Reads one object. Records go out as ready-made RECORD messages to keep per-record work small."""

    source_defined_cursor = False

    def __init__(self, schema: ObjectSchema, context: ReadContext | None):
        self._schema = schema
        self._context = context
        self._state: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._schema.name

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
        incremental = configured_stream.sync_mode == SyncMode.incremental
        cursor = self._choose_cursor(configured_stream) if incremental else None
        shaper = self._shaper(configured_stream, cursor)
        progress = _Progress(self.name, context.session, self.namespace)
        try:
            if incremental and cursor:
                yield from self._read_incremental(cursor, shaper, progress)
            else:
                yield from self._read_full_refresh(shaper, progress)
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
        wanted = set(properties or self._schema.fields)
        missing = sorted(wanted - set(self._schema.fields))
        if missing:
            logger.warning(
                "%s: fields no longer in Salesforce are left out of this sync: %s. Refresh the schema to drop them.",
                self.name,
                ", ".join(missing),
            )
        wanted |= {name for name in ("Id", cursor) if name and name in self._schema.fields}
        return RecordShaper(self._schema, wanted)

    # -- messages and state --------------------------------------------------------------------------------------

    def _records(self, rows: Iterable[dict[str, Any]]) -> Iterator[AirbyteMessage]:
        """RECORD messages for `rows`: through SourceEntrypoint a RecordBlock per BLOCK_RECORDS rows (see
        record_blocks), for any other caller one message per record."""
        name = self.name
        emitted_at = int(time.time() * 1000)
        if self._require_context().record_blocks:
            serialiser = RecordBlocks(name, self.namespace, emitted_at)
            rows = iter(rows)
            while block := serialiser.block(islice(rows, BLOCK_RECORDS)):
                yield block
            return
        for data in rows:
            yield AirbyteMessage(
                type=Type.RECORD, record=AirbyteRecordMessage(stream=name, data=data, emitted_at=emitted_at)
            )

    def _state_message(self) -> AirbyteMessage:
        self._state_manager.update_state_for_stream(self.name, self.namespace, self._state)
        return self._state_manager.create_state_message(self.name, self.namespace)

    def _set_position(self, cursor_field: str, position: Position) -> AirbyteMessage:
        self._state = {
            "cursor_field": cursor_field,
            "cursor": soql.format_datetime(position.cursor),
            "last_id": position.last_id,
        }
        return self._state_message()

    def _state_error(self, key: str, problem: str) -> AirbyteTracedException:
        return AirbyteTracedException(
            message=(
                f"The saved state of stream {self.name} is not usable: its '{key}' {problem}. Reset this stream's "
                "state (in Airbyte: Connection > Settings > Clear data for the stream) so the next sync starts afresh."
            ),
            failure_type=FailureType.config_error,
        )

    def _saved_last_id(self) -> str:
        """The state's `last_id`, checked: it goes into the query as a record id literal."""
        value = self._state.get("last_id")
        if value in (None, ""):
            return ""
        if not isinstance(value, str) or not soql.is_record_id(value):
            raise self._state_error("last_id", f"is {_shown(value)}, not a Salesforce record id")
        return value

    def _saved_position(self, cursor: str) -> Position | None:
        """The state's (cursor, last_id), checked, when it was saved for this cursor field; else None."""
        saved = self._state
        field_name = saved.get("cursor_field", cursor)
        if not isinstance(field_name, str):
            raise self._state_error("cursor_field", f"is {_shown(field_name)}, not a field name")
        value = saved.get("cursor")
        if not value or field_name != cursor:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            moment = soql.parse_datetime(value)
        except ValueError:
            raise self._state_error(
                "cursor", f"is {_shown(value)}, not a date-time such as 2024-01-31T12:00:00.000Z"
            ) from None
        return Position(moment, self._saved_last_id())

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

    def _read_incremental(self, cursor: str, shaper: RecordShaper, progress: _Progress) -> Iterator[AirbyteMessage]:
        context = self._require_context()
        end = soql.truncate_to_millis(datetime.now(UTC))
        start = self._start_position(cursor)
        if start is not None and start.cursor >= end:
            yield self._state_message() if self._state else self._set_position(cursor, start)
            return
        api = self._api(shaper)
        if api == "bulk":
            yield from self._bulk_range(cursor, start, end, shaper, progress)
        else:
            yield from self._rest_range(cursor, start, end, shaper, progress, auto=api == "auto")
        if context.config.include_purged_deletes:
            yield from self._purged_deletes(cursor, start, end)

    def _api(self, shaper: RecordShaper) -> str:
        wanted = self._require_context().config.force_api
        if wanted != "rest" and any(self._schema.fields[name].type == "base64" for name in shaper.columns):
            return "rest"  # Bulk cannot select base64 fields
        return wanted

    def _cursor_query(
        self, cursor: str, shaper: RecordShaper, lower: Position | None, upper: datetime, ordered: bool = True
    ) -> str:
        where = [soql.after_position(cursor, lower)] if lower else []
        where.append(soql.before(cursor, upper))
        return soql.select(self.name, shaper.columns, where, order_by=(cursor, "Id") if ordered else ())

    def _rest_range(
        self,
        cursor: str,
        lower: Position | None,
        upper: datetime,
        shaper: RecordShaper,
        progress: _Progress,
        auto: bool = False,
    ) -> Iterator[AirbyteMessage]:
        """Read [lower, upper) in (cursor, Id) order, checkpointing after every page; split it on QUERY_TIMEOUT."""
        context = self._require_context()
        position = lower
        try:
            pages = self._pages(self._cursor_query(cursor, shaper, lower, upper))
            for page in pages:
                yield from progress.estimate(page.total_size)  # ESTIMATE: the first page's totalSize
                if auto:
                    auto = False
                    if page.total_size > context.config.bulk_threshold and page.records:
                        logger.info("%s: %d records to read, using Bulk API 2.0", self.name, page.total_size)
                        yield from self._bulk_range(cursor, lower, upper, shaper, progress, known_count=page.total_size)
                        return
                records = page.records
                if not records:
                    continue
                yield from self._records(map(shaper.from_rest, records))
                progress.add(len(records))
                last = records[-1]
                position = Position(soql.parse_datetime(last[cursor]), last["Id"])
                yield self._set_position(cursor, position)
        except QueryTimeoutError:
            low = position.cursor if position else self._min_cursor(cursor, upper)
            if low is None:
                raise
            if upper - low <= MIN_SPLIT:
                raise
            middle = soql.midpoint(low, upper)
            logger.info("%s: query timed out; splitting [%s, %s) at %s", self.name, low, upper, middle)
            yield from self._rest_range(cursor, position or Position(low), middle, shaper, progress)
            yield from self._rest_range(cursor, Position(middle), upper, shaper, progress)
            return
        yield self._set_position(cursor, Position(upper))

    def _pages(self, query: str) -> Iterator[QueryPage]:
        """queryAll pages; from the second on, the next page is fetched while the current one is emitted."""
        pages = self._require_context().rest.query_pages(query, include_deleted=True)
        first = next(pages, None)
        if first is None:
            return
        yield first
        if first.next_records_url:
            # Not before: a read that stops after its first page (auto switching to Bulk) wastes no call.
            yield from prefetched(pages)

    def _min_cursor(self, cursor: str, upper: datetime) -> datetime | None:
        query = soql.select(self.name, [cursor], [soql.before(cursor, upper)], order_by=(cursor,), limit=1)
        for record in self._require_context().rest.query(query, include_deleted=True):
            return soql.parse_datetime(record[cursor])
        return None

    def _bulk_range(
        self,
        cursor: str,
        lower: Position | None,
        upper: datetime,
        shaper: RecordShaper,
        progress: _Progress,
        known_count: int | None = None,
    ) -> Iterator[AirbyteMessage]:
        """Read [lower, upper) in Bulk jobs of one window each; state is saved when a window is complete.

        Bulk results are unordered, so a window is the unit of checkpointing. Without a configured window size the
        windows are sized by record count, so a sparse history costs one job, not one per month.
        """
        context = self._require_context()
        count = known_count
        if count is None:
            try:
                count = self._count(cursor, lower, upper)
            except QueryTimeoutError:
                # Too many rows to even count quickly: one job, which splits itself while it times out.
                logger.info("%s: counting the records timed out; reading them in Bulk jobs split on demand", self.name)
        yield from progress.estimate(count)  # ESTIMATE: COUNT() before Bulk
        if count == 0:
            yield self._set_position(cursor, Position(upper))
            return
        window = context.config.window
        parts = max(1, math.ceil(count / BULK_WINDOW_RECORDS)) if count is not None else 1
        spans: list[tuple[Position | None, datetime]] = [(lower, upper)]
        if window is not None or parts > 1:
            low = lower.cursor if lower else self._min_cursor(cursor, upper)
            if low is None:
                yield self._set_position(cursor, Position(upper))
                return
            size = window or max((upper - low) / parts, MIN_SPLIT)
            spans = [
                (lower if lower and start == lower.cursor else Position(start), end)
                for start, end in soql.windows(low, upper, size)
            ]
        per_job = count // len(spans) if count else None
        yield from self._bulk_spans(cursor, spans, upper, shaper, progress, per_job)

    def _bulk_spans(
        self,
        cursor: str,
        spans: list[tuple[Position | None, datetime]],
        upper: datetime,
        shaper: RecordShaper,
        progress: _Progress,
        records_per_job: int | None = None,
    ) -> Iterator[AirbyteMessage]:
        """One pipelined Bulk job per span, state saved after each; a span that times out is split and read alone."""
        queries = [self._cursor_query(cursor, shaper, low, high, ordered=False) for low, high in spans]
        done = 0
        try:
            for result in self._pipelined(queries, records_per_job):
                yield from self._bulk_rows(result, shaper, progress)
                yield self._set_position(cursor, Position(spans[done][1]))
                done += 1
        except BulkNotSupportedError as exc:
            # Raised when the job is created or refused, before any of its rows: nothing is read twice.
            logger.warning("%s: Bulk API cannot serve this object (%s); reading it through REST.", self.name, exc)
            yield from self._rest_range(cursor, spans[done][0], upper, shaper, progress)
        except BulkJobError as exc:
            if "QUERY_TIMEOUT" not in str(exc):
                raise
            span_lower, span_upper = spans[done]
            yield from self._bulk_split(cursor, span_lower, span_upper, shaper, progress, exc)
            yield from self._bulk_spans(cursor, spans[done + 1 :], upper, shaper, progress)

    def _pipelined(self, queries: list[str], records_per_job: int | None = None) -> Iterator[BulkQueryResult]:
        """The finished Bulk job of each query, in order. Job n+1 is submitted as soon as job n completes, so
        Salesforce processes it while job n's results are read; a job left pending on exit is aborted.
        `records_per_job` (an estimate) helps notice sooner that a job is done."""
        bulk = self._require_context().bulk
        pending: str | None = None
        try:
            for index, query in enumerate(queries):
                job_id = pending or bulk.submit_query(query, include_deleted=True)
                pending = None
                result = bulk.wait_query(job_id, expected_records=records_per_job)
                if index + 1 < len(queries):
                    pending = bulk.submit_query(queries[index + 1], include_deleted=True)
                yield result
        finally:
            if pending is not None:
                bulk.abort_job(pending, "query", quiet=True)

    def _bulk_window(
        self, cursor: str, lower: Position | None, upper: datetime, shaper: RecordShaper, progress: _Progress
    ) -> Iterator[AirbyteMessage]:
        """One Bulk job for [lower, upper), split in two (recursively) while it hits QUERY_TIMEOUT."""
        context = self._require_context()
        try:
            result = context.bulk.query(
                self._cursor_query(cursor, shaper, lower, upper, ordered=False), include_deleted=True
            )
        except BulkJobError as exc:
            if "QUERY_TIMEOUT" not in str(exc):
                raise
            yield from self._bulk_split(cursor, lower, upper, shaper, progress, exc)
            return
        yield from self._bulk_rows(result, shaper, progress)
        yield self._set_position(cursor, Position(upper))

    def _bulk_split(
        self,
        cursor: str,
        lower: Position | None,
        upper: datetime,
        shaper: RecordShaper,
        progress: _Progress,
        exc: BulkJobError,
    ) -> Iterator[AirbyteMessage]:
        """Read [lower, upper), whose job timed out, as two halves."""
        low = lower.cursor if lower else self._min_cursor(cursor, upper)
        if low is None or upper - low <= MIN_SPLIT:
            raise exc
        middle = soql.midpoint(low, upper)
        logger.info("%s: Bulk query timed out; splitting [%s, %s) at %s", self.name, low, upper, middle)
        yield from self._bulk_window(cursor, lower or Position(low), middle, shaper, progress)
        yield from self._bulk_window(cursor, Position(middle), upper, shaper, progress)

    def _bulk_rows(
        self, result: BulkQueryResult, shaper: RecordShaper, progress: _Progress
    ) -> Iterator[AirbyteMessage]:
        context = self._require_context()
        workers = context.page_workers
        if workers and (result.number_records or 0) >= PARALLEL_MIN_RECORDS and workers.start():
            for count, lines in workers.lines(result.page_files(), shaper, self._line_parts):
                yield record_block(self.name, self.namespace, count, lines)
                progress.add(count)
            return
        for header, rows in result.pages():
            for message in self._records(map(shaper.csv_row_shaper(header), rows)):
                yield message
                progress.add(message.count if isinstance(message, RecordBlock) else 1)

    def _line_parts(self) -> tuple[bytes, bytes]:
        """The bytes around a record's data in its RECORD line, stamped now."""
        return record_line_parts(self.name, self.namespace, int(time.time() * 1000))

    def _count(self, cursor: str, lower: Position | None, upper: datetime) -> int:
        """Records in [lower, upper), deleted ones included (queryAll), in one call."""
        where = [soql.after_position(cursor, lower)] if lower else []
        where.append(soql.before(cursor, upper))
        return self._require_context().rest.count(
            f"FROM {soql.identifier(self.name)} WHERE {' AND '.join(where)}", include_deleted=True
        )

    def _purged_deletes(self, cursor: str, start: Position | None, end: datetime) -> Iterator[AirbyteMessage]:
        earliest = end - timedelta(days=PURGED_DELETES_DAYS)
        begin = max(start.cursor, earliest) if start else earliest
        try:
            answer = self._require_context().rest.deleted(self.name, begin, end)
        except ApiError as exc:
            logger.warning("%s: purged deletes are not available (%s)", self.name, exc)
            return
        rows = [
            {"Id": item["id"], "IsDeleted": True, cursor: _salesforce_datetime(item.get("deletedDate"))}
            for item in answer.get("deletedRecords", [])
        ]
        yield from self._records(rows)

    # -- full refresh --------------------------------------------------------------------------------------------

    def _read_full_refresh(self, shaper: RecordShaper, progress: _Progress) -> Iterator[AirbyteMessage]:
        context = self._require_context()
        done = bool(self._state.get(FULL_REFRESH_DONE))
        last_id = "" if done else self._saved_last_id()
        keyed = self.primary_key == "Id"
        where = [f"Id > {soql.id_literal(last_id)}"] if last_id else []
        # A Bulk read saves how far (in SystemModstamp) its windows got: those records need not be read again.
        bulk_position = None if done or MODSTAMP not in self._schema.fields else self._saved_position(MODSTAMP)
        if bulk_position is not None:
            where.append(soql.after_position(MODSTAMP, Position(bulk_position.cursor)))
        query = soql.select(self.name, shaper.columns, where, order_by=("Id",) if keyed else ())
        api = self._api(shaper)
        known_count: int | None = None
        if api != "bulk":
            pages = self._pages(query)
            for page in pages:
                yield from progress.estimate(page.total_size)  # ESTIMATE: the first page's totalSize
                if api == "auto" and page.total_size > context.config.bulk_threshold:
                    logger.info("%s: %d records to read, using Bulk API 2.0", self.name, page.total_size)
                    api, known_count = "bulk", page.total_size
                    break
                api = "rest"
                if not page.records:
                    continue
                yield from self._records(map(shaper.from_rest, page.records))
                progress.add(len(page.records))
                if keyed:
                    self._state = {"last_id": page.records[-1]["Id"]}
                    yield self._state_message()
        if api == "bulk":
            try:
                yield from self._bulk_full_refresh(last_id, where, shaper, progress, known_count)
            except BulkNotSupportedError as exc:
                # Raised when a job is created or refused, before any of its rows.
                logger.warning("%s: Bulk API cannot serve this object (%s); reading it through REST.", self.name, exc)
                for page in self._pages(query):
                    yield from self._records(map(shaper.from_rest, page.records))
                    progress.add(len(page.records))
                    if keyed and page.records:
                        self._state = {"last_id": page.records[-1]["Id"]}
                        yield self._state_message()
        self._state = {FULL_REFRESH_DONE: True}
        yield self._state_message()

    def _bulk_full_refresh(
        self, last_id: str, where: list[str], shaper: RecordShaper, progress: _Progress, known_count: int | None
    ) -> Iterator[AirbyteMessage]:
        """Read every record matching `where` in pipelined Bulk jobs, one per SystemModstamp window.

        The last window has no upper bound: a record changed during the sync moves to a later SystemModstamp, so it
        is still read (perhaps twice), never missed. After each bounded window the state records its end, so a
        failed sync resumes after the windows already delivered.
        """
        spans, count = self._full_refresh_spans(where, known_count)
        yield from progress.estimate(count)  # ESTIMATE: COUNT() before Bulk
        queries = []
        for low, high in spans:
            conditions = list(where)
            if low is not None:
                conditions.append(soql.after_position(MODSTAMP, Position(low)))
            if high is not None:
                conditions.append(soql.before(MODSTAMP, high))
            # Bulk results come unordered, so the job is not asked to sort.
            queries.append(soql.select(self.name, shaper.columns, conditions))
        per_job = count // len(spans) if count else None
        for (_, high), result in zip(spans, self._pipelined(queries, per_job), strict=False):
            yield from self._bulk_rows(result, shaper, progress)
            if high is not None:
                self._state = {"cursor_field": MODSTAMP, "cursor": soql.format_datetime(high)}
                if last_id:
                    self._state["last_id"] = last_id
                yield self._state_message()

    def _full_refresh_spans(
        self, where: list[str], known_count: int | None
    ) -> tuple[list[tuple[datetime | None, datetime | None]], int | None]:
        """SystemModstamp windows of about BULK_FULL_REFRESH_WINDOW_RECORDS records (one open span when that is all),
        and the count of records to read when known."""
        if MODSTAMP not in self._schema.fields:
            return [(None, None)], known_count
        rest = self._require_context().rest
        source = f"FROM {soql.identifier(self.name)}" + (f" WHERE {' AND '.join(where)}" if where else "")
        count = known_count if known_count is not None else rest.count(source, include_deleted=True)
        parts = math.ceil(count / BULK_FULL_REFRESH_WINDOW_RECORDS)
        if parts <= 1:
            return [(None, None)], count
        end = soql.truncate_to_millis(datetime.now(UTC))
        first = soql.select(self.name, [MODSTAMP], where, order_by=(MODSTAMP,), limit=1)
        low = next((soql.parse_datetime(r[MODSTAMP]) for r in rest.query(first, include_deleted=True)), None)
        if low is None or low >= end:
            return [(None, None)], count
        bounds = [high for _, high in soql.windows(low, end, max((end - low) / parts, MIN_SPLIT))][:-1]
        return list(zip([None, *bounds], [*bounds, None], strict=True)), count


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


def _salesforce_datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return soql.format_datetime(soql.parse_datetime(value))[:-1] + "+0000"


def _quota_message(exc: Exception, context: ReadContext) -> str:
    usage = context.session.usage
    used = f" (API use {usage.used}/{usage.limit})" if usage else ""
    if isinstance(exc, QuotaExceededError) and getattr(exc, "budget", False):
        return (
            f"the API budget of {context.config.api_budget_percent:g}% of the daily limit is reached{used}; "
            "the sync stopped with its state saved and resumes from there next time"
        )
    return f"the org's daily API limit is reached{used}; the sync stopped with its state saved"

"""The Salesforce destination: spec, check, discover and the write loop.

The write loop buffers records per stream and writes a buffer when it is full, when its oldest record has waited
the flush interval (real-time mode), at every STATE and at the end of input. In batch mode (no flush interval),
records bound for Bulk API 2.0 gather across writes into jobs of up to 100 MB. A STATE is held until every record
before it has its final outcome from Salesforce (written or rejected), then emitted with destinationStats.
"""

from __future__ import annotations

import argparse
import heapq
import io
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.exception_handler import init_uncaught_exception_handler
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateType,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    DestinationSyncMode,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from airbyte_protocol_dataclasses.models import DestinationCatalog, DestinationOperation
from salesforce_api import BulkClient, RestClient, connect
from salesforce_api.airbyte import traced_exception
from salesforce_api.errors import ApiError, ConfigError, NotFoundError, SalesforceError

from destination_salesforce.mapping import PreparedRecord, RecordFilter, ValueFormatError
from destination_salesforce.plan import StreamPlan, build_plan, choose_operation, is_event, problems
from destination_salesforce.protocol import (
    TICK,
    DestinationStats,
    UpToBadLine,
    catalog_to_json,
    message_to_json,
    parse_lines,
    read_with_deadlines,
)
from destination_salesforce.rejects import Rejection, RejectLog, RejectThresholdExceeded
from destination_salesforce.spec import WriterConfig, check_against_spec, check_api_name, connector_spec

logger = logging.getLogger("airbyte")

JSON_TYPES = {
    "boolean": {"type": ["null", "boolean"]},
    "int": {"type": ["null", "integer"]},
    "double": {"type": ["null", "number"]},
    "currency": {"type": ["null", "number"]},
    "percent": {"type": ["null", "number"]},
    "date": {"type": ["null", "string"], "format": "date"},
    "datetime": {"type": ["null", "string"], "format": "date-time"},
    "time": {"type": ["null", "string"], "format": "time"},
}


@dataclass
class StreamBuffer:
    records: list[PreparedRecord] = field(default_factory=list)
    first_at: float | None = None  # time.monotonic() of the oldest buffered record
    received: int = 0  # records since this stream's last STATE, for destinationStats
    position: int = 0
    rejected_at: list[int] = field(default_factory=list)  # heap: positions rejected, not yet counted in a STATE


@dataclass
class PendingState:
    """A STATE held back until every record before it has its outcome."""

    message: AirbyteMessage
    marks: dict[tuple[str | None, str], int]  # each covered stream's position when the STATE arrived
    received: int


class DestinationSalesforce(Destination):
    VALID_CMDS = {"spec", "check", "discover", "write"}

    def spec(self, logger: logging.Logger | None = None) -> ConnectorSpecification:
        return connector_spec()

    # -- check ---------------------------------------------------------------------------------------------------

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            cfg = WriterConfig.from_mapping(config)
            RecordFilter(cfg.filter)
            operation, _ = choose_operation(DestinationSyncMode.append, cfg, cfg.object)
            rest = RestClient(connect(cfg.credentials, api_version=cfg.api_version))
            describe = describe_object(rest, cfg.object, "object")
            found = problems(describe, cfg, operation)
            if found:
                return AirbyteConnectionStatus(status=Status.FAILED, message="; ".join(found))
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        except ValueError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        except ApiError as exc:
            if exc.status == 404:
                return AirbyteConnectionStatus(status=Status.FAILED, message=f"object {config.get('object')} not found")
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"Salesforce refused the check: {exc}")
        except SalesforceError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))

    # -- discover ------------------------------------------------------------------------------------------------

    def discover_operations(self, config: Mapping[str, Any]) -> DestinationCatalog:
        """One operation per writable object and supported sync mode, with its writable fields as JSON schema;
        the matching keys of append_dedup are the object's external id fields."""
        cfg = WriterConfig.from_mapping(config)
        rest = RestClient(connect(cfg.credentials, api_version=cfg.api_version))
        try:
            listing = rest.describe_global()
        except NotFoundError:
            check_api_version(rest)
            raise
        names = [
            o["name"]
            for o in listing["sobjects"]
            if (o.get("createable") or o.get("updateable")) and not o.get("deprecatedAndHidden")
        ]
        operations: list[DestinationOperation] = []
        for name, describe in rest.describe_many(names):
            if isinstance(describe, Exception):
                logger.warning("Skipping %s: %s", name, describe)
                continue
            operations.extend(_operations(describe))
        return DestinationCatalog(operations=operations)

    # -- write ---------------------------------------------------------------------------------------------------

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        try:
            yield from self._write(WriterConfig.from_mapping(config), configured_catalog, input_messages)
        except RejectThresholdExceeded as exc:
            raise AirbyteTracedException(message=str(exc), failure_type=FailureType.config_error) from None
        except SalesforceError as exc:
            raise traced_exception(exc) from None

    def _write(
        self, cfg: WriterConfig, catalog: ConfiguredAirbyteCatalog, input_messages: Iterable[AirbyteMessage]
    ) -> Iterator[AirbyteMessage]:
        try:
            record_filter = RecordFilter(cfg.filter)
        except ValueError as exc:
            raise ConfigError(str(exc), setting="filter") from None
        session = connect(cfg.credentials, api_version=cfg.api_version)
        rest, bulk = RestClient(session), BulkClient(session)
        plans: dict[tuple[str | None, str], StreamPlan] = {}
        describes: dict[str, Mapping[str, Any]] = {}
        for configured in catalog.streams:
            sobject = configured.destination_object_name or cfg.object
            if sobject not in describes:
                describes[sobject] = describe_object(rest, sobject, object_setting(configured, cfg))
            plans[(configured.stream.namespace, configured.stream.name)] = build_plan(
                configured.stream.name, sobject, configured.destination_sync_mode, describes[sobject],
                cfg, rest, bulk, logger,
            )  # fmt: skip
        buffers = {key: StreamBuffer() for key in plans}
        rejects = RejectLog(
            logger, max_records=cfg.max_rejected_records, max_ratio=cfg.max_rejected_ratio,
            path=cfg.rejected_records_path,
        )  # fmt: skip
        interval = cfg.flush_interval_seconds
        pending: deque[PendingState] = deque()
        processed = 0
        recheck = False  # a write or a new STATE since the held STATEs were last looked at (nothing else frees one)

        def reject(buffer: StreamBuffer, stream: str, record: PreparedRecord, code: str, message: str,
                   fields: Any = ()) -> None:  # fmt: skip
            heapq.heappush(buffer.rejected_at, record.position)
            rejects.add(Rejection(stream, record.position, record.key, code, message, tuple(fields)), record.data)

        def flush(key: tuple[str | None, str], *, gather: bool = False) -> None:
            """Write the buffer. With `gather` (batch mode), Bulk records may wait in a job of up to 100 MB;
            without, every record written so far gets its outcome."""
            nonlocal processed, recheck
            recheck = True
            buffer, plan = buffers[key], plans[key]
            records, buffer.records, buffer.first_at = buffer.records, [], None
            failures = plan.write(records, gather=gather) if records or not gather else []
            for record, outcome in failures:
                reject(buffer, plan.stream, record, outcome.code, outcome.message, outcome.fields)
            if records:
                processed += len(records)
                logger.info("%s: %d records sent to %s", plan.stream, len(records), plan.sobject)
            rejects.check(processed)

        def settled(key: tuple[str | None, str], mark: int) -> bool:
            # Records in Bulk jobs came from earlier writes than the buffered ones: they are the oldest.
            oldest = plans[key].unsettled_from()
            if oldest is None and buffers[key].records:
                oldest = buffers[key].records[0].position
            return oldest is None or oldest > mark

        def released() -> Iterator[AirbyteMessage]:
            """The held STATEs whose records all have their outcome, in order, with their counts."""
            while pending and all(settled(k, mark) for k, mark in pending[0].marks.items()):
                held = pending.popleft()
                rejected = 0
                for k, mark in held.marks.items():
                    heap = buffers[k].rejected_at
                    while heap and heap[0] <= mark:
                        heapq.heappop(heap)
                        rejected += 1
                held.message.state.destinationStats = DestinationStats(
                    recordCount=float(held.received), rejectedRecordCount=float(rejected)
                )
                yield held.message

        def hold(message: AirbyteMessage) -> None:
            nonlocal recheck
            recheck = True
            state = message.state
            if state.type == AirbyteStateType.STREAM and state.stream is not None:
                descriptor = state.stream.stream_descriptor
                covered = [k for k in buffers if k == (descriptor.namespace, descriptor.name)]
            else:
                covered = list(buffers)
            marks = {k: buffers[k].position for k in covered}
            pending.append(PendingState(message, marks, sum(buffers[k].received for k in covered)))
            for k in covered:
                buffers[k].received = 0

        def next_deadline() -> float | None:
            if interval <= 0:
                return None
            waiting = [b.first_at for b in buffers.values() if b.first_at is not None]
            return min(waiting) + interval if waiting else None

        def flush_due() -> None:
            now = time.monotonic()
            for key, buffer in buffers.items():
                if buffer.first_at is not None and interval > 0 and now >= buffer.first_at + interval:
                    flush(key)

        try:
            messages = UpToBadLine(read_with_deadlines(input_messages, next_deadline))
            for message in messages:
                if message is TICK:
                    flush_due()
                elif message.type == Type.RECORD:
                    key = (message.record.namespace, message.record.stream)
                    if key not in plans:
                        continue  # the protocol says: ignore streams that are not in the catalog
                    buffer, plan = buffers[key], plans[key]
                    buffer.received += 1
                    buffer.position += 1
                    data = message.record.data
                    if not record_filter.matches(data):
                        continue
                    try:
                        prepared = plan.mapper.prepare(buffer.position, data)
                    except ValueFormatError as exc:
                        processed += 1
                        placeholder = PreparedRecord(buffer.position, f"record #{buffer.position}", {}, data)
                        reject(buffer, plan.stream, placeholder, exc.code, str(exc), [exc.target])
                        rejects.check(processed)
                        continue
                    buffer.records.append(prepared)
                    if buffer.first_at is None:
                        buffer.first_at = time.monotonic()
                    if len(buffer.records) >= cfg.batch_size:
                        flush(key, gather=interval <= 0)
                    flush_due()
                elif message.type == Type.STATE:
                    # Every stream, so that STATEs of different streams keep their order trivially.
                    for key in plans:
                        flush(key, gather=interval <= 0)
                    hold(message)
                if recheck:
                    recheck = False
                    yield from released()
            for key in plans:
                flush(key)
            yield from released()
            if messages.error is not None:
                raise messages.error  # only now: the records and STATEs before the bad line are in
            if pending:
                raise RuntimeError(f"{len(pending)} STATE messages were never released")  # a bug, not bad input
        finally:
            for plan in plans.values():
                plan.close()
            rejects.log_summary()
            rejects.close()

    # -- command line --------------------------------------------------------------------------------------------

    def parse_args(self, args: list[str]) -> argparse.Namespace:
        parser = argparse.ArgumentParser(prog="destination-salesforce")
        commands = parser.add_subparsers(title="commands", dest="command", required=True)
        commands.add_parser("spec", help="print the configuration specification")
        for name in ("check", "discover", "write"):
            sub = commands.add_parser(name)
            sub.add_argument("--config", required=True, help="path to the JSON configuration file")
            if name == "write":
                sub.add_argument("--catalog", required=True, help="path to the configured catalog JSON file")
        return parser.parse_args(args)

    def _parse_input_stream(self, input_stream: io.TextIOWrapper) -> Iterable[AirbyteMessage]:
        # Bytes, so that a line that is not UTF-8 is reported with its number.
        return parse_lines(getattr(input_stream, "buffer", input_stream))

    def run_cmd(self, parsed_args: argparse.Namespace) -> Iterable[AirbyteMessage]:
        if parsed_args.command == "discover":
            return iter(())  # printed by run(): the CDK's AirbyteMessage has no destination_catalog field
        if parsed_args.command in ("check", "write"):
            # Our own spec check runs first: the CDK's would quote the offending value, perhaps a secret.
            try:
                self.validate_config(self.read_config(parsed_args.config))
            except ConfigError as exc:
                if parsed_args.command == "check":
                    status = AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
                    return iter([AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status)])
                raise AirbyteTracedException(message=str(exc), failure_type=FailureType.config_error) from None
        return super().run_cmd(parsed_args)

    def validate_config(self, config: Mapping[str, Any]) -> None:
        """The config against the spec, then the names that reach URLs and queries; ConfigError naming the setting."""
        check_against_spec(config, self.spec().connectionSpecification)
        check_api_name(config["object"], "object")
        if config.get("external_id_field"):
            check_api_name(config["external_id_field"], "external_id_field")
        targets: set[str] = set()
        for rule in config.get("column_mapping") or ():
            for part in str(rule["target"]).split(".", 1):
                check_api_name(part, "column_mapping target")
            if rule["target"].lower() in targets:  # field names are case-insensitive
                raise ConfigError(
                    f"The setting 'column_mapping' maps two sources onto the target {rule['target']}: "
                    "keep one rule per target field.",
                    setting="column_mapping",
                )
            targets.add(rule["target"].lower())

    def run(self, args: list[str]) -> None:
        init_uncaught_exception_handler(logger)
        parsed = self.parse_args(args)
        if parsed.command == "discover":
            config = self.read_config(parsed.config)
            try:
                self.validate_config(config)
                catalog = self.discover_operations(config)
            except SalesforceError as exc:
                raise traced_exception(exc) from None
            print(catalog_to_json(catalog), flush=True)
            return
        for message in self.run_cmd(parsed):
            # Flushed per message: the platform checkpoints on each STATE as soon as it sees it.
            print(message_to_json(message), flush=True)


def object_setting(configured: Any, cfg: WriterConfig) -> str:
    """Where a stream's object name comes from, said the way the user would look for it."""
    if configured.destination_object_name:
        return f"destination_object_name of stream {configured.stream.name} in the configured catalog"
    return "object"


def describe_object(rest: RestClient, sobject: str, setting: str) -> Mapping[str, Any]:
    """The object's describe; a ConfigError naming the object and the setting when the name is not valid or the org
    has no such object (or hides it from this user)."""
    check_api_name(sobject, setting)
    try:
        return rest.describe(sobject)
    except NotFoundError:
        check_api_version(rest)
        raise ConfigError(
            f"The object {sobject} (setting '{setting}') does not exist in this org, or this user cannot see it: "
            "check its API name (custom objects end in __c, platform events in __e) and the user's permissions.",
            setting=setting,
        ) from None


def check_api_version(rest: RestClient) -> None:
    """A ConfigError naming api_version when the org does not serve it (every resource of it is then NOT_FOUND)."""
    served = rest.api_versions()
    version = rest.session.api_version
    if served and version not in served:
        raise ConfigError(
            f"The setting 'api_version' is {version}, which this org does not serve: it serves {served[0]} to "
            f"{served[-1]}.",
            setting="api_version",
        )


def _operations(describe: Mapping[str, Any]) -> list[DestinationOperation]:
    name = describe["name"]
    fields = describe["fields"]

    def schema(flag: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        properties = {
            f["name"]: JSON_TYPES.get(f["type"], {"type": ["null", "string"]})
            for f in fields
            if f.get(flag) or f["name"] in extra
        }
        return {"type": "object", "additionalProperties": True, "properties": properties}

    if is_event(name):
        return [DestinationOperation(name, DestinationSyncMode.append, schema("createable"))]
    external_ids = [[f["name"]] for f in fields if f.get("externalId")]
    result = []
    if describe.get("createable"):
        result.append(DestinationOperation(name, DestinationSyncMode.append, schema("createable")))
        if external_ids and describe.get("updateable"):
            result.append(
                DestinationOperation(name, DestinationSyncMode.append_dedup, schema("createable"), external_ids)
            )
    if describe.get("updateable"):
        result.append(
            DestinationOperation(
                name, DestinationSyncMode.update, schema("updateable", ("Id",)), [["Id"], *external_ids]
            )
        )
    if describe.get("deletable"):
        keys = ("Id", *(k[0] for k in external_ids))
        result.append(
            DestinationOperation(
                name, DestinationSyncMode.soft_delete, schema("__none__", keys), [["Id"], *external_ids]
            )
        )
    return result

"""The source: spec, check, discover (describeGlobal + batched describes) and read (one stream per object)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from airbyte_cdk.exception_handler import generate_failed_streams_error_message
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStreamStatus,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    ConnectorSpecification,
    FailureType,
    StreamDescriptor,
    Type,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.utils.schema_helpers import InternalConfig, split_config
from airbyte_cdk.utils.stream_status_utils import as_airbyte_message as stream_status_as_airbyte_message
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from salesforce_api import BulkClient, RestClient, connect
from salesforce_api.airbyte import traced_exception
from salesforce_api.errors import ApiError, ConfigError, NotFoundError, SalesforceError

from source_salesforce import inputs, soql
from source_salesforce.concurrent_streams import interleaved
from source_salesforce.config import API_VERSION, parse_config
from source_salesforce.page_workers import PageWorkers, worker_count
from source_salesforce.parent_ids import check_rules, follow_parents
from source_salesforce.record_blocks import RecordBlock
from source_salesforce.schema import ObjectSchema, from_describe
from source_salesforce.spec import connector_spec
from source_salesforce.streams import ReadContext, SalesforceStream, UnavailableStream

logger = logging.getLogger("airbyte")

# Objects that describeGlobal lists as queryable but that cannot be read whole: they need a filter on a parent
# record, are aggregates of other objects, or reject queryAll.
UNREADABLE_OBJECTS = frozenset(
    {
        "ActivityHistory",
        "AggregateResult",
        "Announcement",
        "AppTabMember",
        "AttachedContentDocument",
        "CollaborationGroupRecord",
        "ColorDefinition",
        "CombinedAttachment",
        "ContentBody",
        "ContentDocumentLink",
        "ContentFolderItem",
        "ContentFolderMember",
        "DataStatistics",
        "DatacloudAddress",
        "EmailStatus",
        "EntityParticle",
        "FeedLike",
        "FeedTrackedChange",
        "FieldDefinition",
        "FlexQueueItem",
        "IconDefinition",
        "IdeaComment",
        "ListViewChartInstance",
        "LookedUpFromActivity",
        "Name",
        "NoteAndAttachment",
        "OpenActivity",
        "OwnedContentDocument",
        "OwnerChangeOptionInfo",
        "PicklistValueInfo",
        "PlatformAction",
        "ProcessInstanceHistory",
        "RelationshipDomain",
        "RelationshipInfo",
        "SearchLayout",
        "UserEntityAccess",
        "UserFieldAccess",
        "UserRecordAccess",
        "Vote",
    }
)
RECORD_COUNT_NAMES = 100  # objects per record count call: the names stay well inside a URL's length
# Most query jobs of an incremental sync finish within a second; polling grows from here (x1.5, up to 10 s).
BULK_FIRST_POLL_SECONDS = 0.2

UNREADABLE_SUFFIXES = ("ChangeEvent", "__e", "__x", "EventStream")


def readable(sobject: Mapping[str, Any]) -> bool:
    name = sobject.get("name", "")
    return bool(sobject.get("queryable")) and name not in UNREADABLE_OBJECTS and not name.endswith(UNREADABLE_SUFFIXES)


class SourceSalesforce(AbstractSource):
    def __init__(self) -> None:
        self._catalog: ConfiguredAirbyteCatalog | None = None
        self._context: ReadContext | None = None
        # Set by SourceEntrypoint, which writes RecordBlocks; other callers get one message per record.
        self.record_blocks = False

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return connector_spec()

    @property
    def raise_exception_on_missing_stream(self) -> bool:
        """A catalog stream with no stream here fails the sync (the CDK's default only marks it INCOMPLETE)."""
        return True

    # The CDK's readers turn a broken file into a generic system error; these name the file and the fault.
    @staticmethod
    def read_config(config_path: str) -> dict[str, Any]:
        return inputs.read_config(config_path)

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        """The config as read. The CDK's default also writes it to a file in a temporary folder, which a killed
        process leaves behind with every secret in it; nothing here reads that file."""
        return config

    def read_catalog(self, catalog_path: str) -> ConfiguredAirbyteCatalog:  # type: ignore[override]
        return inputs.read_catalog(catalog_path)

    def read_state(self, state_path: str) -> list[AirbyteStateMessage]:  # type: ignore[override]
        return inputs.read_state(state_path)

    # -- clients -------------------------------------------------------------------------------------------------

    def _context_for(self, config: Mapping[str, Any]) -> ReadContext:
        if self._context is None:
            settings = parse_config(config)
            session = connect(settings.credentials, api_version=API_VERSION)
            if settings.api_budget_percent is not None:
                session.budget_percent = settings.api_budget_percent
            self._context = ReadContext(
                session=session,
                rest=RestClient(session),
                bulk=BulkClient(session, poll_interval=BULK_FIRST_POLL_SECONDS),
                config=settings,
            )
        return self._context

    # -- check ---------------------------------------------------------------------------------------------------

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        try:
            context = self._context_for(config)
            # A cheap query proves the login works and the user may read data.
            for _ in context.rest.query("SELECT Id FROM User LIMIT 1"):
                break
            check_rules(context.config.parent_rules, context.rest.describe_many)
        except SalesforceError as exc:
            raise traced_exception(exc, checking=True) from exc
        return True, None

    # -- discover and read ---------------------------------------------------------------------------------------

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        try:
            context = self._context_for(config)
            if self._catalog is not None:
                return self._configured_streams(context, [s.stream.name for s in self._catalog.streams])
            names = [s["name"] for s in context.rest.describe_global().get("sobjects", []) if readable(s)]
            streams: list[Stream] = []
            for name, describe in context.rest.describe_many([n for n in names if context.config.wants(n)]):
                if isinstance(describe, ApiError):
                    logger.warning("Object %s is left out: its describe failed (%s).", name, describe)
                    continue
                streams.append(SalesforceStream(from_describe(describe), context))
            follow_parents(context.config.parent_rules, _schemas(streams), context.rest.describe_many, names)
            return streams
        except SalesforceError as exc:
            raise traced_exception(exc) from exc

    @staticmethod
    def _configured_streams(context: ReadContext, names: list[str]) -> list[Stream]:
        """The catalog's streams; one that cannot be read becomes a stream that fails alone, with the reason."""
        streams: list[Stream] = []
        described: list[str] = []
        for name in names:
            shown = repr(name)[:80]
            if not soql.is_identifier(name):
                # Checked before the name reaches a URL or a query.
                message = (
                    f"The stream {shown} in the catalog is not a valid Salesforce object name (letters, digits and "
                    "underscores, starting with a letter). Refresh the source schema and select the stream again."
                )
                streams.append(UnavailableStream(name, message))
            elif not context.config.wants(name):
                message = (
                    f"The stream {name} is in the catalog but not among the objects the 'streams' setting selects: "
                    "add it to 'streams', or refresh the source schema and remove the stream from the connection."
                )
                streams.append(UnavailableStream(name, message))
            else:
                described.append(name)
        for name, describe in context.rest.describe_many(described):
            if isinstance(describe, NotFoundError | ConfigError):
                message = (
                    f"The object {name} does not exist in the Salesforce org, or the connector's user cannot see "
                    "it: grant the user read access to it, or refresh the source schema and remove the stream "
                    f"from the connection ({describe.message})."
                )
                streams.append(UnavailableStream(name, message))
            elif isinstance(describe, ApiError):
                streams.append(UnavailableStream(name, f"The object {name} cannot be described: {describe.message}"))
            elif describe.get("name") != name:
                # Salesforce finds objects whatever the case, but records go out under the object's own name, which
                # the catalog would not know: the stream would be dropped downstream.
                message = (
                    f"The stream {name} in the catalog is the object {describe.get('name')} in Salesforce (the names "
                    f"differ in case): refresh the source schema and select the stream {describe.get('name')}."
                )
                streams.append(UnavailableStream(name, message))
            else:
                streams.append(SalesforceStream(from_describe(describe), context))
        follow_parents(context.config.parent_rules, _schemas(streams), context.rest.describe_many)
        return streams

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[AirbyteMessage]:
        """AbstractSource.read, except that up to `concurrent_streams` streams are read at once, the largest first
        (each stream's messages keep their order, so its STATE still follows the records it covers)."""
        self._catalog = catalog
        try:
            context = self._context_for(config)
        except SalesforceError as exc:
            raise traced_exception(exc) from exc
        logger.info(f"Starting syncing {self.name}")
        config, internal_config = split_config(config)
        instances = {stream.name: stream for stream in self.streams(config)}
        self._stream_to_instance_map = instances
        state_manager = ConnectorStateManager(state=state)
        context.record_blocks = self.record_blocks
        processes = worker_count() if self.record_blocks else 0
        context.page_workers = PageWorkers(processes) if processes else None
        failures: dict[str, AirbyteTracedException] = {}
        configured = self._largest_first(context, catalog.streams)
        read_one = partial(self._stream_messages, logger, instances, state_manager, internal_config, failures)
        tasks = [partial(read_one, configured_stream) for configured_stream in configured]
        workers = min(context.config.concurrent_streams, len(tasks))
        if workers > 1:
            logger.info("Reading up to %d streams at once (concurrent_streams)", workers)
        after = _parents_first(configured, instances)
        try:
            for message in interleaved(tasks, workers, after=after):
                yield _incomplete_if_stopped(message, context)
        finally:
            if context.page_workers is not None:
                context.page_workers.close()
        if context.quota_message:
            logger.warning("Sync stopped early: %s.", context.quota_message)
        if failures:
            message = generate_failed_streams_error_message({name: [error] for name, error in failures.items()})
            logger.info(message)
            # As the CDK: a non-zero exit marks the attempt failed; each stream's own error went out already.
            raise AirbyteTracedException(message=message, failure_type=FailureType.config_error)
        logger.info(f"Finished syncing {self.name}")

    @staticmethod
    def _largest_first(context: ReadContext, streams: list[ConfiguredAirbyteStream]) -> list[ConfiguredAirbyteStream]:
        """The catalog's streams, the largest objects first when several are read at once: the longest read starts
        at once instead of last. One call for all (Salesforce's record counts, approximate); its answer's Date also
        gives the org's time that every incremental read needs."""
        if context.config.concurrent_streams <= 1 or len(streams) <= 1:
            return list(streams)
        names = [s.stream.name for s in streams if soql.is_identifier(s.stream.name)]
        counts: dict[str, int] = {}
        for start in range(0, len(names), RECORD_COUNT_NAMES):
            try:
                counts.update(context.rest.record_counts(names[start : start + RECORD_COUNT_NAMES]))
            except ApiError as exc:
                logger.info("Record counts are not available (%s); streams are read in catalog order", exc)
                return list(streams)
        return sorted(streams, key=lambda s: -counts.get(s.stream.name, 0))

    def _stream_messages(
        self,
        logger: logging.Logger,
        instances: Mapping[str, Stream],
        state_manager: ConnectorStateManager,
        internal_config: InternalConfig,
        failures: dict[str, AirbyteTracedException],
        configured_stream: ConfiguredAirbyteStream,
    ) -> Iterator[AirbyteMessage]:
        """One stream's messages as AbstractSource.read gives them: its status, its records and states; an error
        ends the stream INCOMPLETE with the error's trace, and is kept to fail the sync once every stream is done."""
        stream = configured_stream.stream
        instance = instances.get(stream.name)
        try:
            if instance is None:
                raise AirbyteTracedException(
                    message="A stream listed in your configuration was not found in the source. Please check the logs "
                    "for more details.",
                    internal_message=(
                        f"The stream '{stream.name}' in your connection configuration was not found in the source. "
                        "Refresh the schema in your replication settings and remove this stream from future sync "
                        "attempts."
                    ),
                    failure_type=FailureType.config_error,
                )
            logger.info(f"Marking stream {stream.name} as STARTED")
            yield stream_status_as_airbyte_message(stream, AirbyteStreamStatus.STARTED)
            yield from self._read_stream(logger, instance, configured_stream, state_manager, internal_config)
            logger.info(f"Marking stream {stream.name} as STOPPED")
            yield stream_status_as_airbyte_message(stream, AirbyteStreamStatus.COMPLETE)
        except Exception as exc:
            yield from self._emit_queued_messages()
            logger.exception(f"Encountered an exception while reading stream {stream.name}")
            logger.info(f"Marking stream {stream.name} as STOPPED")
            yield stream_status_as_airbyte_message(stream, AirbyteStreamStatus.INCOMPLETE)
            descriptor = StreamDescriptor(name=stream.name)
            error = (
                exc
                if isinstance(exc, AirbyteTracedException)
                else self._serialize_exception(descriptor, exc, stream_instance=instance)
            )
            yield error.as_sanitized_airbyte_message(stream_descriptor=descriptor)
            failures[stream.name] = error
        finally:
            if instance is not None:
                logger.info(f"Finished syncing {stream.name}")

    def _read_stream(
        self,
        logger: logging.Logger,
        stream_instance: Stream,
        configured_stream: ConfiguredAirbyteStream,
        state_manager: ConnectorStateManager,
        internal_config: InternalConfig,
    ) -> Iterator[AirbyteMessage]:
        """AbstractSource._read_stream, except that a RecordBlock counts as its records in the "Read N records" line
        (the CDK counts RECORD messages)."""
        stream_name = configured_stream.stream.name
        logger.debug(
            f"Syncing configured stream: {stream_name}",
            extra={
                "sync_mode": configured_stream.sync_mode,
                "primary_key": configured_stream.primary_key,
                "cursor_field": configured_stream.cursor_field,
            },
        )
        stream_instance.log_stream_sync_configuration()
        stream_state = state_manager.get_stream_state(stream_name, stream_instance.namespace)
        if stream_state == {"__ab_no_cursor_state_message": True}:  # as the CDK: not a state to resume from
            stream_state = {}
        if "state" in dir(stream_instance):
            stream_instance.state = stream_state  # type: ignore[attr-defined]
            logger.info(f"Setting state of {stream_name} stream to {stream_state}")
        messages = stream_instance.read(
            configured_stream, logger, self._slice_logger, stream_state, state_manager, internal_config
        )
        records = 0
        logger.info(f"Syncing stream: {stream_name} ")
        for item in messages:
            message = self._get_message(item, stream_instance)
            if message.type == Type.RECORD:
                if records == 0:
                    logger.info(f"Marking stream {stream_name} as RUNNING")
                    yield stream_status_as_airbyte_message(configured_stream.stream, AirbyteStreamStatus.RUNNING)
                records += message.count if isinstance(message, RecordBlock) else 1
            yield from self._emit_queued_messages()
            yield message
        logger.info(f"Read {records} records from {stream_name} stream")


def _schemas(streams: list[Stream]) -> list[ObjectSchema]:
    return [stream.schema for stream in streams if isinstance(stream, SalesforceStream)]


def _parents_first(configured: list[ConfiguredAirbyteStream], instances: Mapping[str, Stream]) -> list[set[int]]:
    """For each stream, the streams of the catalog it waits for: the parents whose external ids its records carry
    (parent_external_ids), so that a copy into another org gets every parent before the records that refer to it."""
    position = {stream.stream.name: n for n, stream in enumerate(configured)}
    waits: list[set[int]] = []
    for n, stream in enumerate(configured):
        instance = instances.get(stream.stream.name)
        parents = (
            {key.parent for key in instance.schema.parents.values()}
            if isinstance(instance, SalesforceStream)
            else set()
        )
        waits.append({position[name] for name in parents if name in position and position[name] != n})
        if waits[-1]:
            logger.info(
                "%s is read after %s: its records carry their external ids (parent_external_ids)",
                stream.stream.name,
                ", ".join(sorted(parents & set(position))),
            )
    return waits


def _incomplete_if_stopped(message: AirbyteMessage, context: ReadContext) -> AirbyteMessage:
    """A stream stopped by the API budget ends cleanly but is not complete: say so in its status."""
    if message.type == Type.TRACE and message.trace and message.trace.stream_status:
        status = message.trace.stream_status
        if status.status == AirbyteStreamStatus.COMPLETE and status.stream_descriptor.name in context.stopped_streams:
            status.status = AirbyteStreamStatus.INCOMPLETE
    return message

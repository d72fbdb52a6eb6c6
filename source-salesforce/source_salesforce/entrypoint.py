"""The command-line entrypoint: the CDK's, with two changes.

- The config check names the wrong setting and never echoes its value (the CDK's quotes the value, perhaps a secret).
- `read` writes RECORD messages in batches, serialised straight from their fields: the CDK's per-message path
  (model serialiser, per-line print, per-message bookkeeping) costs more than reading the record from Salesforce.
  Streams hand over Bulk records already serialised, as RecordBlocks (see record_blocks), and `output()` yields
  record lines as bytes, which the console script writes to stdout as they are.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import is_platform_debug_log_enabled
from airbyte_cdk.models import AirbyteMessage, AirbyteStateStats, ConnectorSpecification, FailureType, Type
from airbyte_cdk.sources.utils.schema_helpers import split_config
from airbyte_cdk.utils.constants import ENV_REQUEST_CACHE_PATH
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from salesforce_api.errors import ConfigError

from source_salesforce.config import check_against_spec
from source_salesforce.record_blocks import RecordBlock
from source_salesforce.source import SourceSalesforce

RECORDS_PER_WRITE = 500  # records joined into one write; a STATE or any other message flushes them first


class SourceEntrypoint(AirbyteEntrypoint):
    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Mapping[str, Any]) -> None:
        connector_config, _ = split_config(config)
        try:
            check_against_spec(connector_config, source_spec.connectionSpecification)
        except ConfigError as exc:
            raise AirbyteTracedException(message=str(exc), failure_type=FailureType.config_error) from None

    def run(self, parsed_args: argparse.Namespace) -> Iterable[str]:
        """Like AirbyteEntrypoint.run; `read` yields blocks of lines (one message per line) instead of one line."""
        for lines in self.output(parsed_args):
            yield lines if isinstance(lines, str) else lines[:-1].decode()

    def output(self, parsed_args: argparse.Namespace) -> Iterator[str | bytes]:
        """What run() yields, except that `read`'s record lines come as UTF-8 bytes, each block ending with a newline
        (a str would be encoded again to print; a block is written in one call)."""
        if parsed_args.command != "read":
            yield from super().run(parsed_args)
            return
        debug = getattr(parsed_args, "debug", False) or is_platform_debug_log_enabled()
        self.logger.setLevel(logging.DEBUG if debug else logging.INFO)
        source_spec = self.source.spec(self.logger)
        try:
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as temp_dir:
                os.environ[ENV_REQUEST_CACHE_PATH] = temp_dir
                config = self.source.configure(self.source.read_config(parsed_args.config), temp_dir)
                yield from map(self.airbyte_message_to_string, self._emit_queued_messages(self.source))
                catalog = self.source.read_catalog(parsed_args.catalog)
                state = self.source.read_state(parsed_args.state)
                self.set_up_secret_filter(config, source_spec.connectionSpecification)
                self.validate_connection(source_spec, config)
                if isinstance(self.source, SourceSalesforce):
                    self.source.record_blocks = True
                yield from self._batched(self.source.read(self.logger, config, catalog, state))
        finally:
            yield from map(self.airbyte_message_to_string, self._emit_queued_messages(self.source))

    def _batched(self, messages: Iterable[AirbyteMessage]) -> Iterator[str | bytes]:
        counts: defaultdict[tuple[str, str | None], float] = defaultdict(float)
        block: list[bytes] = []
        dumps, check_memory = orjson.dumps, self._memory_monitor.check_memory_usage
        try:
            for message in messages:
                check_memory()
                record = message.record
                if message.type == Type.RECORD and record is not None:
                    counts[(record.stream, record.namespace)] += 1.0
                    body: dict[str, Any] = {"stream": record.stream, "data": record.data}
                    body["emitted_at"] = record.emitted_at
                    if record.namespace is not None:
                        body["namespace"] = record.namespace
                    block.append(dumps({"type": "RECORD", "record": body}))
                    if len(block) >= RECORDS_PER_WRITE:
                        yield _lines(block)
                    continue
                if block:
                    yield _lines(block)
                if isinstance(message, RecordBlock):
                    counts[(message.stream, message.namespace)] += message.count
                    yield message.lines
                    continue
                if message.type == Type.STATE and message.state is not None:
                    message.state.sourceStats = AirbyteStateStats(recordCount=counts.pop(_stream_key(message), 0.0))
                yield self.airbyte_message_to_string(message)
        except Exception:
            if block:  # the records read before a failure still go out, before its error
                yield _lines(block)
            raise
        if block:
            yield _lines(block)


def _lines(block: list[bytes]) -> bytes:
    """The block's lines, each ending with a newline; the block is emptied."""
    block.append(b"")
    text = b"\n".join(block)
    block.clear()
    return text


def _stream_key(message: AirbyteMessage) -> tuple[str, str | None]:
    descriptor = message.state.stream.stream_descriptor if message.state and message.state.stream else None
    return (descriptor.name, descriptor.namespace) if descriptor else ("", None)

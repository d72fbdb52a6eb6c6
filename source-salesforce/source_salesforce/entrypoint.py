"""The command-line entrypoint: the CDK's, with two changes.

- The config check names the wrong setting and never echoes its value (the CDK's quotes the value, perhaps a secret).
- `read` writes RECORD messages in blocks, serialised straight from their fields: the CDK's per-message path
  (model serialiser, per-line print, per-message bookkeeping) costs more than reading the record from Salesforce.
  Streams hand over their records already serialised, as RecordBlocks (see record_blocks), and `output()` yields
  their lines as bytes, which the console script writes to stdout as they are.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

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
                yield from self._serialised(self.source.read(self.logger, config, catalog, state))
        finally:
            yield from map(self.airbyte_message_to_string, self._emit_queued_messages(self.source))

    def _serialised(self, messages: Iterable[AirbyteMessage]) -> Iterator[str | bytes]:
        """Each message as its line(s); a RecordBlock as its ready-made lines, counted for the next STATE's stats."""
        counts: defaultdict[tuple[str, str | None], float] = defaultdict(float)
        check_memory = self._memory_monitor.check_memory_usage
        for message in messages:
            check_memory()
            if isinstance(message, RecordBlock):
                counts[(message.stream, message.namespace)] += message.count
                yield message.lines
                continue
            if message.type == Type.RECORD and message.record is not None:  # not from a stream of this source
                counts[(message.record.stream, message.record.namespace)] += 1.0
            elif message.type == Type.STATE and message.state is not None:
                message.state.sourceStats = AirbyteStateStats(recordCount=counts.pop(_stream_key(message), 0.0))
            yield self.airbyte_message_to_string(message)


def _stream_key(message: AirbyteMessage) -> tuple[str, str | None]:
    descriptor = message.state.stream.stream_descriptor if message.state and message.state.stream else None
    return (descriptor.name, descriptor.namespace) if descriptor else ("", None)

"""A stream's records as messages: one AirbyteMessage per record, or RecordBlocks through the console entrypoint
(see record_blocks); large Bulk results shaped in worker processes; progress (ESTIMATE traces, log lines) kept as
records go out."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, Type
from salesforce_api.bulk import BulkQueryResult

from source_salesforce.page_workers import MIN_RECORDS as PARALLEL_MIN_RECORDS
from source_salesforce.page_workers import PageWorkers
from source_salesforce.progress import ReadProgress
from source_salesforce.record_blocks import RecordBlock, RecordBlocks, record_block
from source_salesforce.record_lines import record_line_parts
from source_salesforce.records import RecordShaper

logger = logging.getLogger("airbyte")

BLOCK_RECORDS = 1_000  # Bulk rows per RecordBlock: few messages, and a block's bytes stay under a megabyte or so


class RecordOutput:
    """Turns what a reader got (REST records, a Bulk result, ready records) into RECORD messages of one stream."""

    def __init__(
        self,
        stream: str,
        namespace: str | None,
        shaper: RecordShaper,
        progress: ReadProgress,
        blocks: bool = False,
        page_workers: PageWorkers | None = None,
    ) -> None:
        self.stream, self.namespace, self.shaper, self.progress = stream, namespace, shaper, progress
        self._blocks = blocks
        self._page_workers = page_workers

    def estimate(self, total: int | None) -> Iterator[AirbyteMessage]:
        """The stream's ESTIMATE trace, once its total is first known (see ReadProgress.estimate)."""
        return self.progress.estimate(total)

    def rest(self, records: list[Mapping[str, Any]]) -> Iterator[AirbyteMessage]:
        """A REST page's records, shaped."""
        yield from self.shaped(map(self.shaper.from_rest, records))
        self.progress.add(len(records))

    def bulk(self, result: BulkQueryResult) -> Iterator[AirbyteMessage]:
        """Every row of a finished Bulk job, shaped (in worker processes when it is large)."""
        workers = self._page_workers
        if workers and (result.number_records or 0) >= PARALLEL_MIN_RECORDS and workers.start():
            for count, lines in workers.lines(result.page_files(), self.shaper, self._line_parts):
                yield record_block(self.stream, self.namespace, count, lines)
                self.progress.add(count)
            return
        for header, rows in result.pages():
            for message in self.shaped(map(self.shaper.csv_row_shaper(header), rows)):
                yield message
                self.progress.add(message.count if isinstance(message, RecordBlock) else 1)

    def shaped(self, rows: Iterable[dict[str, Any]]) -> Iterator[AirbyteMessage]:
        """RECORD messages for records already shaped: a RecordBlock per BLOCK_RECORDS records when blocks are
        wanted, else one message per record."""
        emitted_at = int(time.time() * 1000)
        if self._blocks:
            serialiser = RecordBlocks(self.stream, self.namespace, emitted_at)
            rows = iter(rows)
            while block := serialiser.block(islice(rows, BLOCK_RECORDS)):
                yield block
            return
        for data in rows:
            yield AirbyteMessage(
                type=Type.RECORD, record=AirbyteRecordMessage(stream=self.stream, data=data, emitted_at=emitted_at)
            )

    def _line_parts(self) -> tuple[bytes, bytes]:
        """The bytes around a record's data in its RECORD line, stamped now."""
        return record_line_parts(self.stream, self.namespace, int(time.time() * 1000))

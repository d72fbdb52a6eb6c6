"""Rejected records: counted, logged grouped by error code with sample keys, optionally kept in a JSONL file."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from salesforce_api.errors import ConfigError

SAMPLE_KEYS = 5
RATIO_MIN_RECORDS = 100  # a ratio over a handful of records says nothing
# The policy when neither limit is set: more than half rejected once 1,000 records were written, or every record of
# a stream rejected, is a configuration that does not work rather than a few bad records.
DEFAULT_RATIO = 0.5
DEFAULT_RATIO_MIN_RECORDS = 1000


@dataclass(frozen=True)
class Rejection:
    stream: str
    position: int
    key: str
    code: str
    message: str
    fields: Sequence[str] = ()


class RejectThresholdExceeded(Exception):
    """More records were rejected than the configured policy allows."""


class RejectLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        max_records: int | None = None,
        max_ratio: float | None = None,
        path: str | None = None,
    ) -> None:
        self.logger = logger
        self.max_records = max_records
        self.max_ratio = max_ratio
        self.path = Path(path) if path else None
        self.total = 0
        self.by_code: Counter[str] = Counter()
        self.samples: dict[str, list[str]] = defaultdict(list)
        self._file: IO[str] | None = self._open() if self.path is not None else None

    def add(self, rejection: Rejection, data: Mapping[str, Any] | None = None) -> None:
        self.total += 1
        self.by_code[rejection.code] += 1
        if len(self.samples[rejection.code]) < SAMPLE_KEYS:
            self.samples[rejection.code].append(f"{rejection.stream}:{rejection.key}")
        if self.path is not None:
            self._write(rejection, data)

    def _open(self) -> IO[str]:
        """The file, opened at the start: a path that cannot take it stops the write before any record is sent."""
        assert self.path is not None
        if self.path.exists() and not self.path.is_file():
            raise self._unwritable("a directory" if self.path.is_dir() else "not a regular file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise self._unwritable(exc.strerror or str(exc)) from None

    def _unwritable(self, reason: str) -> ConfigError:
        return ConfigError(
            f"The setting 'rejected_records_path' names a file that cannot be written ({self.path}: {reason}). "
            "Give the path of a regular file in a writable folder, or leave the setting out.",
            setting="rejected_records_path",
        )

    def _write(self, rejection: Rejection, data: Mapping[str, Any] | None) -> None:
        assert self._file is not None
        line = {
            "stream": rejection.stream,
            "position": rejection.position,
            "key": rejection.key,
            "error": {"code": rejection.code, "message": rejection.message, "fields": list(rejection.fields)},
            "data": data,
        }
        try:
            self._file.write(json.dumps(line, default=str) + "\n")
            self._file.flush()
        except OSError as exc:  # a full disk: the record would be rejected without a trace
            raise self._unwritable(exc.strerror or str(exc)) from None

    def summary(self) -> list[str]:
        """One line per error code, most frequent first: count and up to five sample keys (never a payload)."""
        return [
            f"{code}: {count} rejected (e.g. {', '.join(self.samples[code])})"
            for code, count in self.by_code.most_common()
        ]

    def log_summary(self) -> None:
        if self.total:
            self.logger.warning("%d records rejected by Salesforce:\n  %s", self.total, "\n  ".join(self.summary()))

    @property
    def default_policy(self) -> bool:
        return self.max_records is None and self.max_ratio is None

    def check_streams(self, counts: Mapping[str, tuple[int, int]]) -> None:
        """Under the default policy, raise when every record of a stream was rejected (`counts`: stream -> (records
        processed, rejected), once each has its outcome)."""
        if not self.default_policy:
            return
        for stream, (processed, rejected) in counts.items():
            if processed and rejected >= processed:
                raise RejectThresholdExceeded(
                    f"Every record of stream {stream} ({processed}) was rejected: "
                    + "; ".join(self.summary()[:3])
                    + ". Set max_rejected_ratio (1 turns the limit off) to accept this."
                )

    def check(self, processed: int) -> None:
        """Raise once the rejects pass the policy; `processed` counts every record sent, rejected or not."""
        if self.default_policy and processed >= DEFAULT_RATIO_MIN_RECORDS and self.total / processed > DEFAULT_RATIO:
            raise RejectThresholdExceeded(
                f"{self.total} of {processed} records rejected, more than half: "
                + "; ".join(self.summary()[:3])
                + ". Set max_rejected_ratio or max_rejected_records to change this limit."
            )
        if self.max_records is not None and self.total > self.max_records:
            raise RejectThresholdExceeded(
                f"{self.total} records rejected, more than max_rejected_records={self.max_records}. "
                + "; ".join(self.summary()[:3])
            )
        if self.max_ratio is not None and processed >= RATIO_MIN_RECORDS and self.total / processed > self.max_ratio:
            raise RejectThresholdExceeded(
                f"{self.total} of {processed} records rejected, more than max_rejected_ratio={self.max_ratio}. "
                + "; ".join(self.summary()[:3])
            )

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass  # the write that failed already said so
            self._file = None

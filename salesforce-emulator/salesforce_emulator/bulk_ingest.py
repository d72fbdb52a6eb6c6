"""Bulk API 2.0 ingest jobs: turn the uploaded CSV into records, write them through org.dml, keep the result files.

The upload is read row by row and written in internal batches of `ingest_batch_size` records (10,000, like
Salesforce), so a large job never sits in memory. Each batch's outcome is appended to three files whose shapes are
the ones Salesforce serves: successful, failed and unprocessed records.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from salesforce_emulator.bulk_jobs import Job
from salesforce_emulator.values import Coercer, FieldError, csv_coercer

if TYPE_CHECKING:
    from salesforce_emulator.org import Org

UPLOAD = "upload.csv"
SUCCESSFUL = "successfulResults.csv"
FAILED = "failedResults.csv"
UNPROCESSED = "unprocessedrecords.csv"
NULL_TEXT = "#N/A"  # sets a field to null; an empty value leaves it unchanged
DEFAULT_FAILURE = "InternalServerError : An unexpected error occurred while processing the job."


class JobFailure(Exception):
    """Ends the whole job Failed with this errorMessage (bad header, wrong line ending...)."""


XSD_TYPES = {"date": "xsd:date", "datetime": "xsd:dateTime"}


def base64_size(raw_size: int) -> int:
    """Salesforce measures the 150 MB upload limit after base64 encoding."""
    return 4 * math.ceil(raw_size / 3)


@dataclass
class Column:
    header: str
    field: Any  # FieldDef of the column, or of the reference field for a relationship column
    parent_key: str | None = None  # "External_Id__c" of a column like "Account.External_Id__c"
    coerce: Coercer | None = None  # CSV text -> stored encoding, for a plain field column

    def __post_init__(self) -> None:
        if self.parent_key is None and self.coerce is None:
            self.coerce = csv_coercer(self.field)


def error_text(errors: list[dict[str, Any]]) -> str:
    """Salesforce's sf__Error form: CODE:message:fields --"""
    first = errors[0] if errors else {"statusCode": "UNKNOWN_EXCEPTION", "message": "unknown error", "fields": []}
    fields = ",".join(first.get("fields") or [])
    return f"{first['statusCode']}:{first['message']}:{fields + ' ' if fields else ''}--"


FIELD_LIMIT = 131_072  # characters in one CSV field of an upload, as Bulk API 2.0 allows


class IngestRun:
    """One processing run of an ingest job."""

    def __init__(self, job: Job, org: Org, batch_size: int) -> None:
        self.job = job
        self.org = org
        self.batch_size = batch_size
        self.obj = org.schema.object(job.object)

    def run(self) -> str | None:
        job = self.job
        fault = self.org.take_fault("bulk_job_failed", job.path)
        fail_after = int(fault.get("rows") or 0) if fault is not None else None
        self._check_line_ending()
        with open(job.file(UPLOAD), encoding="utf-8-sig", newline="") as source:
            reader = csv.reader(source, delimiter=job.delimiter, strict=True)
            header = next(reader, None)
            if not header:
                raise JobFailure("ClientInputError : The uploaded data has no header row")
            columns = self._columns(header)
            with (
                open(job.file(SUCCESSFUL), "wb") as successful,
                open(job.file(FAILED), "wb") as failed,
                open(job.file(UNPROCESSED), "wb") as unprocessed,
            ):
                results = ResultWriters(job, header, successful, failed, unprocessed)
                batch: list[list[str]] = []
                for row in reader:
                    if not row:
                        continue  # a blank line
                    if max(map(len, row)) > FIELD_LIMIT:
                        # Checked here, not left to the csv module's limit, which is one setting per process.
                        raise JobFailure(f"ClientInputError : field larger than field limit ({FIELD_LIMIT})")
                    failing = fail_after is not None and job.processed + len(batch) >= fail_after
                    if failing or job.cancelled.is_set():
                        self._flush(batch, columns, results)
                        batch = []
                        results.unprocessed(row)
                        for rest in reader:
                            if rest:
                                results.unprocessed(rest)
                        break
                    batch.append(row)
                    if len(batch) >= self.batch_size:
                        self._flush(batch, columns, results)
                        batch = []
                self._flush(batch, columns, results)
        if fault is not None:
            return fault.get("message") or DEFAULT_FAILURE
        return None

    # --- header ----------------------------------------------------------------------------------------------------

    def _check_line_ending(self) -> None:
        with open(self.job.file(UPLOAD), "rb") as handle:
            head = handle.read(1 << 16)
        end = head.find(b"\n")
        if end < 0:
            return
        crlf = end > 0 and head[end - 1 : end] == b"\r"
        if crlf != (self.job.line_ending == "CRLF"):
            raise JobFailure(
                f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is "
                f"{self.job.line_ending}"
            )

    def _columns(self, header: list[str]) -> list[Column]:
        columns: list[Column] = []
        seen: set[str] = set()
        for name in header:
            if name.lower() in seen:
                raise JobFailure(f"InvalidBatch : Duplicate field name: {name}")
            seen.add(name.lower())
            column = self._column(name)
            if column is None:
                raise JobFailure(f"InvalidBatch : Field name not found : {name}")
            columns.append(column)
        return columns

    def _column(self, name: str) -> Column | None:
        if "." not in name:
            f = self.obj.field(name)
            return Column(name, f) if f is not None else None
        relationship, key = name.split(".", 1)
        reference = self.obj.relationship(relationship)
        if reference is None or "." in key:
            return None  # one level of child-to-parent only
        parent = self.org.schema.object(reference.reference_to[0])
        key_field = parent.field(key) if parent is not None else None
        if key_field is None:
            return None
        return Column(name, reference, key_field.name)

    # --- rows ------------------------------------------------------------------------------------------------------

    def _record(self, row: list[str], columns: list[Column]) -> dict[str, Any]:
        """One CSV row -> a dml record; raises ValueError (a FieldError) for a value its field refuses."""
        if len(row) != len(columns):
            raise RowError("INVALID_FIELD", f"Number of values ({len(row)}) does not match the header ({len(columns)})")
        if self.job.operation in {"delete", "hardDelete"}:
            ids = [text for column, text in zip(columns, row, strict=True) if column.field.type == "id"]
            return {"Id": ids[0] if ids else None}
        record: dict[str, Any] = {}
        for number, (column, text) in enumerate(zip(columns, row, strict=True), start=1):
            if text == "":
                continue
            f = column.field
            if column.parent_key is not None:
                if text == NULL_TEXT:
                    record[f.name] = None
                else:
                    record[f.relationship_name] = {column.parent_key: text}
                continue
            try:
                record[f.name] = None if text == NULL_TEXT else column.coerce(text)
            except FieldError as exc:
                if f.type not in XSD_TYPES:
                    raise
                # A date or datetime the CSV reader cannot parse fails before any field rule, naming its column.
                raise FieldError(
                    "INVALID_FIELD",
                    f"Failed to deserialize field at col {number}. Due to, '{text}' is not a valid value for the type"
                    f" {XSD_TYPES[f.type]}",
                    [f.name],
                ) from exc
        return record

    def _flush(self, batch: list[list[str]], columns: list[Column], results: ResultWriters) -> None:
        """Write one internal batch through org.dml; results keep the upload's row order."""
        if not batch:
            return
        converted: list[dict[str, Any] | dict[str, str]] = []  # a record, or the error of a row no field accepts
        records: list[dict[str, Any]] = []
        for row in batch:
            try:
                record = self._record(row, columns)
            except ValueError as exc:
                converted.append(
                    {
                        "statusCode": getattr(exc, "status_code", "INVALID_FIELD"),
                        "message": getattr(exc, "message", str(exc)),
                        "fields": getattr(exc, "fields", []),
                    }
                )
                continue
            records.append(record)
            converted.append(record)
        outcomes = iter(
            self.org.dml(
                self.job.object,
                self.job.operation,
                records,
                external_id_field=self.job.external_id_field,
                auto_assign=bool(self.job.assignment_rule_id),
                coerced=True,
            )
            if records
            else []
        )
        valid = {id(record) for record in records}
        for row, item in zip(batch, converted, strict=True):
            if id(item) not in valid:
                results.failed(row, "", [item])
                continue
            outcome = next(outcomes)
            if outcome["success"]:
                results.successful(row, outcome["id"], outcome.get("created", self.job.operation == "insert"))
            else:
                given = item.get("Id") if isinstance(item.get("Id"), str) else ""
                results.failed(row, outcome.get("id") or given or "", outcome["errors"])
        self.job.processed += len(batch)
        self.job.failed = results.failed_count


class RowError(ValueError):
    def __init__(self, status_code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields: list[str] = []


class ResultWriters:
    """Appends rows to the three result files.

    Successful and failed rows are double-quoted throughout; unprocessed rows keep the uploaded form.
    """

    def __init__(
        self, job: Job, header: list[str], successful: BinaryIO, failed: BinaryIO, unprocessed: BinaryIO
    ) -> None:
        self._files = {"successful": successful, "failed": failed, "unprocessed": unprocessed}
        self._buffer = io.StringIO()
        self._quoted = csv.writer(
            self._buffer, delimiter=job.delimiter, lineterminator=job.newline, quoting=csv.QUOTE_ALL
        )
        self._plain = csv.writer(self._buffer, delimiter=job.delimiter, lineterminator=job.newline)
        self.failed_count = 0
        uploaded = self._text(self._plain, header)
        d = job.delimiter
        successful.write(f'"sf__Id"{d}"sf__Created"{d}'.encode() + uploaded)
        failed.write(f'"sf__Id"{d}"sf__Error"{d}'.encode() + uploaded)
        unprocessed.write(uploaded)

    def _text(self, writer: Any, row: list[str]) -> bytes:
        writer.writerow(row)
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data

    def successful(self, row: list[str], record_id: str, created: bool) -> None:
        self._files["successful"].write(self._text(self._quoted, [record_id, "true" if created else "false", *row]))

    def failed(self, row: list[str], record_id: str, errors: list[dict[str, Any]]) -> None:
        self.failed_count += 1
        self._files["failed"].write(self._text(self._quoted, [record_id, error_text(errors), *row]))

    def unprocessed(self, row: list[str]) -> None:
        self._files["unprocessed"].write(self._text(self._plain, row))


def process(job: Job, org: Org, batch_size: int) -> str | None:
    """Process an UploadComplete ingest job; returns the errorMessage when the job fails."""
    try:
        return IngestRun(job, org, batch_size).run()
    except JobFailure as exc:
        return str(exc)
    except (csv.Error, UnicodeDecodeError) as exc:
        return f"ClientInputError : {exc}"


def result_file(job: Job, name: str) -> str | None:
    """The path of a result file, or None when the job produced none (never processed)."""
    path = job.file(name)
    try:
        with open(path, "rb"):
            return path
    except FileNotFoundError:
        pass
    if name == UNPROCESSED and job.uploaded:
        # Aborted or failed before processing began: every uploaded row is unprocessed, exactly as uploaded.
        return job.file(UPLOAD)
    return None


def stream_file(path: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while data := handle.read(chunk):
            yield data

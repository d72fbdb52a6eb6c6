"""REST API helpers: describe, SOQL query pages, sObject Collections, single records, composite batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from salesforce_api.errors import ApiError, SalesforceError, TransientError
from salesforce_api.http import SalesforceSession, error_for

COLLECTION_LIMIT = 200
BATCH_LIMIT = 25
_ATTRIBUTES = b'"attributes"'


@dataclass(frozen=True)
class RecordError:
    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordResult:
    id: str | None
    success: bool
    created: bool | None = None
    errors: list[RecordError] = field(default_factory=list)

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> RecordResult:
        errors = [
            RecordError(
                status_code=str(e.get("statusCode") or e.get("errorCode") or ""),
                message=str(e.get("message") or ""),
                fields=list(e.get("fields") or []),
            )
            for e in item.get("errors") or []
        ]
        return cls(id=item.get("id"), success=bool(item.get("success")), created=item.get("created"), errors=errors)


@dataclass(frozen=True)
class QueryPage:
    records: list[dict[str, Any]]
    total_size: int
    next_records_url: str | None


def _strip_attributes(records: list[dict[str, Any]]) -> None:
    """Remove `attributes` from records and from nested parent records and child subqueries."""
    for record in records:
        record.pop("attributes", None)
        for value in record.values():
            if type(value) is dict:
                if "attributes" in value:
                    _strip_attributes([value])
                elif type(value.get("records")) is list:
                    _strip_attributes(value["records"])


def salesforce_datetime(value: datetime | str) -> str:
    """The ISO form the /deleted and /updated resources accept (UTC, seconds, +00:00)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class RestClient:
    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    # -- metadata ------------------------------------------------------------------------------------------------

    def describe_global(self) -> dict[str, Any]:
        return self.session.get_json("sobjects")

    def describe(self, name: str) -> dict[str, Any]:
        return self.session.get_json(f"sobjects/{quote(name, safe='')}/describe")

    def describe_many(self, names: Iterable[str]) -> Iterator[tuple[str, dict[str, Any] | ApiError]]:
        """Describes through /composite/batch, 25 per call, in the order given."""
        names = list(names)
        version = f"v{self.session.api_version}"
        for start in range(0, len(names), BATCH_LIMIT):
            chunk = names[start : start + BATCH_LIMIT]
            subrequests = [
                {"method": "GET", "url": f"{version}/sobjects/{quote(name, safe='')}/describe"} for name in chunk
            ]
            results = self.composite_batch(subrequests, idempotent=True)
            for name, result in zip(chunk, results, strict=True):
                status = int(result.get("statusCode") or 0)
                body = result.get("result")
                if 200 <= status < 300 and isinstance(body, dict):
                    yield name, body
                    continue
                error = _subrequest_error(status, body)
                if isinstance(error, ApiError):
                    yield name, error
                    continue
                # A transient failure inside the batch: ask again on its own, with the session's retries.
                try:
                    yield name, self.describe(name)
                except ApiError as exc:
                    yield name, exc

    def api_versions(self) -> list[str]:
        """The API versions the org serves, oldest first (e.g. ["31.0", ..., "62.0"])."""
        return [str(v["version"]) for v in self.session.get_json("/services/data/") or [] if "version" in v]

    def limits(self) -> dict[str, Any]:
        return self.session.get_json("limits")

    def record_counts(self, names: Sequence[str]) -> dict[str, int]:
        """Each object's approximate record count (Salesforce's storage statistics, refreshed now and then), in one
        call: objects it has no figure for are left out."""
        answer = self.session.get_json("limits/recordCount", params={"sObjects": ",".join(names)})
        counts = answer.get("sObjects", []) if isinstance(answer, Mapping) else []
        return {
            item["name"]: item["count"]
            for item in counts
            if isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(item.get("count"), int)
        }

    # -- queries -------------------------------------------------------------------------------------------------

    def query_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[QueryPage]:
        """Query result pages in order, one in memory at a time, following nextRecordsUrl."""
        headers = {"Sforce-Query-Options": f"batchSize={int(batch_size)}"} if batch_size else None
        path: str | None = "queryAll" if include_deleted else "query"
        params: dict[str, str] | None = {"q": soql}
        while path is not None:
            content, body = self._get_page(path, params, headers)
            records = body.get("records") or []
            if _ATTRIBUTES in content:
                if content.count(_ATTRIBUTES) == len(records):
                    for record in records:
                        record.pop("attributes", None)
                else:
                    _strip_attributes(records)
            next_url = body.get("nextRecordsUrl") or None
            yield QueryPage(records=records, total_size=int(body.get("totalSize") or 0), next_records_url=next_url)
            path, params = next_url, None

    def _get_page(
        self, path: str, params: Mapping[str, str] | None, headers: Mapping[str, str] | None
    ) -> tuple[bytes, dict[str, Any]]:
        """One page, parsed; a body cut short in transit is fetched again like a lost response."""
        for attempt in range(self.session.max_retries + 1):
            content = self.session.request("GET", path, params=params, headers=headers).content
            try:
                return content, orjson.loads(content)
            except orjson.JSONDecodeError:
                if attempt < self.session.max_retries:
                    self.session.sleep(self.session.backoff(attempt))
        raise TransientError(f"Salesforce kept sending unreadable query pages for {path.split('?')[0]}.")

    def query(self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None) -> Iterator[dict]:
        for page in self.query_pages(soql, include_deleted=include_deleted, batch_size=batch_size):
            yield from page.records

    def count(self, soql_from_where: str, include_deleted: bool = False) -> int:
        """Rows matching `FROM ... [WHERE ...]` in one call; `include_deleted` counts deleted rows too (queryAll)."""
        text = soql_from_where.strip()
        if not text.upper().startswith("SELECT"):
            text = f"SELECT COUNT() {text}"
        body = self.session.get_json("queryAll" if include_deleted else "query", params={"q": text})
        return int(body.get("totalSize") or 0)

    def deleted(self, sobject: str, start: datetime | str, end: datetime | str) -> dict[str, Any]:
        """Records deleted in [start, end]: `{"deletedRecords": [{"id", "deletedDate"}], ...}`."""
        params = {"start": salesforce_datetime(start), "end": salesforce_datetime(end)}
        return self.session.get_json(f"sobjects/{quote(sobject, safe='')}/deleted/", params=params)

    def updated(self, sobject: str, start: datetime | str, end: datetime | str) -> dict[str, Any]:
        params = {"start": salesforce_datetime(start), "end": salesforce_datetime(end)}
        return self.session.get_json(f"sobjects/{quote(sobject, safe='')}/updated/", params=params)

    # -- sObject Collections -------------------------------------------------------------------------------------

    def create(
        self,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> list[RecordResult]:
        body = {"allOrNone": all_or_none, "records": _typed(sobject, records)}
        return self._collection("POST", "composite/sobjects", body, len(records), headers, idempotent=False)

    def update(
        self,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> list[RecordResult]:
        if any(not (r.get("Id") or r.get("id")) for r in records):
            raise ValueError("every record to update needs its Id")
        body = {"allOrNone": all_or_none, "records": _typed(sobject, records)}
        return self._collection("PATCH", "composite/sobjects", body, len(records), headers, idempotent=True)

    def upsert(
        self,
        sobject: str,
        external_id_field: str,
        records: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> list[RecordResult]:
        body = {"allOrNone": all_or_none, "records": _typed(sobject, records)}
        path = f"composite/sobjects/{quote(sobject, safe='')}/{quote(external_id_field, safe='')}"
        # Matching on an external id makes a repeated upsert land on the same records.
        return self._collection("PATCH", path, body, len(records), headers, idempotent=True)

    def delete(
        self, ids: Sequence[str], *, all_or_none: bool = False, headers: Mapping[str, str] | None = None
    ) -> list[RecordResult]:
        _check_size(len(ids))
        response = self.session.request(
            "DELETE",
            "composite/sobjects",
            params={"ids": ",".join(ids), "allOrNone": "true" if all_or_none else "false"},
            headers=headers,
        )
        return [RecordResult.from_json(item) for item in orjson.loads(response.content)]

    def _collection(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        count: int,
        headers: Mapping[str, str] | None,
        *,
        idempotent: bool,
    ) -> list[RecordResult]:
        _check_size(count)
        answer = self.session.send_json(method, path, body, headers=headers, idempotent=idempotent)
        return [RecordResult.from_json(item) for item in answer or []]

    # -- single records ------------------------------------------------------------------------------------------

    def insert_one(
        self, sobject: str, record: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> RecordResult:
        answer = self.session.send_json("POST", f"sobjects/{quote(sobject, safe='')}/", dict(record), headers=headers)
        return RecordResult.from_json(answer)

    def update_one(
        self, sobject: str, record_id: str, record: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> None:
        fields = {k: v for k, v in record.items() if k not in ("Id", "id", "attributes")}
        path = f"sobjects/{quote(sobject, safe='')}/{quote(record_id, safe='')}"
        self.session.send_json("PATCH", path, fields, headers=headers, idempotent=True)

    def upsert_one(
        self,
        sobject: str,
        external_id_field: str,
        external_id: str,
        record: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> RecordResult:
        fields = {k: v for k, v in record.items() if k not in (external_id_field, "attributes")}
        path = "sobjects/{}/{}/{}".format(*(quote(str(p), safe="") for p in (sobject, external_id_field, external_id)))
        response = self.session.request("PATCH", path, json=fields, headers=headers, idempotent=True)
        if response.status_code == 300:
            raise ApiError(
                f"The external id {external_id_field} matches several {sobject} records.",
                status=300,
                error_code="MULTIPLE_CHOICES",
                fields=[external_id_field],
            )
        if not response.content:
            return RecordResult(id=None, success=True, created=False)
        return RecordResult.from_json(orjson.loads(response.content))

    def delete_one(self, sobject: str, record_id: str, *, headers: Mapping[str, str] | None = None) -> None:
        path = f"sobjects/{quote(sobject, safe='')}/{quote(record_id, safe='')}"
        self.session.request("DELETE", path, headers=headers)

    def get_one(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        record = self.session.get_json(f"sobjects/{quote(sobject, safe='')}/{quote(record_id, safe='')}", params=params)
        record.pop("attributes", None)
        return record

    # -- composite -----------------------------------------------------------------------------------------------

    def composite_batch(
        self, subrequests: Sequence[Mapping[str, Any]], *, halt_on_error: bool = False, idempotent: bool = False
    ) -> list[dict[str, Any]]:
        """Up to 25 independent subrequests; each result is `{"statusCode", "result"}`. URLs may omit /services/data."""
        if len(subrequests) > BATCH_LIMIT:
            raise ValueError(f"a composite batch holds at most {BATCH_LIMIT} subrequests")
        body = {"haltOnError": halt_on_error, "batchRequests": list(subrequests)}
        answer = self.session.send_json("POST", "composite/batch", body, idempotent=idempotent)
        return list(answer.get("results") or [])


def _typed(sobject: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"attributes": {"type": sobject}, **{k: v for k, v in r.items() if k != "attributes"}} for r in records]


def _check_size(count: int) -> None:
    if count == 0:
        raise ValueError("a collection request needs at least one record")
    if count > COLLECTION_LIMIT:
        raise ValueError(f"a collection request holds at most {COLLECTION_LIMIT} records (got {count})")


def _subrequest_error(status: int, body: Any) -> SalesforceError:
    code, message, fields = None, f"HTTP {status}", []
    item = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else body
    if isinstance(item, dict):
        code = item.get("errorCode") or item.get("statusCode")
        message = str(item.get("message") or message)
        fields = list(item.get("fields") or [])
    return error_for(status, str(code) if code else None, message, fields)

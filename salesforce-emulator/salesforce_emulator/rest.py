"""The REST API routes under /services/data/vXX.X: describe, sObject rows, Collections, query, composite batch,
limits, and the deleted/updated replication calls. Session, limits and faults are the gateway's business."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from salesforce_emulator.dml import ROLLED_BACK, MultipleMatches, error
from salesforce_emulator.ids import to18
from salesforce_emulator.jsonresp import error_response, json_response, not_found
from salesforce_emulator.query import QueryError
from salesforce_emulator.soql import SoqlError, compile_query
from salesforce_emulator.values import parse_datetime

if TYPE_CHECKING:
    from salesforce_emulator.org import Org

VERSIONS = [f"{n}.0" for n in range(31, 67)]  # 31.0 (Summer '14) to 66.0 (Spring '26); older ones are retired
MAX_COLLECTION = 200
MAX_BATCH = 25
MAX_COMPOSITE = 25
UNTYPED_RECORD = error("JSON_PARSER_ERROR", "Each record of a collection upsert needs its attributes, with a type.")


def org_of(request: Request) -> Org:
    return request.app.state.org


def version_of(request: Request) -> str:
    return request.path_params["version"]


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def handles_errors(endpoint: Callable) -> Callable:
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadRequest as exc:
            return error_response(exc.status, exc.code, exc.message)
        except QueryError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except SoqlError as exc:
            return error_response(400, exc.error_code, exc.message)

    return wrapped


def auto_assign(request: Request) -> bool:
    # Missing or TRUE (or an assignment rule id) runs the active assignment rule; only FALSE turns it off.
    return request.headers.get("sforce-auto-assign", "TRUE").strip().upper() != "FALSE"


def rest_errors(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A failed write's errors as a REST error body; an unknown field (INVALID_FIELD) comes without `fields`."""
    return [
        {"message": e["message"], "errorCode": e["statusCode"]}
        if e["statusCode"] == "INVALID_FIELD"
        else {"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]}
        for e in result["errors"]
    ]


def failure_status(result: dict[str, Any]) -> int:
    codes = {e["statusCode"] for e in result["errors"]}
    return 404 if codes & {"ENTITY_IS_DELETED", "NOT_FOUND"} else 400


def object_or_404(org: Org, name: str) -> Any:
    obj = org.schema.object(name)
    if obj is None:
        raise BadRequest("NOT_FOUND", "The requested resource does not exist", 404)
    return obj


# --- versions, describe ---------------------------------------------------------------------------------------------


def release_label(version: str) -> str:
    """The release that introduced an API version: three a year, from v20.0 = Winter '11 (Winter names next year)."""
    n = int(float(version)) - 20
    return f"{('Winter', 'Spring', 'Summer')[n % 3]} '{11 + n // 3:02d}"


async def versions(request: Request) -> Response:
    return json_response([{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in VERSIONS])


async def version_resources(request: Request) -> Response:
    base = f"/services/data/v{version_of(request)}"
    names = ["composite", "jobs", "limits", "query", "queryAll", "sobjects"]
    return json_response({name: f"{base}/{name}" for name in names})


async def describe_global(request: Request) -> Response:
    return json_response(org_of(request).schema.global_describe(version_of(request)))


@handles_errors
async def sobject_info(request: Request) -> Response:
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    if request.method == "POST":
        return await create_one(request, obj.name)
    return json_response({"objectDescribe": obj.global_entry(version_of(request)), "recentItems": []})


@handles_errors
async def describe(request: Request) -> Response:
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    return json_response(obj.describe(version_of(request), org.schema.child_relationships(obj.name)))


# --- one record ----------------------------------------------------------------------------------------------------


async def create_one(request: Request, sobject: str) -> Response:
    org = org_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("JSON_PARSER_ERROR", "The request body must be a JSON object")
    result = (await run_in_threadpool(org.dml_mixed, [(sobject, body)], "insert", auto_assign=auto_assign(request)))[0]
    if not result["success"]:
        return json_response(rest_errors(result), failure_status(result))
    location = f"/services/data/v{version_of(request)}/sobjects/{sobject}/{result['id']}"
    return json_response(result, 201, {"Location": location})


@handles_errors
async def record(request: Request) -> Response:
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    record_id = request.path_params["record_id"]
    if request.method == "GET":
        fields = request.query_params.get("fields")
        found = await run_in_threadpool(fetch_records, org, obj.name, [record_id], fields, version_of(request))
        if not found or found[0] is None:
            return not_found()
        return json_response(found[0])
    if request.method == "DELETE":
        result = (await run_in_threadpool(org.dml_mixed, [(obj.name, {"Id": record_id})], "delete"))[0]
        if not result["success"]:
            return json_response(rest_errors(result), failure_status(result))
        return Response(status_code=204)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("JSON_PARSER_ERROR", "The request body must be a JSON object")
    body = {**{k: v for k, v in body.items() if k.lower() != "id"}, "Id": record_id}
    result = (await run_in_threadpool(org.dml_mixed, [(obj.name, body)], "update", auto_assign=auto_assign(request)))[0]
    if not result["success"]:
        return json_response(rest_errors(result), failure_status(result))
    return Response(status_code=204)


@handles_errors
async def upsert_one(request: Request) -> Response:
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    key = obj.field(request.path_params["field"])
    if key is None or not (key.external_id or key.id_lookup):
        return not_found()
    value = request.path_params["value"]
    if request.method == "GET":
        found = await run_in_threadpool(fetch_by_key, org, obj.name, key.name, value, version_of(request))
        return json_response(found) if found else not_found()
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise BadRequest("JSON_PARSER_ERROR", "The request body must be a JSON object")
    record_body = {**{k: v for k, v in body.items() if k.lower() != key.name.lower()}, key.name: value}
    try:
        result = (
            await run_in_threadpool(
                org.dml_mixed,
                [(obj.name, record_body)],
                "upsert",
                external_id_field=key.name,
                auto_assign=auto_assign(request),
                raise_multiple=True,
            )
        )[0]
    except MultipleMatches as exc:
        base = f"/services/data/v{version_of(request)}/sobjects/{obj.name}/"
        return json_response([base + i for i in exc.ids], 300)
    if not result["success"]:
        return json_response(rest_errors(result), failure_status(result))
    location = f"/services/data/v{version_of(request)}/sobjects/{obj.name}/{result['id']}"
    return json_response(result, 201 if result["created"] else 200, {"Location": location})


def fetch_records(org: Org, sobject: str, ids: list[str], fields: str | None, version: str) -> list[dict | None]:
    """Records by id, through the SOQL engine so shapes match query results (None for a missing or deleted id)."""
    obj = org.schema.object(sobject)
    names = [f.strip() for f in fields.split(",") if f.strip()] if fields else [f.name for f in obj.fields]
    wanted = [to18(i) for i in ids]
    valid = [w for w in wanted if w]
    by_id: dict[str, dict] = {}
    if valid:
        listed = ", ".join("'" + v + "'" for v in valid)  # ids are [A-Za-z0-9] only (checked by to18)
        plan = compile_query(f"SELECT {', '.join(names)} FROM {obj.name} WHERE Id IN ({listed})", org.schema)
        for row in org.read_connection().execute(plan.sql, plan.params):
            rec = plan.record(row, version)
            by_id[rec["attributes"]["url"].rsplit("/", 1)[1]] = rec
    return [by_id.get(w) if w else None for w in wanted]


def fetch_by_key(org: Org, sobject: str, key: str, value: str, version: str) -> dict | None:
    obj = org.schema.object(sobject)
    row = (
        org.read_connection()
        .execute(f'SELECT Id FROM "{obj.name}" WHERE "{key}" = ? AND IsDeleted = 0 LIMIT 1', (value,))
        .fetchone()
    )
    return fetch_records(org, obj.name, [row[0]], None, version)[0] if row else None


# --- collections ------------------------------------------------------------------------------------------------------


def collection_records(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict):
        raise BadRequest("JSON_PARSER_ERROR", "The request body must be a JSON object with a records list")
    records = body.get("records")
    if not records:
        raise BadRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: [records]")
    if len(records) > MAX_COLLECTION:
        raise BadRequest(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
        )
    return records, bool(body.get("allOrNone", False))


def typed(record: dict[str, Any]) -> str:
    attributes = record.get("attributes") or {}
    return attributes.get("type") or ""


@handles_errors
async def collections(request: Request) -> Response:
    org = org_of(request)
    if request.method == "DELETE":
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not ids:
            raise BadRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: [ids]")
        if len(ids) > MAX_COLLECTION:
            raise BadRequest("EXCEEDED_ID_LIMIT", f"Exceeded max limit of {MAX_COLLECTION} ids")
        all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"
        items = [(org.object_name_for_id(i), {"Id": i}) for i in ids]
        results = await run_in_threadpool(org.dml_mixed, items, "delete", all_or_none=all_or_none)
        return json_response(results)
    records, all_or_none = collection_records(await json_body(request))
    operation = "insert" if request.method == "POST" else "update"
    items = [(typed(r), r) for r in records]
    results = await run_in_threadpool(
        org.dml_mixed, items, operation, all_or_none=all_or_none, auto_assign=auto_assign(request)
    )
    return json_response(results)


@handles_errors
async def collection_by_object(request: Request) -> Response:
    """GET /composite/sobjects/{O}?ids=&fields= (retrieve) and PATCH /composite/sobjects/{O}/{ExtId} (upsert)."""
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    if request.method == "GET":
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        fields = request.query_params.get("fields")
        if not ids or not fields:
            raise BadRequest("REQUIRED_FIELD_MISSING", "Required fields are missing: [ids, fields]")
        found = await run_in_threadpool(fetch_records, org, obj.name, ids, fields, version_of(request))
        return json_response(found)
    raise BadRequest("NOT_FOUND", "The requested resource does not exist", 404)


@handles_errors
async def collection_upsert(request: Request) -> Response:
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    key = obj.field(request.path_params["field"])
    if key is None or not (key.external_id or key.id_lookup):
        return not_found()
    records, all_or_none = collection_records(await json_body(request))
    # A record without `attributes` fails alone (the call still answers 200); a failed upsert says created: false.
    typed_at = [i for i, r in enumerate(records) if isinstance(r, dict) and isinstance(r.get("attributes"), dict)]
    untyped = {"success": False, "errors": [dict(UNTYPED_RECORD)], "created": False}
    results: list[dict[str, Any]] = [dict(untyped) for _ in records]
    if all_or_none and len(typed_at) < len(records):
        for i in typed_at:
            results[i] = {"success": False, "errors": [dict(ROLLED_BACK)], "created": False}
        return json_response(results)
    written = await run_in_threadpool(
        org.dml_mixed,
        [(obj.name, records[i]) for i in typed_at],
        "upsert",
        external_id_field=key.name,
        all_or_none=all_or_none,
        auto_assign=auto_assign(request),
    )
    for i, result in zip(typed_at, written, strict=True):
        results[i] = result if "created" in result else {**result, "created": False}
    return json_response(results)


# --- query ------------------------------------------------------------------------------------------------------------


def batch_size(request: Request) -> int | None:
    options = request.headers.get("sforce-query-options", "")
    for part in options.split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return int(value.strip())
    return None


@handles_errors
async def query(request: Request) -> Response:
    org = org_of(request)
    soql = request.query_params.get("q")
    if not soql:
        raise BadRequest("MALFORMED_QUERY", "A query string must be provided with the q parameter")
    include_deleted = request.url.path.rstrip("/").endswith("queryAll")
    body = await run_in_threadpool(
        org.cursors.start,
        soql,
        include_deleted=include_deleted,
        api_version=version_of(request),
        batch_size=batch_size(request),
        path=request.url.path,
    )
    return json_response(body)


@handles_errors
async def query_more(request: Request) -> Response:
    org = org_of(request)
    locator, _, position = request.path_params["locator"].rpartition("-")
    if not locator or not position.isdigit():
        raise QueryError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    body = await run_in_threadpool(org.cursors.more, locator, int(position), version_of(request))
    return json_response(body)


# --- limits, replication ------------------------------------------------------------------------------------------


async def limits(request: Request) -> Response:
    return json_response(org_of(request).limits())


@handles_errors
async def record_count(request: Request) -> Response:
    names = [n.strip() for n in request.query_params.get("sObjects", "").split(",") if n.strip()]
    try:
        counts = await run_in_threadpool(org_of(request).record_counts, names or None)
    except KeyError as exc:
        raise BadRequest("INVALID_TYPE", f"sObject type {exc} is not supported.") from exc
    return json_response({"sObjects": counts})


def window(request: Request) -> tuple[str, str]:
    start, end = request.query_params.get("start"), request.query_params.get("end")
    if not start or not end:
        raise BadRequest("MISSING_ARGUMENT", "start and end are required")
    try:
        return parse_datetime(start), parse_datetime(end)
    except ValueError as exc:
        raise BadRequest("INVALID_DATE_FORMAT", f"invalid date: {exc}") from exc


@handles_errors
async def replication(request: Request) -> Response:
    org = org_of(request)
    obj = object_or_404(org, request.path_params["sobject"])
    start, end = window(request)
    kind = "deleted" if request.url.path.rstrip("/").endswith("deleted") else "updated"
    body = await run_in_threadpool(org.replication, obj.name, kind, start, end)
    return json_response(body)


# --- composite batch ------------------------------------------------------------------------------------------------


@handles_errors
async def composite_batch(request: Request) -> Response:
    body = await json_body(request)
    subrequests = (body or {}).get("batchRequests") if isinstance(body, dict) else None
    if not subrequests:
        raise BadRequest("JSON_PARSER_ERROR", "batchRequests is required")
    if len(subrequests) > MAX_BATCH:
        raise BadRequest("LIMIT_EXCEEDED", f"Batch request limit exceeded: max {MAX_BATCH} subrequests")
    halt = bool(body.get("haltOnError"))
    version = version_of(request)
    results: list[dict[str, Any]] = []
    halted = False
    for sub in subrequests:
        if halted:
            results.append(
                {
                    "statusCode": 412,
                    "result": [
                        {"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}
                    ],
                }
            )
            continue
        status, result, _ = await call_inside(request, sub, version)
        results.append({"statusCode": status, "result": result})
        if status >= 400 and halt:
            halted = True
    return json_response({"hasErrors": any(r["statusCode"] >= 400 for r in results), "results": results})


async def call_inside(request: Request, sub: dict[str, Any], version: str) -> tuple[int, Any, dict[str, str]]:
    """Run one subrequest through the app's router, in process (a batch is one API call)."""
    url = str(sub.get("url") or "")
    if not url.startswith("/"):
        url = f"/services/data/v{version}/" + url.removeprefix(f"v{version}/")
    elif not url.startswith("/services/data/"):
        url = f"/services/data{url}"
    parts = urlsplit(url)
    payload = sub.get("richInput", sub.get("body"))
    body = b"" if payload is None else orjson.dumps(payload)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": str(sub.get("method", "GET")).upper(),
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(b"content-type", b"application/json")]
        + [(k.lower().encode(), str(v).encode()) for k, v in (sub.get("httpHeaders") or {}).items()],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }
    sent = False
    status = 500
    chunks: list[bytes] = []
    headers: dict[str, str] = {}

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update((k.decode().title(), v.decode()) for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)
    raw = b"".join(chunks)
    return status, (orjson.loads(raw) if raw else None), headers


# --- composite ------------------------------------------------------------------------------------------------------

REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def _resolve(value: Any, done: dict[str, Any]) -> Any:
    """`@{ref.path}` in strings, nested anywhere in a subrequest, -> the value at that path of an earlier answer."""
    if isinstance(value, dict):
        return {k: _resolve(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, done) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value

    def lookup(match: re.Match[str]) -> str:
        if match.group(1) not in done:
            raise LookupError(match.group(0))
        current = done[match.group(1)]
        for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", match.group(2)):
            try:
                current = current[key] if key else current[int(index)]
            except (KeyError, IndexError, TypeError) as exc:
                raise LookupError(match.group(0)) from exc
        return str(current)

    return REFERENCE.sub(lookup, value)


@handles_errors
async def composite(request: Request) -> Response:
    """POST /composite: subrequests in order, each able to use earlier answers through `@{referenceId.path}`.

    With allOrNone, the subrequests after a failure are not run (the ones before it are not undone)."""
    body = await json_body(request)
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not subrequests or not isinstance(subrequests, list):
        raise BadRequest("JSON_PARSER_ERROR", "compositeRequest is required")
    if len(subrequests) > MAX_COMPOSITE:
        raise BadRequest("LIMIT_EXCEEDED", f"Composite request limit exceeded: max {MAX_COMPOSITE} subrequests")
    all_or_none = bool(body.get("allOrNone"))
    version = version_of(request)
    done: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []
    failed = False
    for sub in subrequests:
        reference_id = sub.get("referenceId")
        status, result, headers = 400, [{"errorCode": "PROCESSING_HALTED", "message": HALTED}], {}
        if not (failed and all_or_none):
            try:
                resolved = {**sub, "url": _resolve(sub.get("url"), done), "body": _resolve(sub.get("body"), done)}
            except LookupError as exc:
                message = f"Invalid reference specified. No value for {exc.args[0]} found. Provided referenceId"
                result = [{"errorCode": "PROCESSING_HALTED", "message": f"{message} ('{reference_id}')"}]
            else:
                status, result, headers = await call_inside(request, resolved, version)
        failed = failed or status >= 400
        if status < 400 and reference_id:
            done[reference_id] = result
        answers.append({"body": result, "httpHeaders": headers_shown(headers), "httpStatusCode": status,
                        "referenceId": reference_id})  # fmt: skip
    return json_response({"compositeResponse": answers})


def headers_shown(headers: dict[str, str]) -> dict[str, str]:
    """A subrequest answer's headers as /composite reports them: only Location (and ETag, Last-Modified)."""
    return {k: v for k, v in headers.items() if k in {"Location", "Etag", "Last-Modified"}}


def both(path: str, endpoint: Callable, methods: list[str]) -> list[Route]:
    """A route with and without a trailing slash (clients use both; a redirect would cost a call)."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


def routes() -> list[Route]:
    base = "/services/data/v{version}"
    return [
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/", versions, methods=["GET"]),
        *both(base, version_resources, ["GET"]),
        *both(base + "/sobjects", describe_global, ["GET"]),
        *both(base + "/limits", limits, ["GET"]),
        *both(base + "/limits/recordCount", record_count, ["GET"]),
        *both(base + "/query", query, ["GET"]),
        *both(base + "/queryAll", query, ["GET"]),
        *both(base + "/query/{locator}", query_more, ["GET"]),
        *both(base + "/queryAll/{locator}", query_more, ["GET"]),
        *both(base + "/composite", composite, ["POST"]),
        *both(base + "/composite/batch", composite_batch, ["POST"]),
        *both(base + "/composite/sobjects", collections, ["POST", "PATCH", "DELETE"]),
        *both(base + "/composite/sobjects/{sobject}", collection_by_object, ["GET"]),
        *both(base + "/composite/sobjects/{sobject}/{field}", collection_upsert, ["PATCH"]),
        *both(base + "/sobjects/{sobject}", sobject_info, ["GET", "POST"]),
        *both(base + "/sobjects/{sobject}/describe", describe, ["GET"]),
        *both(base + "/sobjects/{sobject}/deleted", replication, ["GET"]),
        *both(base + "/sobjects/{sobject}/updated", replication, ["GET"]),
        *both(base + "/sobjects/{sobject}/{record_id}", record, ["GET", "PATCH", "DELETE"]),
        *both(base + "/sobjects/{sobject}/{field}/{value}", upsert_one, ["GET", "PATCH"]),
    ]

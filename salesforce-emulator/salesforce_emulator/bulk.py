"""Bulk API 2.0 over HTTP: query and ingest job routes, mounted by the app as `routes`.

Authentication, API version, call counting and path faults happen before these routes (in the gateway); here are
the jobs' own rules: request validation, state transitions, uploads and result downloads.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from salesforce_emulator import bulk_ingest, bulk_query
from salesforce_emulator.bulk_jobs import (
    DELIMITERS,
    INGEST_OPERATIONS,
    LINE_ENDINGS,
    QUERY_OPERATIONS,
    TERMINAL_STATES,
    Job,
    JobRegistry,
)
from salesforce_emulator.jsonresp import error_response, json_response, not_found

BASE = "/services/data/v{version}/jobs"
DEFAULT_USER = "005000000000000AAA"
_registry_lock = threading.Lock()


def jobs_of(app: Any) -> JobRegistry:
    """The app's job registry, created on first use (the app may close it with `app.state.bulk.close()`)."""
    with _registry_lock:
        registry = getattr(app.state, "bulk", None)
        if registry is None:
            registry = app.state.bulk = JobRegistry()
        return registry


def _error(code: str, message: str, status: int = 400) -> Response:
    return error_response(status, code, message)


async def _body(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        return _error("JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc.msg}")
    if not isinstance(body, dict):
        return _error("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _format(body: dict[str, Any]) -> tuple[str, str] | Response:
    """The job's columnDelimiter and lineEnding, validated like Salesforce."""
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        return _error("INVALIDJOB", f"InvalidJob : Invalid contentType: {content_type}. Only CSV is supported")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        return _error("INVALIDJOB", f"InvalidJob : Invalid columnDelimiter: {delimiter}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        return _error("INVALIDJOB", f"InvalidJob : Invalid lineEnding: {line_ending}")
    return delimiter, line_ending


def _unsupported(registry: JobRegistry, name: str) -> Response | None:
    if name.lower() in {o.lower() for o in registry.settings.unsupported_objects}:
        return _error("INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")
    return None


def _job(request: Request, kind: str) -> Job | None:
    return jobs_of(request.app).get(request.path_params["job_id"], kind)


# --- query jobs --------------------------------------------------------------------------------------------------


async def create_query_job(request: Request) -> Response:
    from salesforce_emulator.soql import SoqlError, compile_query, parse

    org = request.app.state.org
    registry = jobs_of(request.app)
    body = await _body(request)
    if isinstance(body, Response):
        return body
    operation = body.get("operation")
    if operation not in QUERY_OPERATIONS:
        return _error("INVALIDJOB", f"InvalidJob : Invalid operation: {operation}. Use query or queryAll")
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        return _error("INVALIDJOB", "InvalidJob : A query is required")
    form = _format(body)
    if isinstance(form, Response):
        return form
    try:
        parsed = parse(soql)
        plan = compile_query(parsed, org.schema, include_deleted=operation == "queryAll")
    except SoqlError as exc:
        return _error(exc.error_code, exc.message)
    refused = _unsupported(registry, plan.object.name)
    if refused is not None:
        return refused
    reason = plan.bulk_error()
    if reason is not None:
        code = "FEATURENOTENABLED" if "compound" in reason.lower() else "INVALIDJOB"
        return _error(code, reason)
    job = registry.new_job(
        kind="query",
        operation=operation,
        object=plan.object.name,
        api_version=request.path_params["version"],
        created_by=getattr(org, "api_user_id", DEFAULT_USER),
        column_delimiter=form[0],
        line_ending=form[1],
        query=soql,
        state="UploadComplete",
    )
    registry.run_later(job, lambda j: bulk_query.process(j, org, plan, parsed.limit), **org.latency.bulk_pacing())
    return json_response(job.created())


def query_results(request: Request) -> Response:
    job = _job(request, "query")
    if job is None:
        return not_found()
    if job.state != "JobComplete" or job.results is None:
        return _error("INVALIDJOBSTATE", f"Job is not in the JobComplete state (state: {job.state})")
    max_records = request.query_params.get("maxRecords")
    size = jobs_of(request.app).settings.query_page_size
    if max_records is not None:
        try:
            size = int(max_records)
        except ValueError:
            size = 0
        if size < 1:
            return _error("INVALIDPARAMETER", f"maxRecords must be a positive integer: {max_records}")
    try:
        page = bulk_query.page(job.results, request.query_params.get("locator") or None, size)
    except bulk_query.LocatorError:
        return _error("INVALIDLOCATOR", "Invalid locator")
    headers = {
        "Sforce-Locator": page.locator,
        "Sforce-NumberOfRecords": str(page.end - page.start),
        "Content-Length": str(page.content_length),
    }
    return StreamingResponse(page.body, media_type="text/csv", headers=headers)


# --- ingest jobs -------------------------------------------------------------------------------------------------


async def create_ingest_job(request: Request) -> Response:
    org = request.app.state.org
    registry = jobs_of(request.app)
    body = await _body(request)
    if isinstance(body, Response):
        return body
    name = body.get("object")
    obj = org.schema.object(name) if isinstance(name, str) else None
    if obj is None:
        return _error("INVALIDJOB", f"InvalidJob : Unable to find object: {name}")
    refused = _unsupported(registry, obj.name)
    if refused is not None:
        return refused
    operation = body.get("operation")
    if operation not in INGEST_OPERATIONS:
        return _error("INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    external_id = body.get("externalIdFieldName")
    if operation == "upsert":
        key = obj.field(external_id) if isinstance(external_id, str) else None
        if key is None:
            return _error("INVALIDJOB", f"InvalidJob : External ID field not found on {obj.name}: {external_id}")
        if not (key.external_id or key.id_lookup):
            return _error("INVALIDJOB", f"InvalidJob : The field {key.name} is not an external ID or idLookup field")
        external_id = key.name
    else:
        external_id = None
    form = _format(body)
    if isinstance(form, Response):
        return form
    job = registry.new_job(
        kind="ingest",
        operation=operation,
        object=obj.name,
        api_version=request.path_params["version"],
        created_by=getattr(org, "api_user_id", DEFAULT_USER),
        column_delimiter=form[0],
        line_ending=form[1],
        external_id_field=external_id,
        assignment_rule_id=body.get("assignmentRuleId") or None,
        state="Open",
    )
    return json_response(job.created())


async def upload(request: Request) -> Response:
    job = _job(request, "ingest")
    if job is None:
        return not_found()
    if job.uploaded:
        return _error(
            "BULK_API_ERROR",
            f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / 'Delete' the current Job then "
            "create a new Job and make sure you only do 'PUT' once on a given Job.",
        )
    if job.state != "Open":
        return _error("INVALIDJOBSTATE", f"Data can only be uploaded to an Open job (state: {job.state})")
    limit = jobs_of(request.app).settings.max_upload_bytes
    too_large = _error("BULK_API_ERROR", f"The upload exceeds the maximum of {limit} bytes after base64 encoding")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and bulk_ingest.base64_size(int(declared)) > limit:
        return too_large
    path = job.file(bulk_ingest.UPLOAD)
    size = 0
    with open(path, "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if bulk_ingest.base64_size(size) > limit:
                break
            out.write(chunk)
    if bulk_ingest.base64_size(size) > limit:
        os.remove(path)
        return too_large
    job.uploaded = True
    return Response(status_code=201)


def ingest_result(name: str) -> Any:
    def endpoint(request: Request) -> Response:
        job = _job(request, "ingest")
        if job is None:
            return not_found()
        if job.state not in TERMINAL_STATES:
            return _error("INVALIDJOBSTATE", f"Results are available once the job ends (state: {job.state})")
        path = bulk_ingest.result_file(job, name)
        if path is None:
            return Response(b"", media_type="text/csv")
        headers = {"Content-Length": str(os.path.getsize(path))}
        return StreamingResponse(bulk_ingest.stream_file(path), media_type="text/csv", headers=headers)

    return endpoint


# --- both kinds --------------------------------------------------------------------------------------------------


def job_endpoint(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        job = _job(request, kind)
        if job is None:
            return not_found()
        registry = jobs_of(request.app)
        if request.method == "GET":
            return json_response(job.info())
        if request.method == "DELETE":
            registry.delete(job)
            return Response(status_code=204)
        body = await _body(request)
        if isinstance(body, Response):
            return body
        return _change_state(request, registry, job, body.get("state"))

    return endpoint


def _change_state(request: Request, registry: JobRegistry, job: Job, state: Any) -> Response:
    if state == "Aborted":
        if job.state == "JobComplete":
            return _error("INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
        if job.state in TERMINAL_STATES:
            return _error("INVALIDJOBSTATE", f"Job is already in a final state: {job.state}")
        job.cancelled.set()
        job.set_state("Aborted")
        return json_response(job.changed())
    if state == "UploadComplete" and job.kind == "ingest":
        if job.state != "Open":
            return _error("INVALIDJOBSTATE", f"Only an Open job can be closed (state: {job.state})")
        job.set_state("UploadComplete")
        org = request.app.state.org
        batch_size = registry.settings.ingest_batch_size

        def work(j: Job) -> str | None:
            if not j.uploaded:
                return "InvalidBatch : No data was uploaded to this job"
            return bulk_ingest.process(j, org, batch_size)

        registry.run_later(job, work, **org.latency.ingest_pacing())
        return json_response(job.changed())
    return _error("INVALIDJOBSTATE", f"Invalid state change for a {job.kind} job: {state}")


def list_jobs(kind: str) -> Any:
    def endpoint(request: Request) -> Response:
        jobs = jobs_of(request.app).list(kind)
        return json_response({"done": True, "records": [job.list_entry() for job in jobs], "nextRecordsUrl": None})

    return endpoint


# --- emulator settings (not part of Salesforce) -------------------------------------------------------------------


async def bulk_settings(request: Request) -> Response:
    registry = jobs_of(request.app)
    if request.method == "PUT":
        body = await _body(request)
        if isinstance(body, Response):
            return body
        try:
            registry.settings.update(body)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
    return json_response(registry.settings.to_json())


def _both(path: str, endpoint: Any, methods: list[str]) -> list[Route]:
    """A route with and without a trailing slash (clients use both)."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


routes: list[Route] = [
    *_both(f"{BASE}/query", create_query_job, ["POST"]),
    Route(f"{BASE}/query", list_jobs("query"), methods=["GET"]),
    *_both(f"{BASE}/query/{{job_id}}", job_endpoint("query"), ["GET", "PATCH", "DELETE"]),
    *_both(f"{BASE}/query/{{job_id}}/results", query_results, ["GET"]),
    *_both(f"{BASE}/ingest", create_ingest_job, ["POST"]),
    Route(f"{BASE}/ingest", list_jobs("ingest"), methods=["GET"]),
    *_both(f"{BASE}/ingest/{{job_id}}", job_endpoint("ingest"), ["GET", "PATCH", "DELETE"]),
    *_both(f"{BASE}/ingest/{{job_id}}/batches", upload, ["PUT"]),
    *_both(f"{BASE}/ingest/{{job_id}}/successfulResults", ingest_result(bulk_ingest.SUCCESSFUL), ["GET"]),
    *_both(f"{BASE}/ingest/{{job_id}}/failedResults", ingest_result(bulk_ingest.FAILED), ["GET"]),
    *_both(f"{BASE}/ingest/{{job_id}}/unprocessedrecords", ingest_result(bulk_ingest.UNPROCESSED), ["GET"]),
    Route("/__emulator/bulk", bulk_settings, methods=["GET", "PUT"]),
]

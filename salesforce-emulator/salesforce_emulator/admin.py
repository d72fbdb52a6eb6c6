"""The emulator's own admin API under /__emulator (not part of Salesforce): calls, faults, config, schema changes,
records and the platform event bus. Tests and the CLI drive the org through it."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from salesforce_emulator import generic_objects
from salesforce_emulator.jsonresp import json_response
from salesforce_emulator.seed import generate


def _org(request: Request) -> Any:
    return request.app.state.org


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return orjson.loads(raw) if raw else {}


def _problem(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


async def calls(request: Request) -> Response:
    org = _org(request)
    if request.method == "DELETE":
        org.calls.reset()
        return Response(status_code=204)
    return json_response(org.calls.snapshot())


async def faults(request: Request) -> Response:
    org = _org(request)
    if request.method == "DELETE":
        org.faults.clear()
        return Response(status_code=204)
    if request.method == "GET":
        return json_response(org.faults.list())
    try:
        fault = org.faults.add(**await _body(request))
    except (TypeError, ValueError) as exc:
        return _problem(str(exc))
    return json_response(fault.to_json(), 201)


async def config(request: Request) -> Response:
    org = _org(request)
    if request.method == "PUT":
        try:
            org.config.update(await _body(request))
        except ValueError as exc:
            return _problem(str(exc))
    return json_response(org.config.to_json())


async def latency(request: Request) -> Response:
    org = _org(request)
    if request.method == "PUT":
        try:
            org.latency.configure(await _body(request))
        except (ValueError, AttributeError) as exc:
            return _problem(str(exc))
    return json_response(org.latency.to_json())


async def fields(request: Request) -> Response:
    org = _org(request)
    sobject = request.path_params["sobject"]
    try:
        if request.method == "DELETE":
            await run_in_threadpool(org.remove_field, sobject, request.path_params["field"])
            return Response(status_code=204)
        added = await run_in_threadpool(org.add_field, sobject, await _body(request))
    except KeyError as exc:
        return _problem(f"not found: {exc}", 404)
    except (TypeError, ValueError) as exc:
        return _problem(str(exc))
    return json_response(added.describe(), 201)


async def objects(request: Request) -> Response:
    org = _org(request)
    try:
        added = await run_in_threadpool(org.add_object, await _body(request))
    except (KeyError, TypeError, ValueError) as exc:
        return _problem(str(exc))
    return json_response({"name": added.name, "keyPrefix": added.key_prefix}, 201)


async def add_generic_objects(request: Request) -> Response:
    """`{"names": [...]}` or `{"prefix": "Bench", "count": 30}`: generic objects of a dozen typical fields."""
    org = _org(request)
    body = await _body(request)
    try:
        names = body.get("names") or generic_objects.names(str(body.get("prefix", "Bench")), int(body["count"]))
        added = await run_in_threadpool(generic_objects.add_generic_objects, org, list(names))
    except KeyError:
        return _problem("give 'names' (a list) or 'count' (and optionally 'prefix')")
    except (TypeError, ValueError) as exc:
        return _problem(str(exc))
    return json_response([{"name": obj.name, "keyPrefix": obj.key_prefix} for obj in added], 201)


async def records(request: Request) -> Response:
    org = _org(request)
    try:
        rows = await run_in_threadpool(org.all_records, request.path_params["sobject"])
    except KeyError:
        return _problem("no such object", 404)
    return json_response(rows)


async def generate_records(request: Request) -> Response:
    org = _org(request)
    body = await _body(request)
    try:
        ids = await run_in_threadpool(
            generate,
            org,
            request.path_params["sobject"],
            int(body.get("count", 1)),
            str(body.get("seed", org.seed)),
            body.get("stamp"),
        )
    except ValueError as exc:
        return _problem(f"stamp: {exc}")
    except KeyError:
        return _problem("no such object", 404)
    return json_response({"ids": ids}, 201)


async def events(request: Request) -> Response:
    org = _org(request)
    name = request.path_params["name"]
    if request.method == "DELETE":
        org.events.clear(name)
        return Response(status_code=204)
    return json_response(org.events.read(name))


def routes() -> list[Route]:
    base = "/__emulator"
    return [
        Route(base + "/calls", calls, methods=["GET", "DELETE"]),
        Route(base + "/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(base + "/config", config, methods=["GET", "PUT"]),
        Route(base + "/latency", latency, methods=["GET", "PUT"]),
        Route(base + "/schema/objects", objects, methods=["POST"]),
        Route(base + "/schema/generic-objects", add_generic_objects, methods=["POST"]),
        Route(base + "/schema/{sobject}/fields", fields, methods=["POST"]),
        Route(base + "/schema/{sobject}/fields/{field}", fields, methods=["DELETE"]),
        Route(base + "/records/{sobject}", records, methods=["GET"]),
        Route(base + "/records/{sobject}/generate", generate_records, methods=["POST"]),
        Route(base + "/events/{name}", events, methods=["GET", "DELETE"]),
    ]

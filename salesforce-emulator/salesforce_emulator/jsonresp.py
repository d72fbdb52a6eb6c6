"""JSON responses (orjson) and Salesforce's error body: a list of {message, errorCode}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def error_response(
    status: int, code: str, message: str, fields: list[str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return json_response([entry], status, headers)


def not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")

"""JSON responses (orjson) and Salesforce's error body: a list of {message, errorCode}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json;charset=UTF-8"  # the exact Content-Type Salesforce sends


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON)


def error_response(
    status: int, code: str, message: str, fields: list[str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    # Salesforce's 404 NOT_FOUND body names the code first, unlike its other error bodies.
    entry: dict[str, Any] = (
        {"errorCode": code, "message": message} if code == "NOT_FOUND" else {"message": message, "errorCode": code}
    )
    if fields is not None:
        entry["fields"] = fields
    return json_response([entry], status, headers)


def not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")

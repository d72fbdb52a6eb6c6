"""What every /services/data request goes through before a route sees it: API version, session, daily limit,
the call counter, the latency profile's waits and limits, injected faults, and the Sforce-Limit-Info header on the
way out. Logins (the token endpoint) go through it for the round trip and the faults marked `token_endpoint`.

It wraps the whole Starlette app as plain ASGI, outermost, so that it holds uvicorn's own `send` and can cut a
connection (faults `reset` and `truncate`).
"""

from __future__ import annotations

import asyncio
import functools
import re
from typing import TYPE_CHECKING, Any

import orjson

from salesforce_emulator.bulk_jobs import TERMINAL_STATES
from salesforce_emulator.faults import Fault
from salesforce_emulator.latency import CONCURRENT_REQUESTS, PacedSend

if TYPE_CHECKING:
    from salesforce_emulator.org import Org

DATA_PREFIX = "/services/data/"
# Other Salesforce calls (login, identity): a latency profile's round trip applies to them too.
OTHER_SALESFORCE_PREFIXES = ("/services/oauth2/", "/services/Soap/", "/id/")
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path; faults marked token_endpoint apply here
BULK_QUERY_CREATE = re.compile(r"^/jobs/query/?$")
# Header names whose spelling is not the capitalized words of their lowercase form.
HEADER_NAMES = {b"sforce-numberofrecords": b"Sforce-NumberOfRecords", b"www-authenticate": b"WWW-Authenticate"}
VERSION = re.compile(r"^/services/data/v(\d{2,3}\.\d)(/.*)?$")
MIN_VERSION, MAX_VERSION = 20.0, 66.0
# Path segments that are record ids, job ids or query locators: counted as one endpoint.
ID_SEGMENT = re.compile(r"^(?=.*\d)[a-zA-Z0-9]{15,18}(?:-\d+)?$")

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
TOTAL_REQUESTS = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def endpoint_key(method: str, rest: str) -> str:
    """'GET /sobjects/Account/001...' -> 'GET /sobjects/Account/{id}' (the counter's key)."""
    parts = [("{id}" if ID_SEGMENT.match(p) else p) for p in rest.strip("/").split("/") if p]
    return f"{method} /" + "/".join(parts)


class Gateway:
    def __init__(self, app: Any, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == TOKEN_PATH:
            fault = self.org.faults.take(scope["method"], scope["path"], token_endpoint=True)
            if fault is not None and await self._fault(fault, "", scope, receive, send, {}):
                return
        if not scope["path"].startswith(DATA_PREFIX) or scope["path"] == DATA_PREFIX:
            if scope["path"].startswith(OTHER_SALESFORCE_PREFIXES):
                await self.org.latency.round_trip()
            await self.app(scope, receive, _with_headers(send, {}))
            return
        org = self.org
        method = scope["method"]
        path = scope["path"]
        match = VERSION.match(path)
        if not match or not MIN_VERSION <= float(match.group(1)) <= MAX_VERSION:
            await _send_json(send, 404, NOT_FOUND, {})
            return
        rest = match.group(2) or "/"
        token = _bearer(scope)
        session = org.tokens.check(token) if token else None
        if session is None:
            await _send_json(send, 401, INVALID_SESSION, {"www-authenticate": "Token"})
            return
        org.calls.add(endpoint_key(method, rest))
        used, limit = org.count_api_call()
        limit_header = {"sforce-limit-info": f"api-usage={used}/{limit}"}
        if used > limit:
            await _send_json(send, 403, TOTAL_REQUESTS, limit_header)
            return
        latency = org.latency
        if not latency.active:
            await self._answer(scope, receive, send, token, limit_header)
            return
        ticket = latency.admit()
        if ticket is None:
            await _send_json(send, 403, CONCURRENT_REQUESTS, limit_header)
            return
        try:
            await latency.round_trip()
            if method == "POST" and BULK_QUERY_CREATE.match(rest) and self._bulk_query_jobs_full():
                limit_text = latency.profile.max_bulk_query_jobs
                message = f"Max number of concurrent Bulk API 2.0 query jobs ({limit_text}) exceeded."
                await _send_json(send, 400, [{"errorCode": "LIMIT_EXCEEDED", "message": message}], limit_header)
                return
            paced = PacedSend(send, latency.profile, latency.seconds_per_record(method, rest))
            await self._answer(scope, receive, paced.send, token, limit_header)
        finally:
            latency.release(ticket)

    def _bulk_query_jobs_full(self) -> bool:
        maximum = self.org.latency.profile.max_bulk_query_jobs
        registry = getattr(self.app.state, "bulk", None)
        if not maximum or registry is None:
            return False
        return sum(1 for job in registry.list("query") if job.state not in TERMINAL_STATES) >= maximum

    async def _answer(self, scope: dict, receive: Any, send: Any, token: str, limit_header: dict[str, str]) -> None:
        """The route's answer, or the answer of a fault injected for this request."""
        fault = self.org.faults.take(scope["method"], scope["path"])
        if fault is not None:
            handled = await self._fault(fault, token, scope, receive, send, limit_header)
            if handled:
                return
        await self.app(scope, receive, _with_headers(send, limit_header))

    async def _fault(
        self, fault: Fault, token: str, scope: dict, receive: Any, send: Any, headers: dict[str, str]
    ) -> bool:
        """Apply a fault; True when it answered (or cut) the request itself."""
        kind = fault.kind
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return False
        if kind == "status":
            code = "SERVER_UNAVAILABLE" if fault.status == 503 else "UNKNOWN_EXCEPTION"
            message = fault.message or ("Server unavailable" if fault.status == 503 else "An unexpected error occurred")
            await _send_json(send, fault.status, [{"message": message, "errorCode": code}], headers)
            return True
        if kind == "expire_session":
            self.org.tokens.revoke(token)
            await _send_json(send, 401, INVALID_SESSION, {"www-authenticate": "Token"})
            return True
        if kind == "request_limit":
            message = fault.message or "TotalRequests Limit exceeded."
            await _send_json(send, 403, [{"message": message, "errorCode": "REQUEST_LIMIT_EXCEEDED"}], headers)
            return True
        if kind == "reset":
            # Let the request run (a write may land, as when a real connection drops), then close without answering.
            await self.app(scope, receive, _discard)
            _abort(send)
            return True
        if kind == "truncate":
            await self.app(scope, receive, _truncating(send, headers))
            return True
        return False


def _bearer(scope: dict) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            if scheme.lower() in {"bearer", "oauth"} and token:
                return token.strip()
            return None
    return None


@functools.lru_cache(maxsize=256)
def _wire_name(name: bytes) -> bytes:
    """A header name as Salesforce writes it ('sforce-limit-info' -> 'Sforce-Limit-Info').

    Starlette lowercases header names, which HTTP allows; but a client that copies headers into a plain dict and
    looks one up by its usual spelling only works with the spelling real orgs send over HTTP/1.1.
    """
    lower = name.lower()
    return HEADER_NAMES.get(lower) or b"-".join(part.capitalize() for part in lower.split(b"-"))


def _wire_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    return [(_wire_name(name), value) for name, value in headers]


async def _send_json(send: Any, status: int, body: Any, headers: dict[str, str]) -> None:
    data = orjson.dumps(body)
    raw = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": _wire_headers(raw)})
    await send({"type": "http.response.body", "body": data})


def _with_headers(send: Any, headers: dict[str, str]) -> Any:
    """`send` with `headers` added to the response, and every header name spelled as Salesforce does."""
    extra = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": _wire_headers([*message.get("headers", []), *extra])}
        await send(message)

    return wrapped


async def _discard(message: dict) -> None:
    return None


def _abort(send: Any) -> None:
    """Close the client's connection with no response (uvicorn's send is a bound method of the cycle)."""
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None:
        transport.abort()
        return
    raise ConnectionAbortedError("injected connection reset")


def _truncating(send: Any, headers: dict[str, str]) -> Any:
    """Send the headers (with the full Content-Length) and half the body, then drop the connection."""
    chunks: list[bytes] = []
    start: dict[str, Any] = {}
    extra = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        raw = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        raw += [(b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": _wire_headers(raw)})
        await send({"type": "http.response.body", "body": body[: max(1, len(body) // 2)], "more_body": True})
        _abort(send)

    return wrapped

"""Latency profiles: how long the org takes to answer, and how much it lets a client do at once.

The default profile adds nothing: the emulator answers as fast as the machine allows. `production` behaves like a
busy production org reached over the internet (README.md, "Latency profiles", justifies each value). Every wait is
an asyncio sleep in the request's own task, so a waiting request holds no thread and no CPU: what a profile measures
is how well a client overlaps its calls, not how fast the emulator's machine is.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

QUERY_PAGE = re.compile(r"^/(query|queryAll)(/[^/]+)?/?$")
COLLECTIONS = re.compile(r"^/composite/sobjects(/[^/]+/[^/]+)?/?$")  # create, update, delete; upsert on a key
CONCURRENT_REQUESTS = [
    {"message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]


@dataclass
class LatencyProfile:
    round_trip_seconds: float = 0.0  # added to every Salesforce call (network round trip plus request overhead)
    query_seconds_per_record: float = 0.0  # REST query and queryMore: server time per record of the page
    bulk_start_seconds: float = 0.0  # a Bulk query job waits this long in UploadComplete before it runs
    bulk_rows_per_second: float = 0.0  # server-side rate of one Bulk query job (0: as fast as the machine)
    ingest_start_seconds: float = 0.0  # a Bulk ingest job waits this long in UploadComplete before it runs
    ingest_rows_per_second: float = 0.0  # server-side rate of one Bulk ingest job (0: as fast as the machine)
    collections_seconds_per_record: float = 0.0  # sObject Collections: server time per record of the call
    download_bytes_per_second: float = 0.0  # bandwidth of one response body (0: unbounded)
    long_running_seconds: float = 20.0  # a request running this long counts as long-running
    max_long_running_requests: int = 0  # past this many long-running requests, new ones are refused (0: no limit)
    max_bulk_query_jobs: int = 0  # Bulk query jobs queued or in progress at once (0: no limit)


PROFILES: dict[str, LatencyProfile] = {
    "default": LatencyProfile(),
    "production": LatencyProfile(
        round_trip_seconds=0.1,
        query_seconds_per_record=0.0002,
        bulk_start_seconds=2.0,
        bulk_rows_per_second=25_000.0,
        ingest_start_seconds=1.0,
        ingest_rows_per_second=5_000.0,
        collections_seconds_per_record=0.004,
        download_bytes_per_second=10_000_000.0,
        long_running_seconds=20.0,
        max_long_running_requests=10,
        max_bulk_query_jobs=25,
    ),
}


class Latency:
    """The org's profile and the requests it is answering now (touched only from the server's event loop)."""

    def __init__(self, name: str = "default") -> None:
        self.name = name
        self.profile = _copy(PROFILES[name])
        self.active = self.profile != PROFILES["default"]  # False: the gateway takes its path with no waits at all
        self._running: dict[int, float] = {}
        self._tickets = itertools.count()

    def configure(self, changes: dict[str, Any]) -> None:
        """`{"profile": name}` starts from a named profile; other keys set single values of the current one."""
        changes = dict(changes)
        known = {f.name: f.type for f in fields(LatencyProfile)}
        name = changes.pop("profile", None)
        if name is not None and name not in PROFILES:
            raise ValueError(f"unknown latency profile {name!r}; one of {sorted(PROFILES)}")
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown latency setting {key!r}; one of {sorted(known)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"latency setting {key!r} must be a number >= 0, not {value!r}")
        profile = _copy(PROFILES[name]) if name is not None else self.profile
        for key, value in changes.items():
            setattr(profile, key, int(value) if known[key] == "int" else float(value))
        self.profile = profile
        self.active = profile != PROFILES["default"]
        if name is not None:
            self.name = name
        elif changes:
            self.name = "custom"

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.name, **asdict(self.profile)}

    # --- what the gateway asks ------------------------------------------------------------------------------------

    def admit(self) -> int | None:
        """A ticket for a request starting now, or None when too many long-running requests are under way."""
        limit = self.profile.max_long_running_requests
        now = time.monotonic()
        if limit:
            threshold = self.profile.long_running_seconds
            if sum(1 for started in self._running.values() if now - started >= threshold) >= limit:
                return None
        ticket = next(self._tickets)
        self._running[ticket] = now
        return ticket

    @property
    def running(self) -> int:
        """Data API requests under way now."""
        return len(self._running)

    def release(self, ticket: int) -> None:
        self._running.pop(ticket, None)

    async def round_trip(self) -> None:
        if self.profile.round_trip_seconds:
            await asyncio.sleep(self.profile.round_trip_seconds)

    def bulk_pacing(self) -> dict[str, float]:
        """How a Bulk query job of this org is paced (see JobRegistry.run_later)."""
        return {"start_delay": self.profile.bulk_start_seconds, "rows_per_second": self.profile.bulk_rows_per_second}

    def ingest_pacing(self) -> dict[str, float]:
        """How a Bulk ingest job of this org is paced (see JobRegistry.run_later)."""
        profile = self.profile
        return {"start_delay": profile.ingest_start_seconds, "rows_per_second": profile.ingest_rows_per_second}

    def seconds_per_record(self, method: str, rest: str) -> float:
        """Server time per record of a REST query page or an sObject Collections call (0 for other calls)."""
        if method == "GET" and QUERY_PAGE.match(rest):
            return self.profile.query_seconds_per_record
        if method in ("POST", "PATCH", "DELETE") and COLLECTIONS.match(rest):
            return self.profile.collections_seconds_per_record
        return 0.0


def _copy(profile: LatencyProfile) -> LatencyProfile:
    return LatencyProfile(**asdict(profile))


class PacedSend:
    """Wraps a response's ASGI `send`: bodies go out no faster than the profile's bandwidth, and an answer whose
    server time grows with its records (a REST query page, an sObject Collections call) waits `per_record` seconds
    per record before its first byte.

    Use the bound method `send`; `transport` is the connection's, so a fault can still cut the connection.
    """

    def __init__(self, send: Any, profile: LatencyProfile, per_record: float = 0.0) -> None:
        self._send = send
        self._profile = profile
        self._per_record = per_record
        self._start: dict[str, Any] | None = None
        self.transport = getattr(getattr(send, "__self__", None), "transport", None)

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and self._per_record > 0:
            self._start = message  # held until the body tells how many records the answer has
            return
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            bandwidth = self._profile.download_bytes_per_second
            delay = len(body) / bandwidth if bandwidth else 0.0
            if self._start is not None:
                delay += _records(self._start, body) * self._per_record
            if delay > 0:
                await asyncio.sleep(delay)
            if self._start is not None:
                start, self._start = self._start, None
                await self._send(start)
        await self._send(message)


def _records(start: dict[str, Any], body: bytes) -> int:
    """Records of a REST query page, or results of a Collections call (0 for an error answer or another body)."""
    if start.get("status") != 200:
        return 0
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0
    if isinstance(answer, list):  # Collections: one result per record
        return len(answer)
    records = answer.get("records") if isinstance(answer, dict) else None
    return len(records) if isinstance(records, list) else 0

"""Faults injected on demand through the admin API: which request gets which failure."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = {"status", "reset", "slow", "truncate", "expire_session", "request_limit", "query_timeout", "bulk_job_failed"}


@dataclass
class Fault:
    kind: str
    path: str = ".*"
    method: str | None = None
    probability: float = 1.0
    count: int | None = None  # None: every matching request
    status: int = 503
    delay: float = 1.0
    rows: int = 0  # query_timeout: only queries whose result has more rows than this
    message: str | None = None
    # True: the fault applies to logins (POST /services/oauth2/token) only, and never to /services/data calls.
    token_endpoint: bool = False
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        self._pattern = re.compile(self.path)
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str | None, path: str) -> bool:
        return (self.method is None or method is None or self.method == method.upper()) and bool(
            self._pattern.search(path)
        )

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class FaultRegistry:
    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, **spec: Any) -> Fault:
        fault = Fault(**spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(
        self,
        method: str | None,
        path: str,
        kinds: set[str] | None = None,
        rows: int | None = None,
        token_endpoint: bool = False,
    ) -> Fault | None:
        """The first matching fault of the given kinds, consumed (its count decreases), or None. Faults marked
        `token_endpoint` are taken by logins only (so a fault on every path does not also break each login)."""
        with self._lock:
            for fault in self._faults:
                if fault.token_endpoint != token_endpoint:
                    continue
                if kinds is not None and fault.kind not in kinds:
                    continue
                if kinds is None and fault.kind in {"query_timeout", "bulk_job_failed"}:
                    continue  # applied by the query and bulk code, not by the request layer
                if not fault.matches(method, path):
                    continue
                if rows is not None and rows <= fault.rows:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None

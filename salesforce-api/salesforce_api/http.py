"""One HTTP session to an org: login, timeouts, retries with backoff, error mapping and API usage tracking."""

from __future__ import annotations

import itertools
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import orjson
import requests
from requests.adapters import HTTPAdapter

from salesforce_api.auth import Authenticator, Token, authenticator_from_config
from salesforce_api.errors import (
    ApiConfigError,
    ApiError,
    AuthenticationError,
    NotFoundError,
    QueryTimeoutError,
    QuotaExceededError,
    SalesforceError,
    TransientError,
)
from salesforce_api.transport import reached_server

logger = logging.getLogger("salesforce_api")

DEFAULT_API_VERSION = "62.0"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Statuses where Salesforce (or a proxy in front of it) refused the call before doing anything.
REFUSED_STATUSES = frozenset({420, 429, 503})
# Statuses where the call may or may not have been carried out.
UNKNOWN_OUTCOME_STATUSES = frozenset({500, 502, 504})
CONFIG_ERROR_CODES = frozenset(
    {
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "FUNCTIONALITY_NOT_ENABLED",
        "INVALID_FIELD",
        "INVALID_TYPE",
        "INVALID_SESSION_ID",
    }
)
_USAGE = re.compile(r"(?:^|[,;\s])api-usage=(\d+)/(\d+)")


class ApiUsage(NamedTuple):
    used: int
    limit: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.limit if self.limit else 0.0


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """`Sforce-Limit-Info: api-usage=18/15000` (other entries such as per-app usage may follow)."""
    if not header:
        return None
    match = _USAGE.search(header)
    return ApiUsage(int(match.group(1)), int(match.group(2))) if match else None


def error_details(response: requests.Response) -> tuple[str | None, str, list[str]]:
    """(errorCode, message, fields) from Salesforce's error body: a JSON list, an object, or plain text."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("statusCode") or body.get("error")
        message = body.get("message") or body.get("error_description") or ""
        fields = body.get("fields") or []
        return (str(code) if code else None), str(message), [str(f) for f in fields]
    # Not Salesforce's JSON (a proxy page, a cut body): name the status only, never echo an unknown body.
    return None, f"HTTP {response.status_code} {response.reason or ''}".strip(), []


MAX_RELOGINS = 2


def is_retryable(status: int, code: str | None, message: str) -> bool:
    if status >= 500 or status in REFUSED_STATUSES:
        return True
    if code == "UNABLE_TO_LOCK_ROW" or code == "SERVER_UNAVAILABLE":
        return True
    return code == "REQUEST_LIMIT_EXCEEDED" and concurrency_limit(message)


def concurrency_limit(message: str) -> bool:
    """Whether a REQUEST_LIMIT_EXCEEDED is the org's limit of requests at once (ConcurrentPerOrgLongTxn,
    ConcurrentRequests), which frees up in seconds, not its daily limit."""
    return "ConcurrentPerOrgLongTxn" in message or "ConcurrentRequests" in message


def error_for(status: int, code: str | None, message: str, fields: list[str], *, exhausted: bool = False):
    """The taxonomy's exception for one error response (after retries when `exhausted`)."""
    if code == "REQUEST_LIMIT_EXCEEDED" and not concurrency_limit(message):
        return QuotaExceededError(f"REQUEST_LIMIT_EXCEEDED: {message}")
    if exhausted or is_retryable(status, code, message):
        label = f"{code}: {message}" if code else message
        return TransientError(f"Salesforce kept failing ({label}) after retries.", status=status, error_code=code)
    if code == "QUERY_TIMEOUT":
        return QueryTimeoutError(message, status=status, error_code=code, fields=fields)
    if status == 401:
        return AuthenticationError(
            f"Salesforce rejected the session ({code or 'HTTP 401'}: {message}) right after logging in; "
            "check the settings under 'credentials' and the user's API permissions.",
            setting="credentials",
            error_code=code,
        )
    if code in CONFIG_ERROR_CODES or (status == 403 and code and code.startswith("INSUFFICIENT_ACCESS")):
        return ApiConfigError(message, status=status, error_code=code, fields=fields)
    if status == 404:
        return NotFoundError(message, status=status, error_code=code or "NOT_FOUND", fields=fields)
    return ApiError(message, status=status, error_code=code, fields=fields)


class SalesforceSession:
    """Everything the REST and Bulk clients need to talk to one org. Safe to share between threads."""

    def __init__(
        self,
        authenticator: Authenticator,
        api_version: str = DEFAULT_API_VERSION,
        timeout: tuple[float, float] = (10, 300),
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        verify: bool = True,
        pool_size: int = 10,
    ) -> None:
        self.authenticator = authenticator
        self.api_version = str(api_version).lstrip("v")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.budget_percent: float | None = None
        self.usage: ApiUsage | None = None
        self.sleep: Callable[[float], None] = time.sleep
        self.http = requests.Session()
        self.http.verify = verify
        # Retries are ours (they know Salesforce's error codes), so the adapter does none.
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.http.mount("https://", adapter)
        self.http.mount("http://", adapter)
        self._token: Token | None = None
        self._login_lock = threading.Lock()
        self._calls_lock = threading.Lock()  # threads share the session: the count must not go backwards
        self._calls = 0
        # (the Date header of the latest response, time.monotonic() when it came): Salesforce's clock, which
        # decides which records a time bound covers, whatever this machine's clock says.
        self._server_clock: tuple[datetime, float] | None = None

    def __repr__(self) -> str:
        return f"SalesforceSession(instance_url={self._token.instance_url if self._token else None!r})"

    def __enter__(self) -> SalesforceSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # -- login ---------------------------------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def data_path(self) -> str:
        return f"/services/data/v{self.api_version}"

    @property
    def instance_url(self) -> str:
        return self.ensure_logged_in().instance_url

    def server_time(self) -> datetime | None:
        """Salesforce's clock now, from the Date header of the latest response (whole seconds, so never ahead of
        it) plus the time elapsed since; None before any response with a Date."""
        if self._server_clock is None:
            return None
        date, received = self._server_clock
        return date + timedelta(seconds=time.monotonic() - received)

    def _note_date(self, response: requests.Response) -> None:
        header = response.headers.get("Date")
        if not header:
            return
        try:
            date = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if date.tzinfo is not None:
            self._server_clock = (date, time.monotonic())

    def ensure_logged_in(self) -> Token:
        token = self._token
        if token is not None:
            return token
        with self._login_lock:
            if self._token is None:
                self._token = self._login()
            return self._token

    def _relogin(self, stale: Token) -> Token:
        with self._login_lock:
            # Another thread may have refreshed the token while this one waited for the lock.
            if self._token is stale or self._token is None:
                self._token = self._login()
            return self._token

    def _login(self) -> Token:
        for attempt in itertools.count():
            try:
                token = self.authenticator.login(self.http)
                logger.debug("Logged in to %s", token.instance_url)
                return token
            except TransientError as exc:
                # Like a data call: a reset, a slow answer or a 5xx from the token endpoint passes.
                if attempt >= self.max_retries:
                    raise
                delay = self.backoff(attempt)
                logger.warning("%s Retrying the login in %.1fs (attempt %d of %d)", exc.message, delay, attempt + 1,
                               self.max_retries)  # fmt: skip
                self.sleep(delay)
        raise AssertionError("unreachable")

    # -- requests ------------------------------------------------------------------------------------------------

    def backoff(self, attempt: int, retry_after: str | None = None) -> float:
        """Exponential backoff with full jitter; a server's Retry-After (seconds) is a floor, capped at the max."""
        delay = random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), self.backoff_max))
        return delay

    def url(self, path: str, token: Token | None = None) -> str:
        if path.startswith(("https://", "http://")):
            return path
        base = (token or self.ensure_logged_in()).instance_url
        if path.startswith("/"):
            return base + path
        return f"{base}{self.data_path}/{path}"

    def check_budget(self) -> None:
        usage, budget = self.usage, self.budget_percent
        if budget is None or usage is None or not usage.limit:
            return
        if usage.used + 1 > usage.limit * budget / 100.0:
            raise QuotaExceededError(
                f"The API budget is reached: {usage.used} of the org's {usage.limit} daily API calls are used "
                f"and the setting allows {budget:g}%.",
                budget=True,
                used=usage.used,
                limit=usage.limit,
            )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        idempotent: bool | None = None,
    ) -> requests.Response:
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        send_headers = {"Accept": "application/json"}
        if json is not None:
            data = orjson.dumps(json)
            send_headers["Content-Type"] = "application/json"
        if headers:
            send_headers.update(headers)
        if data is not None and hasattr(data, "seek") and hasattr(data, "tell"):
            start_of_body: int | None = data.tell()
        else:
            start_of_body = None
        relogins = 0
        attempt = 0
        while True:
            self.check_budget()
            token = self.ensure_logged_in()
            send_headers["Authorization"] = f"Bearer {token.access_token}"
            if start_of_body is not None:
                data.seek(start_of_body)
            with self._calls_lock:
                self._calls += 1
            try:
                response = self.http.request(
                    method,
                    self.url(path, token),
                    params=params,
                    data=data,
                    headers=send_headers,
                    timeout=self.timeout,
                    stream=stream,
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                failure = f"{type(exc).__name__} on {method} {_path_only(path)}"
                if not idempotent and reached_server(exc):
                    raise TransientError(
                        f"The connection failed during {method} {_path_only(path)} ({type(exc).__name__}); "
                        "the write may or may not have been applied.",
                        ambiguous=True,
                    ) from None
                if attempt >= self.max_retries:
                    raise TransientError(f"Salesforce could not be reached ({failure}) after retries.") from None
                delay = self.backoff(attempt)
                logger.warning(
                    "%s; retrying in %.1fs (attempt %d of %d)", failure, delay, attempt + 1, self.max_retries
                )
                self.sleep(delay)
                attempt += 1
                continue
            self._note_date(response)
            usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
            if usage is not None:
                self.usage = usage
            if response.status_code < 400 and response.status_code != 300:
                return response
            if response.status_code == 300:
                # Upsert matched several records: the caller reads the list of matches.
                return response
            code, message, fields = error_details(response)
            response.close()
            # Twice, not once: a token can expire again between the re-login and its first use (short session
            # policies, revoked sessions); a third 401 in a row means the credentials or permissions are wrong.
            if response.status_code == 401 and relogins < MAX_RELOGINS:
                relogins += 1
                logger.info("Session expired (%s); logging in again", code or "HTTP 401")
                self._relogin(token)
                continue
            if not is_retryable(response.status_code, code, message):
                raise error_for(response.status_code, code, message, fields)
            if not idempotent and response.status_code in UNKNOWN_OUTCOME_STATUSES:
                raise TransientError(
                    f"Salesforce answered {response.status_code} ({code or 'no error code'}: {message}) to "
                    f"{method} {_path_only(path)}; the write may or may not have been applied.",
                    ambiguous=True,
                    status=response.status_code,
                    error_code=code,
                )
            if attempt >= self.max_retries:
                raise error_for(response.status_code, code, message, fields, exhausted=True)
            delay = self.backoff(attempt, response.headers.get("Retry-After"))
            logger.warning(
                "%s %s answered %s %s; retrying in %.1fs (attempt %d of %d)",
                method,
                _path_only(path),
                response.status_code,
                code or "",
                delay,
                attempt + 1,
                self.max_retries,
            )
            self.sleep(delay)
            attempt += 1

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET a JSON document, retrying a body cut short in transit like any other lost response."""
        for attempt in itertools.count():
            response = self.request("GET", path, params=params)
            try:
                return orjson.loads(response.content) if response.content else None
            except orjson.JSONDecodeError:
                if attempt >= self.max_retries:
                    raise TransientError(f"Salesforce sent an unreadable body for GET {_path_only(path)}.") from None
                self.sleep(self.backoff(attempt))
        raise AssertionError("unreachable")

    def send_json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.request(method, path, json=body, **kwargs)
        if not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TransientError(
                f"Salesforce sent an unreadable answer to {method} {_path_only(path)}; "
                "the write may or may not have been applied.",
                ambiguous=method not in IDEMPOTENT_METHODS,
            ) from None


def _path_only(path: str) -> str:
    return path.split("?", 1)[0]


def connect(
    credentials: Mapping[str, Any], api_version: str = DEFAULT_API_VERSION, **options: Any
) -> SalesforceSession:
    """A session for these credentials. It logs in on the first request; bad settings fail here already."""
    return SalesforceSession(authenticator_from_config(credentials), api_version=api_version, **options)


__all__ = [
    "ApiUsage",
    "SalesforceError",
    "SalesforceSession",
    "connect",
    "error_details",
    "error_for",
    "is_retryable",
    "parse_limit_info",
]

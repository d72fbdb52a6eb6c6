"""The HTTP layer: retry classification, error mapping, session refresh, API usage and budget."""

from __future__ import annotations

import pytest
import requests
from salesforce_api.errors import (
    ApiConfigError,
    ApiError,
    AuthenticationError,
    ConfigError,
    NotFoundError,
    QueryTimeoutError,
    QuotaExceededError,
    TransientError,
)
from salesforce_api.http import SalesforceSession, parse_limit_info

from .conftest import DATA, LOGIN, PASSWORD_CREDENTIALS

OK = {"json": {"ok": True}, "headers": {"Sforce-Limit-Info": "api-usage=10/1000"}}


def err(status: int, code: str, message: str = "boom") -> dict:
    return {"status_code": status, "json": [{"errorCode": code, "message": message}]}


RETRYABLE = [
    pytest.param(err(500, "UNKNOWN_EXCEPTION"), id="500"),
    pytest.param(err(502, "BAD_GATEWAY"), id="502"),
    pytest.param({"status_code": 503, "text": "<html>busy</html>"}, id="503-html"),
    pytest.param(err(429, "TOO_MANY"), id="429"),
    pytest.param(err(420, "ENHANCE_YOUR_CALM"), id="420"),
    pytest.param(err(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access"), id="lock-row"),
    pytest.param(err(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."), id="concurrent-txn"),
    pytest.param(
        err(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."),
        id="concurrent-requests",
    ),
    pytest.param({"exc": requests.exceptions.ConnectTimeout}, id="connect-timeout"),
    pytest.param({"exc": requests.exceptions.ReadTimeout}, id="read-timeout"),
    pytest.param({"exc": requests.exceptions.ConnectionError}, id="connection-reset"),
    pytest.param({"exc": requests.exceptions.ChunkedEncodingError}, id="truncated-body"),
]


@pytest.mark.parametrize("failure", RETRYABLE)
def test_retryable_failures_are_retried_then_succeed(session, mocked, failure):
    route = mocked.get(DATA + "/limits", [failure, failure, OK])
    assert session.get_json("limits") == {"ok": True}
    assert route.call_count == 3
    assert session.calls == 3


@pytest.mark.parametrize("failure", RETRYABLE)
def test_retryable_failures_give_transient_error_when_retries_run_out(session, mocked, failure):
    route = mocked.get(DATA + "/limits", [failure] * 10)
    with pytest.raises(TransientError) as caught:
        session.get_json("limits")
    assert route.call_count == session.max_retries + 1
    assert not caught.value.ambiguous


@pytest.mark.parametrize(
    ("response", "expected", "code"),
    [
        (err(400, "MALFORMED_QUERY"), ApiError, "MALFORMED_QUERY"),
        (err(400, "INVALID_FIELD", "No such column 'Foo'"), ApiConfigError, "INVALID_FIELD"),
        (err(400, "INVALID_TYPE"), ApiConfigError, "INVALID_TYPE"),
        (err(403, "INSUFFICIENT_ACCESS"), ApiConfigError, "INSUFFICIENT_ACCESS"),
        (err(403, "API_DISABLED_FOR_ORG"), ApiConfigError, "API_DISABLED_FOR_ORG"),
        (err(404, "NOT_FOUND"), NotFoundError, "NOT_FOUND"),
        (err(400, "QUERY_TIMEOUT", "Your query request was running for too long."), QueryTimeoutError, "QUERY_TIMEOUT"),
        (err(400, "REQUIRED_FIELD_MISSING"), ApiError, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_non_retryable_errors_map_to_the_taxonomy_without_retry(session, mocked, response, expected, code):
    route = mocked.get(DATA + "/query", [response, OK])
    with pytest.raises(expected) as caught:
        session.request("GET", "query", params={"q": "SELECT Id FROM Account"})
    assert route.call_count == 1
    assert type(caught.value) is expected
    assert caught.value.error_code == code
    assert code in str(caught.value)


def test_config_errors_from_responses_are_also_api_errors(session, mocked):
    mocked.get(DATA + "/sobjects/Account/describe", **err(403, "INSUFFICIENT_ACCESS", "no access"))
    with pytest.raises(ConfigError) as caught:
        session.get_json("sobjects/Account/describe")
    assert isinstance(caught.value, ApiError)
    assert caught.value.status == 403


def test_total_requests_limit_is_quota_exceeded_and_not_retried(session, mocked):
    route = mocked.get(DATA + "/limits", [err(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), OK])
    with pytest.raises(QuotaExceededError) as caught:
        session.get_json("limits")
    assert not caught.value.budget
    assert route.call_count == 1


def test_expired_session_logs_in_once_more_and_retries(session, mocked):
    route = mocked.get(DATA + "/limits", [err(401, "INVALID_SESSION_ID", "Session expired or invalid"), OK])
    assert session.get_json("limits") == {"ok": True}
    token_calls = [r for r in mocked.request_history if r.url.startswith(LOGIN)]
    assert len(token_calls) == 2
    assert route.request_history[0].headers["Authorization"] == "Bearer access-1"
    assert route.request_history[1].headers["Authorization"] == "Bearer access-2"


def test_a_token_that_expires_again_before_use_gets_one_more_login(session, mocked):
    expired = err(401, "INVALID_SESSION_ID", "Session expired or invalid")
    route = mocked.get(DATA + "/limits", [expired, expired, OK])
    assert session.get_json("limits") == {"ok": True}
    assert route.call_count == 3


def test_a_third_401_in_a_row_is_an_authentication_error(session, mocked):
    expired = err(401, "INVALID_SESSION_ID", "Session expired or invalid")
    route = mocked.get(DATA + "/limits", [expired, expired, expired, OK])
    with pytest.raises(AuthenticationError):
        session.get_json("limits")
    assert route.call_count == 3


def test_limit_info_is_read_from_every_response(session, mocked):
    mocked.get(DATA + "/limits", [{"json": {}, "headers": {"Sforce-Limit-Info": "api-usage=18/15000"}}])
    session.get_json("limits")
    assert session.usage == (18, 15000)
    assert session.usage.percent == pytest.approx(0.12)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=18/15000", (18, 15000)),
        ("api-usage=5/100, per-app-api-usage=2/50(appName=x)", (5, 100)),
        ("per-app-api-usage=2/50(appName=x)", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_limit_info(header, expected):
    assert parse_limit_info(header) == expected


def test_budget_stops_before_the_call_that_would_exceed_it(session, mocked):
    route = mocked.get(DATA + "/limits", [{"json": {}, "headers": {"Sforce-Limit-Info": "api-usage=500/1000"}}])
    session.budget_percent = 50
    session.get_json("limits")  # usage unknown before the first answer, so this one is sent
    with pytest.raises(QuotaExceededError) as caught:
        session.get_json("limits")
    assert caught.value.budget
    assert (caught.value.used, caught.value.limit) == (500, 1000)
    assert route.call_count == 1


def test_budget_allows_calls_below_the_share(session, mocked):
    route = mocked.get(DATA + "/limits", [{"json": {}, "headers": {"Sforce-Limit-Info": "api-usage=10/1000"}}])
    session.budget_percent = 50
    for _ in range(3):
        session.get_json("limits")
    assert route.call_count == 3


@pytest.mark.parametrize(
    "lost",
    [requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError],
)
def test_a_lost_non_idempotent_write_is_ambiguous_and_not_repeated(session, mocked, lost):
    route = mocked.post(DATA + "/composite/sobjects", [{"exc": lost}, OK])
    with pytest.raises(TransientError) as caught:
        session.request("POST", "composite/sobjects", json={"records": []})
    assert caught.value.ambiguous
    assert route.call_count == 1


def test_a_write_that_never_connected_is_retried(session, mocked):
    route = mocked.post(DATA + "/composite/sobjects", [{"exc": requests.exceptions.ConnectTimeout}, OK])
    session.request("POST", "composite/sobjects", json={"records": []})
    assert route.call_count == 2


def test_a_500_to_a_non_idempotent_write_is_ambiguous(session, mocked):
    route = mocked.post(DATA + "/composite/sobjects", [err(500, "UNKNOWN_EXCEPTION"), OK])
    with pytest.raises(TransientError) as caught:
        session.request("POST", "composite/sobjects", json={"records": []})
    assert caught.value.ambiguous
    assert route.call_count == 1


def test_a_refused_non_idempotent_write_is_retried(session, mocked):
    route = mocked.post(DATA + "/composite/sobjects", [err(503, "SERVER_UNAVAILABLE"), OK])
    session.request("POST", "composite/sobjects", json={"records": []})
    assert route.call_count == 2


def test_writes_marked_idempotent_are_retried_after_a_lost_response(session, mocked):
    route = mocked.patch(DATA + "/composite/sobjects/Account/Ext__c", [{"exc": requests.exceptions.ReadTimeout}, OK])
    session.request("PATCH", "composite/sobjects/Account/Ext__c", json={"records": []}, idempotent=True)
    assert route.call_count == 2


def test_every_call_has_timeouts_and_a_pooled_adapter(session, mocked, monkeypatch):
    mocked.get(DATA + "/limits", **OK)
    seen = {}
    original = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    session.get_json("limits")
    assert seen["timeout"] == (10, 300)
    assert session.http.verify is True


def test_paths_resolve_against_the_instance(session, mocked):
    mocked.get(DATA + "/query/01gXX-2000", json={"records": []})
    mocked.get(DATA + "/sobjects", json={})
    session.get_json("/services/data/v62.0/query/01gXX-2000")
    session.get_json("sobjects")
    assert session.instance_url == "https://org.example.test"
    assert session.data_path == "/services/data/v62.0"


def test_backoff_is_full_jitter_bounded_by_the_maximum():
    sf = SalesforceSession.__new__(SalesforceSession)
    sf.backoff_base, sf.backoff_max = 1.0, 8.0
    delays = [sf.backoff(attempt) for attempt in range(10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert max(sf.backoff(0) for _ in range(200)) <= 1.0
    assert max(delays) > 4.0  # later attempts wait longer
    assert sf.backoff(0, retry_after="5") >= 5.0


def test_error_messages_never_carry_credentials(session, mocked):
    mocked.get(DATA + "/limits", **err(400, "MALFORMED_QUERY"))
    with pytest.raises(ApiError) as caught:
        session.get_json("limits")
    text = str(caught.value) + repr(caught.value) + repr(session)
    for secret in ("access-1", "password-value", "client-secret-value", "token-value"):
        assert secret not in text


def test_connect_rejects_plain_http_outside_loopback():
    with pytest.raises(ConfigError) as caught:
        from salesforce_api import connect

        connect({**PASSWORD_CREDENTIALS, "login_url": "http://login.salesforce.com"})
    assert "credentials.login_url" in str(caught.value)


def test_concurrent_threads_log_in_only_once(mocked):
    import threading

    from salesforce_api import connect

    from .conftest import LOGIN as login

    sf = connect(PASSWORD_CREDENTIALS)
    barrier = threading.Barrier(8)
    mocked.get(DATA + "/limits", json={})

    def work():
        barrier.wait()
        sf.get_json("limits")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in mocked.request_history if r.url.startswith(login)]) == 1
    assert sf.calls == 8

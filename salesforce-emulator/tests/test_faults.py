"""Injected faults, the daily API limit and the call counter."""

from __future__ import annotations

import pytest
import requests
from salesforce_emulator.testing import Emulator


def test_status_fault_by_count_then_recovers(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/query", method="GET", kind="status", status=503, count=2)
    soql = {"q": "SELECT Id FROM Account"}
    codes = [api("GET", "/query", params=soql).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert api("GET", "/limits").status_code == 200  # the path pattern did not match


def test_fault_method_filter(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/sobjects", method="POST", kind="status", status=500, count=1)
    assert api("GET", "/sobjects").status_code == 200
    assert api("POST", "/sobjects/Account/", json={"Name": "x"}).status_code == 500


def test_reset_closes_the_connection(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/limits", kind="reset", count=1)
    with pytest.raises(requests.ConnectionError):
        api("GET", "/limits")
    assert api("GET", "/limits").status_code == 200


def test_token_endpoint_faults_hit_logins_only(emulator: Emulator, api) -> None:
    """A fault marked token_endpoint breaks the next login and no data call; an unmarked one never breaks a login."""
    emulator.admin.add_fault(kind="status", status=500, count=2)
    emulator.admin.add_fault(kind="reset", token_endpoint=True, count=1)
    emulator.admin.add_fault(kind="status", status=503, token_endpoint=True, count=1)
    login = {
        "grant_type": "password",
        **{k: v for k, v in emulator.credentials().items() if k not in ("auth_type", "login_url")},
    }
    login["password"] = login["password"] + login.pop("security_token", "")
    token_url = emulator.url + "/services/oauth2/token"
    with pytest.raises(requests.ConnectionError):
        requests.post(token_url, data=login, timeout=30)
    assert requests.post(token_url, data=login, timeout=30).status_code == 503
    assert requests.post(token_url, data=login, timeout=30).status_code == 200
    assert [api("GET", "/limits").status_code for _ in range(3)] == [500, 500, 200]


def test_truncated_body(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/sobjects$", kind="truncate", count=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        api("GET", "/sobjects").json()


def test_slow_fault_delays_the_answer(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/limits", kind="slow", delay=1.0, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api("GET", "/limits", timeout=0.2)


def test_expire_session_fault_revokes_the_token(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/limits", kind="expire_session", count=1)
    first = api("GET", "/limits")
    assert first.status_code == 401 and first.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert api("GET", "/sobjects").status_code == 401  # that session stays dead


def test_request_limit_fault(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path=".*", kind="request_limit", count=1)
    response = api("GET", "/limits")
    assert response.status_code == 403
    assert response.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_query_timeout_over_row_count(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path="/query", kind="query_timeout", rows=10)
    big = api("GET", "/query", params={"q": "SELECT Id FROM Account"})
    assert big.status_code == 400 and big.json()[0]["errorCode"] == "QUERY_TIMEOUT"
    small = api("GET", "/query", params={"q": "SELECT Id FROM Account LIMIT 5"})
    assert small.status_code == 200
    emulator.admin.clear_faults()
    emulator.admin.configure(query_timeout_rows=15)
    assert api("GET", "/query", params={"q": "SELECT Id FROM Account"}).status_code == 400


def test_probability_zero_never_fires(emulator: Emulator, api) -> None:
    emulator.admin.add_fault(path=".*", kind="status", status=500, probability=0.0)
    assert all(api("GET", "/limits").status_code == 200 for _ in range(5))


def test_daily_limit(emulator_factory, api_for) -> None:
    org = emulator_factory(records=1, daily_api_limit=3)
    api = api_for(org)
    responses = [api("GET", "/limits") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 403]
    assert responses[2].headers["sforce-limit-info"] == "api-usage=3/3"
    assert responses[3].json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    org.admin.configure(api_usage=0)
    assert api("GET", "/limits").status_code == 200


def test_call_counter(emulator: Emulator, api) -> None:
    emulator.admin.reset_calls()
    api("GET", "/query", params={"q": "SELECT Id FROM Account"})
    api("GET", "/sobjects/Account/describe")
    api("GET", "/sobjects/Account/describe")
    calls = emulator.admin.calls()
    assert calls["total"] == 3
    assert calls["by_endpoint"] == {"GET /query": 1, "GET /sobjects/Account/describe": 2}
    emulator.admin.reset_calls()
    assert emulator.admin.calls()["total"] == 0


def test_no_session_is_401(emulator: Emulator) -> None:
    response = requests.get(emulator.url + "/services/data/v62.0/limits", timeout=30)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Token"


def test_schema_change_at_run_time(emulator: Emulator, api) -> None:
    emulator.admin.add_field("Account", "Tier__c", "picklist", picklist_values=["Gold", "Silver"])
    names = [f["name"] for f in api("GET", "/sobjects/Account/describe").json()["fields"]]
    assert "Tier__c" in names
    assert api("POST", "/sobjects/Account/", json={"Name": "n", "Tier__c": "Gold"}).status_code == 201
    emulator.admin.remove_field("Account", "Tier__c")
    bad = api("GET", "/query", params={"q": "SELECT Tier__c FROM Account"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    emulator.admin.add_object("Y__c", fields=[{"name": "Score__c", "type": "double"}])
    assert api("POST", "/sobjects/Y__c/", json={"Score__c": 1.5}).status_code == 201
    assert len(emulator.admin.records("Y__c")) == 1

"""Shared helpers for the client's tests: a session against a mocked org with no real waiting."""
# ruff: noqa: S105, S106, S107

from __future__ import annotations

import pytest
import requests_mock as requests_mock_module
from salesforce_api import connect
from salesforce_api.http import SalesforceSession

LOGIN = "https://login.example.test"
INSTANCE = "https://org.example.test"
DATA = INSTANCE + "/services/data/v62.0"
PASSWORD_CREDENTIALS = {
    "auth_type": "username_password",
    "login_url": LOGIN,
    "client_id": "client-id",
    "client_secret": "client-secret-value",
    "username": "user@example.com",
    "password": "password-value",
    "security_token": "token-value",
}


def mock_login(mock: requests_mock_module.Mocker, token: str = "access-1") -> None:
    mock.post(
        LOGIN + "/services/oauth2/token",
        [
            {
                "json": {
                    "access_token": t,
                    "instance_url": INSTANCE,
                    "issued_at": "1700000000000",
                    "token_type": "Bearer",
                }
            }
            for t in (token, "access-2", "access-3")
        ],
    )


@pytest.fixture
def mocked(requests_mock: requests_mock_module.Mocker) -> requests_mock_module.Mocker:
    mock_login(requests_mock)
    return requests_mock


@pytest.fixture
def session(mocked: requests_mock_module.Mocker) -> SalesforceSession:
    sf = connect(PASSWORD_CREDENTIALS, max_retries=3, backoff_base=0.001, backoff_max=0.002)
    sf.sleep = lambda _seconds: None
    return sf

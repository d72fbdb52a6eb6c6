"""Shared helpers: simple-salesforce (an independent client) pointed at the emulator over plain http."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from requests.adapters import HTTPAdapter
from salesforce_emulator.testing import Emulator
from simple_salesforce import Salesforce

VERSION = "62.0"


class _PlainHttp(HTTPAdapter):
    """simple-salesforce always builds https:// URLs; the emulator on 127.0.0.1 speaks http."""

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, **kwargs)


def simple_client(org: Emulator, token: str | None = None) -> Salesforce:
    http = requests.Session()
    http.mount("https://127.0.0.1", _PlainHttp())
    return Salesforce(instance_url=org.url, session_id=token or org.access_token(), version=VERSION, session=http)


@pytest.fixture
def sf(emulator: Emulator) -> Salesforce:
    return simple_client(emulator)


def raw_client(org: Emulator) -> Callable[..., requests.Response]:
    """Raw authenticated requests: call("GET", "/query", params=...) relative to /services/data/v62.0."""
    token = org.access_token()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, **kwargs: object) -> requests.Response:
        url = path if path.startswith("/services") else f"/services/data/v{VERSION}{path}"
        kwargs.setdefault("timeout", 60)
        return http.request(method, org.url + url, **kwargs)

    return call


@pytest.fixture
def api(emulator: Emulator) -> Callable[..., requests.Response]:
    return raw_client(emulator)


@pytest.fixture
def api_for() -> Callable[[Emulator], Callable[..., requests.Response]]:
    return raw_client


@pytest.fixture
def sf_for() -> Callable[[Emulator], Salesforce]:
    return simple_client

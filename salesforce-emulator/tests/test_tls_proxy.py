"""https with a throw-away CA, and the CONNECT proxy that lets clients with hard-coded Salesforce hosts in."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import pytest
import requests
from salesforce_emulator import oauth
from salesforce_emulator.proxy import tunnels_to_emulator
from salesforce_emulator.testing import Emulator
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed


@pytest.fixture(scope="module")
def proxied() -> Iterator[Emulator]:
    with Emulator(records=30, proxy=True) as org:
        yield org


def _through_proxy(monkeypatch: pytest.MonkeyPatch, org: Emulator) -> None:
    """What a user sets, and nothing else: the proxy and the CA bundle."""
    monkeypatch.setenv("HTTPS_PROXY", org.proxy_url or "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org.ca_file or "")
    for name in ("https_proxy", "NO_PROXY", "no_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def test_tls_serves_https_that_only_the_emulators_ca_verifies() -> None:
    with Emulator(records=2, tls=True) as org:
        assert org.url.startswith("https://127.0.0.1:")
        form = {"grant_type": "client_credentials", "client_id": oauth.CLIENT_ID, "client_secret": oauth.CLIENT_SECRET}
        token = requests.post(org.url + "/services/oauth2/token", data=form, verify=org.ca_file, timeout=30)
        assert token.status_code == 200
        assert token.json()["instance_url"] == org.url
        with pytest.raises(requests.exceptions.SSLError):
            requests.post(org.url + "/services/oauth2/token", data=form, timeout=30)  # the system CAs: refused
        assert org.admin.calls()["total"] == 0  # the admin client trusts the CA too


def test_simple_salesforce_logs_in_and_queries_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch, proxied: Emulator
) -> None:
    _through_proxy(monkeypatch, proxied)

    # simple-salesforce's OAuth password flow posts to https://login.salesforce.com/services/oauth2/token.
    sf = Salesforce(
        username=oauth.USERNAME,
        password=oauth.PASSWORD + oauth.SECURITY_TOKEN,
        consumer_key=oauth.CLIENT_ID,
        consumer_secret=oauth.CLIENT_SECRET,
        version="62.0",
    )
    assert sf.sf_instance == oauth.MY_DOMAIN
    result = sf.query_all("SELECT Id, Name FROM Account ORDER BY Id")
    assert result["totalSize"] == 30
    assert [r["Id"] for r in result["records"]] == [r["Id"] for r in proxied.admin.records("Account")]
    created = sf.Contact.create({"LastName": "Through the proxy"})
    assert sf.Contact.get(created["id"])["LastName"] == "Through the proxy"


def test_simple_salesforce_default_soap_login_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch, proxied: Emulator
) -> None:
    _through_proxy(monkeypatch, proxied)

    # No consumer key: simple-salesforce's default, the SOAP login call on https://login.salesforce.com.
    sf = Salesforce(
        username=oauth.USERNAME, password=oauth.PASSWORD, security_token=oauth.SECURITY_TOKEN, version="62.0"
    )

    assert sf.sf_instance == oauth.MY_DOMAIN
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 30
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        Salesforce(username=oauth.USERNAME, password=oauth.PASSWORD, security_token="wrong", version="62.0")  # noqa: S106


def test_sandbox_login_host_is_tunnelled_too(monkeypatch: pytest.MonkeyPatch, proxied: Emulator) -> None:
    _through_proxy(monkeypatch, proxied)
    form = {
        "grant_type": "refresh_token",
        "client_id": oauth.CLIENT_ID,
        "client_secret": oauth.CLIENT_SECRET,
        "refresh_token": oauth.REFRESH_TOKEN,
    }
    answer = requests.post("https://test.salesforce.com/services/oauth2/token", data=form, timeout=30).json()
    assert answer["instance_url"] == f"https://{oauth.MY_DOMAIN}"
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    listed = requests.get(answer["instance_url"] + "/services/data/v62.0/sobjects", headers=headers, timeout=30)
    assert listed.status_code == 200
    assert "Account" in {o["name"] for o in listed.json()["sobjects"]}


def _proxy_answer(org: Emulator, request: bytes) -> bytes:
    host, port = (org.proxy_url or "").removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    return data


def test_proxy_refuses_other_hosts_and_ports(proxied: Emulator) -> None:
    refused = _proxy_answer(proxied, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 403 ")
    assert b"only tunnels to login.salesforce.com" in refused
    wrong_port = _proxy_answer(proxied, b"CONNECT login.salesforce.com:80 HTTP/1.1\r\n\r\n")
    assert wrong_port.startswith(b"HTTP/1.1 403 ")
    plain = _proxy_answer(proxied, b"GET http://login.salesforce.com/ HTTP/1.1\r\nHost: login.salesforce.com\r\n\r\n")
    assert plain.startswith(b"HTTP/1.1 405 ")
    assert b"Allow: CONNECT" in plain


def test_proxy_tunnel_presents_a_certificate_for_the_requested_name(proxied: Emulator) -> None:
    host, port = (proxied.proxy_url or "").removeprefix("http://").split(":")
    context = ssl.create_default_context(cafile=proxied.ca_file)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"CONNECT acme.my.salesforce.com:443 HTTP/1.1\r\n\r\n")
        assert conn.recv(4096).startswith(b"HTTP/1.1 200 ")
        with context.wrap_socket(conn, server_hostname="acme.my.salesforce.com") as tls:
            assert tls.version() is not None  # the handshake verified the name against the emulator's CA


@pytest.mark.parametrize(
    ("host", "tunnelled"),
    [
        ("login.salesforce.com", True),
        ("TEST.salesforce.com", True),
        ("acme.my.salesforce.com", True),
        ("a.b.my.salesforce.com", False),
        (".my.salesforce.com", False),
        ("salesforce.com", False),
        ("login.salesforce.com.evil.example", False),
    ],
)
def test_which_hosts_are_tunnelled(host: str, tunnelled: bool) -> None:
    assert tunnels_to_emulator(host) is tunnelled


def test_header_names_are_spelled_as_salesforce_sends_them(proxied: Emulator) -> None:
    """A client may copy headers into a plain dict and look them up by Salesforce's spelling (Airbyte's CDK does)."""
    http = proxied.admin.http
    token = proxied.access_token()
    headers = {"Authorization": f"Bearer {token}"}
    answer = http.get(proxied.url + "/services/data/v62.0/limits", headers=headers, timeout=30)
    assert {"Content-Type", "Content-Length", "Sforce-Limit-Info"} <= set(dict(answer.headers))
    job = http.post(
        proxied.url + "/services/data/v62.0/jobs/query",
        json={"operation": "query", "query": "SELECT Id FROM Account"},
        headers=headers,
        timeout=30,
    ).json()
    while (
        http.get(f"{proxied.url}/services/data/v62.0/jobs/query/{job['id']}", headers=headers, timeout=30).json()[
            "state"
        ]
        != "JobComplete"
    ):
        pass
    results = http.get(f"{proxied.url}/services/data/v62.0/jobs/query/{job['id']}/results", headers=headers, timeout=30)
    assert {"Content-Type", "Sforce-Locator", "Sforce-NumberOfRecords"} <= set(dict(results.headers))
    refused = http.get(proxied.url + "/services/data/v62.0/limits", timeout=30)
    assert "WWW-Authenticate" in dict(refused.headers)

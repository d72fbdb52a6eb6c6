"""TLS: certificates are verified by default, and plain http is accepted only for loopback addresses."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from reliability_harness import SOURCE, TALLY, scan
from reliability_harness import run as run_connector
from salesforce_api import connect
from salesforce_api.errors import ConfigError
from salesforce_emulator.app import create_app
from salesforce_emulator.org import Config, Org


def self_signed(folder: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def https_org(tmp_path: Path) -> Iterator[str]:
    """The emulated org served over https with a self-signed certificate: https://localhost:PORT."""
    cert, key = self_signed(tmp_path)
    org = Org(None, Config())
    org.seed_data("demo", 1)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(org), log_level="warning", lifespan="off", ssl_certfile=cert, ssl_keyfile=key)
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"https://localhost:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    org.close()


def credentials(login_url: str, org=None) -> dict:
    base = (
        org.credentials("username_password")
        if org
        else {
            "auth_type": "username_password",
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "username": "admin@example.com",
            "password": "emulator-password",
            "security_token": "EMULATORTOKEN",
        }
    )
    return {**base, "login_url": login_url}


def test_session_verifies_certificates_by_default(org) -> None:
    session = connect(org.credentials())
    assert session.http.verify is True


def test_self_signed_certificate_is_refused_with_a_clear_error(https_org: str) -> None:
    creds = credentials(https_org)
    with pytest.raises(ConfigError) as refused:
        connect(creds).ensure_logged_in()
    message = str(refused.value)
    assert "certificate" in message.lower() or "ssl" in message.lower(), message
    scan({"exception": message + repr(refused.value)}, {"credentials": creds}, None)
    TALLY["TLS refusals checked"] += 1


def test_source_check_against_a_self_signed_certificate_fails_clearly(https_org: str) -> None:
    config = {"credentials": credentials(https_org)}
    result = run_connector(SOURCE, "check", config=config)
    (status,) = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")] or [None]
    said = (status or {}).get("message", "") + " ".join(e["message"] for e in result.errors)
    assert (status and status["status"] == "FAILED") or result.returncode != 0, result.describe()
    assert "certificate" in said.lower() or "ssl" in said.lower(), said
    TALLY["TLS refusals checked"] += 1


@pytest.mark.parametrize(
    "login_url",
    ["http://login.salesforce.com", "http://localhost.example.com", "http://127.0.0.1.nip.io", "http://10.0.0.1"],
)
def test_plain_http_is_refused_outside_loopback(login_url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        connect(credentials(login_url)).ensure_logged_in()
    assert "https" in str(refused.value)
    TALLY["TLS refusals checked"] += 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_http_works_for_loopback(org, host: str) -> None:
    url = org.url.replace("127.0.0.1", host)
    session = connect(credentials(url, org))
    session.ensure_logged_in()
    assert session.instance_url

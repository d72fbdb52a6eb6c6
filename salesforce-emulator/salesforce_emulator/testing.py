"""Run an emulated org in this process for tests: `with Emulator() as org: ...`.

uvicorn serves the app from a background thread on a free port of 127.0.0.1; `admin` drives the admin API.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
import time
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salesforce_emulator import oauth
from salesforce_emulator.app import create_app
from salesforce_emulator.org import Config, Org
from salesforce_emulator.server import EmulatorServer, config, listen
from salesforce_emulator.tls import Certificates, make_certificates

FLOWS = ("username_password", "refresh_token", "client_credentials", "jwt_bearer")


@functools.cache
def jwt_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM), made once per process: RSA key generation is the slow part of a start."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class Admin:
    """A small client for the admin API (/__emulator/...)."""

    def __init__(self, url: str, verify: str | bool = True) -> None:
        self.base = url + "/__emulator"
        self.http = requests.Session()
        self.http.verify = verify
        self.http.trust_env = False  # straight to the org, whatever HTTPS_PROXY a test sets for its client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.base + path, timeout=120, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def calls(self) -> dict[str, Any]:
        return self._call("GET", "/calls")

    def reset_calls(self) -> None:
        self._call("DELETE", "/calls")

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        return self._call("POST", "/faults", json=spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self._call("PUT", "/config", json=settings)

    def bulk(self, **settings: Any) -> dict[str, Any]:
        """Change Bulk API settings (`query_page_size`, `processing_delay`, ...); all of them afterwards."""
        return self._call("PUT", "/bulk", json=settings)

    def latency(self, **settings: Any) -> dict[str, Any]:
        """Change the latency profile (`profile="production"`, and/or single values); the profile now in force."""
        return self._call("PUT", "/latency", json=settings)

    def add_field(self, sobject: str, name: str, type: str, **spec: Any) -> dict[str, Any]:  # noqa: A002
        return self._call("POST", f"/schema/{sobject}/fields", json={"name": name, "type": type, **spec})

    def remove_field(self, sobject: str, name: str) -> None:
        self._call("DELETE", f"/schema/{sobject}/fields/{name}")

    def add_object(self, name: str, fields: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
        return self._call("POST", "/schema/objects", json={"name": name, "fields": fields or [], **spec})

    def add_generic_objects(self, count: int, prefix: str = "Bench") -> list[dict[str, Any]]:
        """`prefix01__c` ...: custom objects of a dozen typical fields each (see generic_objects.py)."""
        return self._call("POST", "/schema/generic-objects", json={"prefix": prefix, "count": count})

    def records(self, sobject: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/records/{sobject}")

    def generate(self, sobject: str, count: int, stamp: str | None = None) -> list[str]:
        """`count` more generated records; with `stamp`, one data load: all created and modified at that second."""
        body: dict[str, Any] = {"count": count} if stamp is None else {"count": count, "stamp": stamp}
        return self._call("POST", f"/records/{sobject}/generate", json=body)["ids"]

    def events(self, name: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/events/{name}")

    def clear_events(self, name: str) -> None:
        self._call("DELETE", f"/events/{name}")


class Emulator:
    """An emulated org served on 127.0.0.1 from a background thread; a context manager."""

    def __init__(
        self,
        seed: str = "demo",
        records: int = 20,
        *,
        db_path: str | None = None,
        token_ttl_seconds: float = 7200,
        daily_api_limit: int = 15000,
        rest_page_size: int = 2000,
        query_timeout_rows: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        proxy: bool = False,
        profile: str = "default",
    ) -> None:
        self._private_key, public_key = jwt_key_pair()
        config = Config(
            token_ttl_seconds=token_ttl_seconds,
            daily_api_limit=daily_api_limit,
            rest_page_size=rest_page_size,
            query_timeout_rows=query_timeout_rows,
            jwt_public_key=public_key,
        )
        self.org = Org(db_path, config)
        self.org.latency.configure({"profile": profile})
        self.org.seed_data(seed, records)
        self._host, self._port = host, port
        self._tls = tls or proxy  # the proxy tunnels https to the emulator, so it needs the emulator on https
        self._proxy = proxy
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._cert_dir: str | None = None
        self.certificates: Certificates | None = None
        self.url = ""
        self.ca_file: str | None = None  # the CA bundle clients trust (REQUESTS_CA_BUNDLE), with tls or proxy
        self.proxy_url: str | None = None  # HTTPS_PROXY for clients with hard-coded Salesforce hosts, with proxy
        self.admin: Admin

    def start(self) -> Emulator:
        sock = listen(self._host, self._port)
        port = sock.getsockname()[1]
        proxy_sock = listen(self._host, 0) if self._proxy else None
        if self._tls:
            self._cert_dir = tempfile.mkdtemp(prefix="sf-emulator-tls-")
            self.certificates = make_certificates(self._cert_dir, (self._host, "localhost"))
            self.ca_file = str(self.certificates.ca_file)
        self._app = create_app(self.org)
        self._server = EmulatorServer(config(self._app, self.certificates), proxy_sock)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"salesforce-emulator-{port}"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)
        self.url = f"{'https' if self._tls else 'http'}://{self._host}:{port}"
        if proxy_sock is not None:
            self.proxy_url = f"http://{self._host}:{proxy_sock.getsockname()[1]}"
        self.admin = Admin(self.url, self.ca_file or True)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
        registry = getattr(self._app.app.state, "bulk", None) if hasattr(self, "_app") else None
        if registry is not None:  # Bulk job results live in a temporary folder until the registry closes
            registry.close()
        self.org.close()
        if self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)
            self._cert_dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Emulator(url={self.url!r})"

    def credentials(self, flow: str = "username_password") -> dict[str, Any]:
        """A credentials mapping for salesforce_api / the connectors (keys per salesforce-api/README.md)."""
        common = {"auth_type": flow, "login_url": self.url, "client_id": oauth.CLIENT_ID}
        if flow == "username_password":
            return {
                **common,
                "client_secret": oauth.CLIENT_SECRET,
                "username": oauth.USERNAME,
                "password": oauth.PASSWORD,
                "security_token": oauth.SECURITY_TOKEN,
            }
        if flow == "refresh_token":
            return {**common, "client_secret": oauth.CLIENT_SECRET, "refresh_token": oauth.REFRESH_TOKEN}
        if flow == "client_credentials":
            return {**common, "client_secret": oauth.CLIENT_SECRET}
        if flow == "jwt_bearer":
            return {**common, "username": oauth.USERNAME, "private_key": self._private_key}
        raise ValueError(f"unknown flow {flow!r}; one of {FLOWS}")

    def access_token(self) -> str:
        """Log in with the password flow and return a fresh access token (for raw-request tests)."""
        creds = self.credentials("username_password")
        response = self.admin.http.post(  # the admin session: straight to the org, trusting its CA
            self.url + "/services/oauth2/token",
            timeout=30,
            data={
                "grant_type": "password",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "username": creds["username"],
                "password": creds["password"] + creds["security_token"],
            },
        )
        response.raise_for_status()
        return response.json()["access_token"]

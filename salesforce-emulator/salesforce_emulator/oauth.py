"""The OAuth 2.0 token endpoint: four grants, Salesforce's success and error bodies, expiring access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import Response

from salesforce_emulator.jsonresp import json_response
from salesforce_emulator.proxy import LOGIN_HOSTS

CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"  # noqa: S105 - a fixed test-only credential of the local org
USERNAME = "admin@example.com"
PASSWORD = "emulator-password"  # noqa: S105
SECURITY_TOKEN = "EMULATORTOKEN"  # noqa: S105
REFRESH_TOKEN = "emulator-refresh-token"  # noqa: S105
ORG_ID = "00D8d0000000001EAA"
# The org's My Domain: the instance_url of a login made through Salesforce's login hosts (via the CONNECT proxy).
MY_DOMAIN = "emulator.my.salesforce.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Session:
    user_id: str
    expires_at: float


class TokenStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str, ttl: float) -> str:
        token = f"{ORG_ID[:15]}!" + secrets.token_urlsafe(48)
        with self._lock:
            self._sessions[token] = Session(user_id, time.time() + ttl)
        return token

    def check(self, token: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires_at <= time.time():
                del self._sessions[token]
                return None
            return session

    def revoke(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def revoke_all(self) -> None:
        with self._lock:
            self._sessions.clear()


def _error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


async def token_endpoint(request: Request) -> Response:
    org = request.app.state.org
    # The token call is a urlencoded form; the standard library reads it (no multipart support needed).
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    grant = form.get("grant_type")
    base_url = str(request.base_url).rstrip("/")
    instance_url = f"https://{MY_DOMAIN}" if request.url.hostname in LOGIN_HOSTS else base_url
    if grant == "password":
        if form.get("client_id") != CLIENT_ID:
            return _error("invalid_client_id", "client identifier invalid")
        if form.get("client_secret") != CLIENT_SECRET:
            return _error("invalid_client", "invalid client credentials")
        if form.get("username") != USERNAME or form.get("password") != PASSWORD + SECURITY_TOKEN:
            return _error("invalid_grant", "authentication failure")
    elif grant == "refresh_token":
        if form.get("client_id") != CLIENT_ID:
            return _error("invalid_client_id", "client identifier invalid")
        if form.get("client_secret") not in (None, CLIENT_SECRET):
            return _error("invalid_client", "invalid client credentials")
        if form.get("refresh_token") != REFRESH_TOKEN:
            return _error("invalid_grant", "expired access/refresh token")
    elif grant == "client_credentials":
        if form.get("client_id") != CLIENT_ID:
            return _error("invalid_client_id", "client identifier invalid")
        if form.get("client_secret") != CLIENT_SECRET:
            return _error("invalid_client", "invalid client credentials")
    elif grant == JWT_GRANT:
        problem = _check_assertion(str(form.get("assertion") or ""), org.config.jwt_public_key)
        if problem:
            return _error("invalid_grant", problem)
    else:
        return _error("unsupported_grant_type", "grant type not supported")

    user_id = org.api_user_id
    token = org.tokens.issue(user_id, org.config.token_ttl_seconds)
    issued_at = str(int(time.time() * 1000))
    identity = f"{base_url}/id/{ORG_ID}/{user_id}"
    signature = base64.b64encode(
        hmac.new(CLIENT_SECRET.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body = {
        "access_token": token,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
    }
    if grant == "refresh_token":
        body["scope"] = "refresh_token full"
    return json_response(body)


def _check_assertion(assertion: str, public_key: str | None) -> str | None:
    """Why a JWT bearer assertion is refused (Salesforce's error_description), or None when it is good."""
    if not public_key:
        return "invalid assertion"
    try:
        claims = jwt.decode(
            assertion,
            public_key,
            algorithms=["RS256"],
            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        return "expired authorization code"
    except jwt.PyJWTError:
        return "invalid assertion"
    if claims.get("iss") != CLIENT_ID:
        return "invalid client credentials"
    if claims.get("sub") != USERNAME:
        return "user hasn't approved this consumer"
    return None

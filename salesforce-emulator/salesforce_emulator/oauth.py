"""OAuth 2.0: the token endpoint (five grants, Salesforce's success and error bodies, expiring access tokens) and the
authorize endpoint of the web-server flow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

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
CODE_TTL_SECONDS = 15 * 60  # Salesforce's authorization codes are good for 15 minutes, once
DEFAULT_SCOPE = "refresh_token full"


@dataclass
class Session:
    user_id: str
    expires_at: float


@dataclass
class Grant:
    """What an authorization code stands for (the API user's approval), until the client redeems it."""

    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str
    expires_at: float


class TokenStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._codes: dict[str, Grant] = {}
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

    def issue_code(self, grant: Grant) -> str:
        code = "aPrx" + secrets.token_urlsafe(40)
        with self._lock:
            self._codes[code] = grant
        return code

    def redeem_code(self, code: str) -> Grant | None:
        """The grant of a code (once: a code is gone after its first use, good or bad)."""
        with self._lock:
            return self._codes.pop(code, None)


def instance_url(request: Request) -> str:
    """The org's URL for a client: its My Domain when it came in through a login host (via the proxy)."""
    base_url = str(request.base_url).rstrip("/")
    return f"https://{MY_DOMAIN}" if request.url.hostname in LOGIN_HOSTS else base_url


def _error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


async def token_endpoint(request: Request) -> Response:
    org = request.app.state.org
    # The token call is a urlencoded form; the standard library reads it (no multipart support needed). Salesforce
    # also takes the parameters in the query string of the POST (as Airbyte's declarative OAuth sends them); the
    # form wins where both name one.
    body = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    form = {**dict(request.query_params), **body}
    grant = form.get("grant_type")
    base_url = str(request.base_url).rstrip("/")
    scope = None
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
    elif grant == "authorization_code":
        redeemed = _redeem(form, org.tokens)
        if isinstance(redeemed, Response):
            return redeemed
        scope = redeemed.scope
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
        "instance_url": instance_url(request),
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
    }
    if grant == "refresh_token":
        body["scope"] = DEFAULT_SCOPE
    if scope is not None:  # the web-server flow: a refresh token for later logins, and the scope granted
        body = {"access_token": token, "refresh_token": REFRESH_TOKEN, **body}
        body["scope"] = scope
    return json_response(body)


def _redeem(form: dict[str, str], tokens: TokenStore) -> Grant | Response:
    """The grant behind an authorization code sent to the token endpoint, or Salesforce's refusal."""
    if form.get("client_id") != CLIENT_ID:
        return _error("invalid_client_id", "client identifier invalid")
    verifier = form.get("code_verifier")
    if form.get("client_secret") not in (None, CLIENT_SECRET) or (form.get("client_secret") is None and not verifier):
        return _error("invalid_client", "invalid client credentials")
    grant = tokens.redeem_code(form.get("code") or "")
    if grant is None:
        return _error("invalid_grant", "invalid authorization code")
    if grant.expires_at <= time.time():
        return _error("invalid_grant", "expired authorization code")
    if form.get("redirect_uri") != grant.redirect_uri:
        return _error("redirect_uri_mismatch", "redirect_uri must match configuration")
    if grant.code_challenge is not None:
        if not verifier:
            return _error("invalid_grant", "invalid code verifier")
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = (
            base64.urlsafe_b64encode(digest).decode().rstrip("=") if grant.code_challenge_method == "S256" else verifier
        )
        if not hmac.compare_digest(expected, grant.code_challenge):
            return _error("invalid_grant", "invalid code verifier")
    return grant


async def authorize_endpoint(request: Request) -> Response:
    """The web-server flow's authorization step: the API user approves at once, and the browser is sent back to
    `redirect_uri` with `code` (and the client's `state`)."""
    org = request.app.state.org
    params = request.query_params
    if params.get("client_id") != CLIENT_ID:
        return _error("invalid_client_id", "client identifier invalid")
    redirect_uri = params.get("redirect_uri") or ""
    if urlsplit(redirect_uri).scheme not in {"http", "https"}:
        return _error("redirect_uri_mismatch", "redirect_uri must match configuration")
    answer: dict[str, str] = {}
    method = params.get("code_challenge_method") or "plain"
    if params.get("response_type") != "code":
        answer = {"error": "unsupported_response_type", "error_description": "response type not supported"}
    elif method not in {"S256", "plain"}:
        answer = {"error": "invalid_request", "error_description": "invalid code_challenge_method"}
    else:
        grant = Grant(
            redirect_uri=redirect_uri,
            scope=params.get("scope") or DEFAULT_SCOPE,
            code_challenge=params.get("code_challenge"),
            code_challenge_method=method,
            expires_at=time.time() + CODE_TTL_SECONDS,
        )
        answer = {"code": org.tokens.issue_code(grant)}
    if "state" in params:
        answer["state"] = params["state"]
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(answer), status_code=302)


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

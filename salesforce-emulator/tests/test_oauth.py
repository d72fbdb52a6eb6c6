"""The token endpoint: every grant's success body, and Salesforce's error bodies."""

from __future__ import annotations

import time

import jwt
import requests
from salesforce_emulator import oauth
from salesforce_emulator.testing import Emulator

SUCCESS_KEYS = {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}


def token(org: Emulator, **form: str) -> requests.Response:
    return requests.post(org.url + "/services/oauth2/token", data=form, timeout=30)


def password_form(org: Emulator, **override: str) -> dict[str, str]:
    creds = org.credentials("username_password")
    form = {
        "grant_type": "password",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "username": creds["username"],
        "password": creds["password"] + creds["security_token"],
    }
    return {**form, **override}


def test_password_grant_body_is_exactly_salesforces(emulator: Emulator) -> None:
    response = token(emulator, **password_form(emulator))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == SUCCESS_KEYS
    assert body["token_type"] == "Bearer"  # noqa: S105 - the token type, not a secret
    assert body["instance_url"] == emulator.url
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert "sforce-limit-info" not in response.headers


def test_password_without_security_token_is_invalid_grant(emulator: Emulator) -> None:
    response = token(emulator, **password_form(emulator, password=oauth.PASSWORD))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_unknown_client_id(emulator: Emulator) -> None:
    response = token(emulator, **password_form(emulator, client_id="nope"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_id"


def test_refresh_token_grant(emulator: Emulator) -> None:
    creds = emulator.credentials("refresh_token")
    ok = token(
        emulator,
        grant_type="refresh_token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
    )
    assert ok.status_code == 200 and ok.json()["scope"] == "refresh_token full"
    bad = token(
        emulator,
        grant_type="refresh_token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token="wrong",  # noqa: S106 - a deliberately wrong value
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_client_credentials_grant(emulator: Emulator) -> None:
    creds = emulator.credentials("client_credentials")
    ok = token(
        emulator, grant_type="client_credentials", client_id=creds["client_id"], client_secret=creds["client_secret"]
    )
    assert ok.status_code == 200 and set(ok.json()) == SUCCESS_KEYS
    bad = token(emulator, grant_type="client_credentials", client_id=creds["client_id"], client_secret="wrong")  # noqa: S106
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"


def _assertion(creds: dict, **claims: object) -> str:
    body = {
        "iss": creds["client_id"],
        "sub": creds["username"],
        "aud": creds["login_url"],
        "exp": int(time.time()) + 180,
        **claims,
    }
    return jwt.encode(body, creds["private_key"], algorithm="RS256")


def test_jwt_bearer_grant(emulator: Emulator) -> None:
    creds = emulator.credentials("jwt_bearer")
    ok = token(emulator, grant_type=oauth.JWT_GRANT, assertion=_assertion(creds))
    assert ok.status_code == 200 and set(ok.json()) == SUCCESS_KEYS
    expired = token(emulator, grant_type=oauth.JWT_GRANT, assertion=_assertion(creds, exp=int(time.time()) - 60))
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"
    forged = jwt.encode(
        {"iss": creds["client_id"], "sub": creds["username"], "aud": "x", "exp": 2**31},
        "not-the-registered-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert token(emulator, grant_type=oauth.JWT_GRANT, assertion=forged).json()["error"] == "invalid_grant"


def test_unsupported_grant(emulator: Emulator) -> None:
    response = token(emulator, grant_type="urn:ietf:params:oauth:grant-type:saml2-bearer")
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type", "error_description": "grant type not supported"}


def test_token_expiry_gives_invalid_session_with_www_authenticate(emulator_factory) -> None:
    org = emulator_factory(records=1, token_ttl_seconds=0.3)
    access = org.access_token()
    headers = {"Authorization": f"Bearer {access}"}
    url = org.url + "/services/data/v62.0/limits"
    assert requests.get(url, headers=headers, timeout=30).status_code == 200
    time.sleep(0.4)
    expired = requests.get(url, headers=headers, timeout=30)
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == "Token"
    assert expired.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_credentials_never_show_in_repr(emulator: Emulator) -> None:
    assert oauth.PASSWORD not in repr(emulator)

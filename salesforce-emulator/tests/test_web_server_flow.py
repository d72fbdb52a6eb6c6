"""The OAuth web-server flow: /services/oauth2/authorize redirects with a code, the token endpoint redeems it once."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import requests
from salesforce_emulator import oauth
from salesforce_emulator.testing import Emulator

CALLBACK = "https://app.example.com/oauth/callback"
VERIFIER = "a-verifier-of-at-least-forty-three-characters-0123456789"


def authorize(org: Emulator, **params: str) -> requests.Response:
    query = {"response_type": "code", "client_id": oauth.CLIENT_ID, "redirect_uri": CALLBACK, **params}
    return requests.get(org.url + "/services/oauth2/authorize", params=query, allow_redirects=False, timeout=30)


def redirected(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def redeem(org: Emulator, code: str, **form: str) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": oauth.CLIENT_ID,
        "client_secret": oauth.CLIENT_SECRET,
        "redirect_uri": CALLBACK,
        **form,
    }
    return requests.post(org.url + "/services/oauth2/token", data=data, timeout=30)


def test_code_is_exchanged_for_access_and_refresh_tokens(emulator: Emulator) -> None:
    answer = redirected(authorize(emulator, state="xyz", scope="api refresh_token"))
    assert answer["state"] == "xyz"

    token = redeem(emulator, answer["code"])

    assert token.status_code == 200
    body = token.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["scope"] == "api refresh_token"
    assert body["instance_url"] == emulator.url
    listed = requests.get(
        body["instance_url"] + "/services/data/v62.0/sobjects",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=30,
    )
    assert listed.status_code == 200
    refreshed = requests.post(
        emulator.url + "/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": oauth.CLIENT_ID,
            "client_secret": oauth.CLIENT_SECRET,
            "refresh_token": body["refresh_token"],
        },
        timeout=30,
    )
    assert refreshed.status_code == 200


def test_a_code_works_once(emulator: Emulator) -> None:
    code = redirected(authorize(emulator))["code"]
    assert redeem(emulator, code).status_code == 200
    again = redeem(emulator, code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "invalid authorization code"}


def test_redirect_uri_must_match_the_authorize_call(emulator: Emulator) -> None:
    code = redirected(authorize(emulator))["code"]
    answer = redeem(emulator, code, redirect_uri="https://elsewhere.example.com/cb")
    assert answer.status_code == 400
    assert answer.json()["error"] == "redirect_uri_mismatch"


def test_pkce_s256_verifier_is_checked(emulator: Emulator) -> None:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
    code = redirected(authorize(emulator, code_challenge=challenge, code_challenge_method="S256"))["code"]
    wrong = redeem(emulator, code, code_verifier="not-the-verifier")
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}

    code = redirected(authorize(emulator, code_challenge=challenge, code_challenge_method="S256"))["code"]
    data = {  # no client_secret: a PKCE client may leave it out
        "grant_type": "authorization_code",
        "code": code,
        "client_id": oauth.CLIENT_ID,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
    }
    assert requests.post(emulator.url + "/services/oauth2/token", data=data, timeout=30).status_code == 200


def test_authorize_refusals(emulator: Emulator) -> None:
    unknown = authorize(emulator, client_id="nope")
    assert unknown.status_code == 400  # an unknown client is never redirected
    assert unknown.json()["error"] == "invalid_client_id"
    no_callback = authorize(emulator, redirect_uri="")
    assert no_callback.status_code == 400
    assert no_callback.json()["error"] == "redirect_uri_mismatch"
    assert redirected(authorize(emulator, response_type="token", state="s")) == {
        "error": "unsupported_response_type",
        "error_description": "response type not supported",
        "state": "s",
    }


def test_wrong_client_secret_is_refused(emulator: Emulator) -> None:
    code = redirected(authorize(emulator))["code"]
    answer = redeem(emulator, code, client_secret="wrong")  # noqa: S106 - a wrong value on purpose
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}

"""The identity URL a token answer points at, and OpenID Connect userinfo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from salesforce_emulator import oauth
from salesforce_emulator.testing import Emulator


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    with Emulator(records=2) as started:
        yield started


def login(org: Emulator) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": oauth.CLIENT_ID, "client_secret": oauth.CLIENT_SECRET}
    return requests.post(org.url + "/services/oauth2/token", data=form, timeout=30).json()


def test_the_id_of_a_token_answer_is_the_users_identity(org: Emulator) -> None:
    answer = login(org)
    identity = requests.get(answer["id"], headers={"Authorization": f"Bearer {answer['access_token']}"}, timeout=30)

    assert identity.status_code == 200
    body = identity.json()
    assert body["id"] == answer["id"]
    assert body["organization_id"] == oauth.ORG_ID
    assert answer["id"].endswith(f"/id/{oauth.ORG_ID}/{body['user_id']}")
    assert body["username"] == oauth.USERNAME
    assert body["asserted_user"] is True
    assert body["active"] is True
    assert body["urls"]["rest"] == answer["instance_url"] + "/services/data/v{version}/"
    assert body["urls"]["custom_domain"] == answer["instance_url"]


def test_identity_urls_carry_the_requested_version_and_accept_oauth_token(org: Emulator) -> None:
    answer = login(org)
    body = requests.get(answer["id"], params={"version": "62.0", "oauth_token": answer["access_token"]}, timeout=30)
    assert body.status_code == 200
    assert body.json()["urls"]["query"] == answer["instance_url"] + "/services/data/v62.0/query/"


def test_userinfo_is_openid_connect_shaped(org: Emulator) -> None:
    answer = login(org)
    info = requests.get(
        org.url + "/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {answer['access_token']}"},
        timeout=30,
    )
    assert info.status_code == 200
    body = info.json()
    assert body["sub"] == answer["id"]
    assert body["preferred_username"] == oauth.USERNAME
    assert body["organization_id"] == oauth.ORG_ID
    assert body["updated_at"].endswith("Z")
    assert {"email", "given_name", "family_name", "name", "zoneinfo", "locale", "urls"} <= set(body)


def test_a_bad_token_is_refused(org: Emulator) -> None:
    answer = login(org)
    for url in (answer["id"], org.url + "/services/oauth2/userinfo"):
        refused = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=30)
        assert (refused.status_code, refused.text) == (403, "Bad_OAuth_Token")
    other = answer["id"].rsplit("/", 1)[0] + "/005000000000099AAA"
    refused = requests.get(other, headers={"Authorization": f"Bearer {answer['access_token']}"}, timeout=30)
    assert refused.status_code == 403

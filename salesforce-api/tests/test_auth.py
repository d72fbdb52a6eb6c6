"""OAuth flows: the grant each one sends, login URL rules, and errors that name the setting to fix."""
# ruff: noqa: S105, S106, S107

from __future__ import annotations

from urllib.parse import parse_qs

import jwt
import pytest
import requests
import urllib3
from salesforce_api.auth import JwtBearer, Token, authenticator_from_config, check_url
from salesforce_api.errors import AuthenticationError, ConfigError, LoginUnreachableError, TransientError
from salesforce_emulator.testing import jwt_key_pair

from .conftest import INSTANCE, LOGIN, PASSWORD_CREDENTIALS

TOKEN_URL = LOGIN + "/services/oauth2/token"
SUCCESS = {"access_token": "secret-access", "instance_url": INSTANCE, "issued_at": "1700000000000"}


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[str, str]:
    return jwt_key_pair()


def sent_form(requests_mock) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(requests_mock.last_request.text).items()}


def test_password_grant_appends_the_security_token(requests_mock):
    requests_mock.post(TOKEN_URL, json=SUCCESS)
    token = authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())
    assert token.instance_url == INSTANCE
    assert token.issued_at == 1700000000.0
    form = sent_form(requests_mock)
    assert form["grant_type"] == "password"
    assert form["password"] == "password-valuetoken-value"
    assert form["client_secret"] == "client-secret-value"


def test_refresh_token_and_client_credentials_grants(requests_mock):
    requests_mock.post(TOKEN_URL, json=SUCCESS)
    base = {"login_url": LOGIN, "client_id": "cid", "client_secret": "cs"}
    authenticator_from_config({**base, "auth_type": "refresh_token", "refresh_token": "rt"}).login(requests.Session())
    assert sent_form(requests_mock) == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "cs",
        "refresh_token": "rt",
    }
    authenticator_from_config({**base, "auth_type": "client_credentials"}).login(requests.Session())
    assert sent_form(requests_mock) == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "cs"}


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        # A production My Domain login URL is never the audience: Salesforce expects login.salesforce.com.
        ("https://acme.my.salesforce.com/", "https://login.salesforce.com"),
        ("https://ACME.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme.my.site.com/customers", "https://acme.my.site.com/customers"),  # Experience Cloud site
        ("https://customers.force.com/partners", "https://customers.force.com/partners"),
        ("https://acme.lightning.force.com", "https://login.salesforce.com"),
        ("http://127.0.0.1:8443", "https://login.salesforce.com"),
    ],
)
def test_jwt_assertion_is_rs256_with_the_right_claims(rsa_pem, login_url, audience):
    private, public = rsa_pem
    auth = JwtBearer({"login_url": login_url, "client_id": "cid", "username": "u@x.com", "private_key": private})
    grant = auth.grant()
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(grant["assertion"], public, algorithms=["RS256"], audience=audience)
    assert claims["iss"] == "cid" and claims["sub"] == "u@x.com"
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_jwt_with_a_bad_key_names_the_setting_without_echoing_it():
    auth = JwtBearer({"client_id": "cid", "username": "u", "private_key": "not-a-key-SECRETMATERIAL"})
    with pytest.raises(ConfigError) as caught:
        auth.grant()
    assert caught.value.setting == "credentials.private_key"
    assert "SECRETMATERIAL" not in str(caught.value)


@pytest.mark.parametrize(
    ("error", "setting"),
    [
        ("invalid_grant", "credentials.password"),
        ("invalid_client_id", "credentials.client_id"),
        ("invalid_client", "credentials.client_secret"),
        ("unsupported_grant_type", "credentials.auth_type"),
    ],
)
def test_token_failures_name_the_setting_and_hide_secrets(requests_mock, error, setting):
    requests_mock.post(TOKEN_URL, status_code=400, json={"error": error, "error_description": "authentication failure"})
    with pytest.raises(AuthenticationError) as caught:
        authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())
    assert caught.value.setting == setting
    assert error in str(caught.value)
    assert setting.split(".")[1] in str(caught.value)
    for secret in ("password-value", "token-value", "client-secret-value"):
        assert secret not in str(caught.value)


def test_username_password_blocked_suggests_other_flows(requests_mock):
    requests_mock.post(TOKEN_URL, status_code=400, json={"error": "unsupported_grant_type"})
    with pytest.raises(AuthenticationError, match="client credentials or JWT bearer in the setting"):
        authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())


def test_unreachable_login_url_is_transient_naming_the_setting_and_a_foreign_one_is_a_config_error(requests_mock):
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    requests_mock.post(TOKEN_URL, exc=requests.exceptions.ConnectionError(refused))
    with pytest.raises(LoginUnreachableError, match="cannot be reached") as caught:
        authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())
    assert isinstance(caught.value, TransientError) and not isinstance(caught.value, ConfigError)
    assert caught.value.setting == "credentials.login_url" and "'credentials.login_url'" in str(caught.value)
    requests_mock.post(TOKEN_URL, status_code=200, text="<html>not salesforce</html>")
    with pytest.raises(ConfigError, match="did not answer like"):
        authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.")),
        requests.exceptions.ReadTimeout("read timed out"),
    ],
    ids=["reset", "slow"],
)
def test_a_reset_or_a_slow_token_endpoint_is_transient(requests_mock, exc):
    requests_mock.post(TOKEN_URL, exc=exc)
    with pytest.raises(TransientError, match="failed in transit"):
        authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())


@pytest.mark.parametrize(
    ("credentials", "causes"),
    [
        (PASSWORD_CREDENTIALS, ["security token", "locked out", "frozen", "blocked for the org", "Summer '23"]),
        (
            {**PASSWORD_CREDENTIALS, "auth_type": "refresh_token", "refresh_token": "refresh-value"},
            ["expired or was revoked", "locked out"],
        ),
    ],
)
def test_invalid_grant_says_what_it_can_mean_and_where_to_look(requests_mock, credentials, causes):
    requests_mock.post(
        TOKEN_URL, status_code=400, json={"error": "invalid_grant", "error_description": "authentication failure"}
    )
    with pytest.raises(AuthenticationError) as caught:
        authenticator_from_config(credentials).login(requests.Session())
    message = str(caught.value)
    for cause in [*causes, "login IP range", "Setup > Login History"]:
        assert cause in message, cause
    for secret in ("password-value", "token-value", "client-secret-value"):
        assert secret not in message


def test_token_endpoint_outage_is_transient(requests_mock):
    requests_mock.post(TOKEN_URL, status_code=503, text="down")
    with pytest.raises(TransientError):
        authenticator_from_config(PASSWORD_CREDENTIALS).login(requests.Session())


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8443", "http://localhost:1", "http://[::1]:80", "https://acme.my.salesforce.com"]
)
def test_allowed_login_urls(url):
    assert check_url(url + "/", "credentials.login_url") == url


@pytest.mark.parametrize(
    "url", ["http://login.salesforce.com", "http://10.0.0.1", "ftp://x", "login.salesforce.com", ""]
)
def test_refused_login_urls(url):
    with pytest.raises(ConfigError):
        check_url(url, "credentials.login_url")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://127.0.0.1:8443", "http://127.0.0.1:8443"),
        ("  https://acme.my.salesforce.com/ \n", "https://acme.my.salesforce.com"),
        ("HTTPS://Acme.my.salesforce.com", "https://Acme.my.salesforce.com"),
    ],
)
def test_capitals_and_surrounding_spaces_simply_work(url, expected):
    assert check_url(url, "credentials.login_url") == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://..", "no valid host name"),
        ("https://a..salesforce.com", "no valid host name"),
        (f"https://{'a' * 64}.salesforce.com", "no valid host name"),
        ("https://login salesforce.com", "no valid host name"),
        ("https://-acme.my.salesforce.com", "no valid host name"),
        ("https://login.salesforce.com:99999", "port"),
        ("https://login.salesforce.com:44x", "port"),
        ("https://login.salesforce.com:0", "port"),
        ("https://login.salesforce.com:", "port"),
        ("https://[::1", "must be a URL"),
        ("https://login.salesforce.com/services/oauth2/token", "without a path"),
        ("https://login.salesforce.com?x=1", "without a path"),
    ],
)
def test_malformed_hosts_and_ports_are_named_config_errors(url, words):
    with pytest.raises(ConfigError, match="credentials.login_url") as caught:
        check_url(url, "credentials.login_url")
    assert words in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:Pass-In-Url-99@login.salesforce.com",
        "https://admin:Pass-In-Url-99@login.salesforce.com:99999",
        "HTTP://admin:Pass-In-Url-99@127.0.0.1:1",
        "ftp://admin:Pass-In-Url-99@x",
        "admin:Pass-In-Url-99@login.salesforce.com",
    ],
)
def test_a_password_in_the_login_url_is_refused_and_never_echoed(url):
    credentials = {**PASSWORD_CREDENTIALS, "login_url": url}
    with pytest.raises(ConfigError, match="credentials.login_url") as caught:
        authenticator_from_config(credentials)
    assert "Pass-In-Url-99" not in str(caught.value) and "admin" not in str(caught.value)


def test_missing_settings_and_unknown_auth_type():
    with pytest.raises(ConfigError, match="credentials.password"):
        authenticator_from_config({k: v for k, v in PASSWORD_CREDENTIALS.items() if k != "password"})
    with pytest.raises(ConfigError, match="auth_type"):
        authenticator_from_config({"auth_type": "magic"})


def test_reprs_hide_secrets():
    token = Token(access_token="secret-access", instance_url=INSTANCE, issued_at=1.0)
    auth = authenticator_from_config(PASSWORD_CREDENTIALS)
    assert "secret-access" not in repr(token) and "secret-access" not in str(token)
    assert "password-value" not in repr(auth) and "client-secret-value" not in repr(auth)

"""OAuth 2.0 flows that turn a credentials mapping into an access token and the org's instance URL."""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from salesforce_api.errors import AuthenticationError, ConfigError, LoginUnreachableError, TransientError
from salesforce_api.transport import reached_server

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 (a URL path, not a secret)
# Salesforce accepts assertions valid for a few minutes at most.
JWT_LIFETIME_SECONDS = 180
TOKEN_TIMEOUT = (10, 60)


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    instance_url: str
    issued_at: float

    def __repr__(self) -> str:
        return f"Token(access_token='***', instance_url={self.instance_url!r}, issued_at={self.issued_at!r})"


def check_url(url: str, setting: str) -> str:
    """The base URL `url` names, as `scheme://host[:port]` (and an Experience Cloud site's path prefix): https, or
    http only for this machine (the emulator).

    Surrounding spaces and a scheme in capitals are fine. Errors never quote the value: it may hold a password
    (`https://user:password@host`, which is refused).
    """
    text = str(url or "").strip()
    example = "a URL such as https://login.salesforce.com"
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed IPv6 bracket
        raise ConfigError(f"The setting '{setting}' must be {example}.", setting=setting) from None
    if "@" in parts.netloc:
        raise ConfigError(
            f"The setting '{setting}' must not hold a user name or password (user:password@): the URL is only where "
            "to log in; credentials go in their own settings.",
            setting=setting,
        )
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"The setting '{setting}' must be {example}.", setting=setting)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or (port is None and parts.netloc.endswith(":")):
        raise ConfigError(
            f"The setting '{setting}' has a port that is not a number from 1 to 65535 (or leave the port out).",
            setting=setting,
        )
    host = parts.hostname or ""
    if not _valid_host(host):
        raise ConfigError(
            f"The setting '{setting}' has no valid host name: {example}, or your My Domain URL "
            "(letters, digits and hyphens between dots, at most 63 characters between two dots).",
            setting=setting,
        )
    path = parts.path.rstrip("/")
    # An Experience Cloud site logs in under its path prefix (https://acme.my.site.com/customers); nothing else has one.
    if (path and not _is_site(host)) or parts.query or parts.fragment:
        raise ConfigError(
            f"The setting '{setting}' must be the server's address only ({example}), without a path or query "
            "(a path only for an Experience Cloud site, such as https://acme.my.site.com/customers).",
            setting=setting,
        )
    if scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"The setting '{setting}' must use https:// (plain http is only allowed for localhost).", setting=setting
        )
    return f"{scheme}://{parts.netloc}{path}"


def _is_site(host: str) -> bool:
    """An Experience Cloud site's host (`*.my.site.com`, `*.force.com` but Lightning's own)."""
    return host.endswith((".site.com", ".force.com")) and not host.endswith(".lightning.force.com")


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _valid_host(host: str) -> bool:
    """An IP address, or a DNS name: labels of letters, digits and inner hyphens, 1 to 63 characters each."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in name.split("."))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _required(credentials: Mapping[str, Any], key: str) -> str:
    value = credentials.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"The setting 'credentials.{key}' is missing.", setting=f"credentials.{key}")
    return str(value)


class Authenticator:
    """One OAuth flow. `login` posts to the token endpoint and returns a Token or raises a named error."""

    auth_type = ""
    # What the user should check when the token endpoint answers invalid_grant.
    grant_settings: tuple[str, ...] = ()
    # What else invalid_grant can mean for this flow.
    invalid_grant_causes = "the user is locked out, frozen or inactive"

    def __init__(self, login_url: str, client_id: str) -> None:
        self.login_url = check_url(login_url or DEFAULT_LOGIN_URL, "credentials.login_url")
        self.client_id = client_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(login_url={self.login_url!r})"

    @property
    def token_url(self) -> str:
        return self.login_url + TOKEN_PATH

    def grant(self) -> dict[str, str]:
        raise NotImplementedError

    def login(self, http: requests.Session) -> Token:
        try:
            response = http.post(self.token_url, data=self.grant(), timeout=TOKEN_TIMEOUT)
        except requests.exceptions.SSLError as exc:
            raise ConfigError(
                f"The login URL {self.login_url} failed TLS verification ({type(exc).__name__}); "
                "check the setting 'credentials.login_url'.",
                setting="credentials.login_url",
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            if reached_server(exc):
                # A reset or a slow answer once connected: the server is there; the session retries the login.
                raise TransientError(
                    f"The login to {self.login_url} failed in transit ({type(exc).__name__})."
                ) from None
            raise LoginUnreachableError(
                f"The login URL {self.login_url} cannot be reached ({type(exc).__name__}): a network failure, or "
                "if it persists a wrong setting 'credentials.login_url'."
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(
                f"The Salesforce token endpoint answered HTTP {response.status_code}; try again later.",
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ConfigError(
                f"{self.token_url} did not answer like a Salesforce token endpoint (HTTP {response.status_code}); "
                "check the setting 'credentials.login_url'.",
                setting="credentials.login_url",
            )
        if response.status_code == 200 and body.get("access_token") and body.get("instance_url"):
            issued = body.get("issued_at")
            try:
                issued_at = int(issued) / 1000.0 if issued else time.time()
            except (TypeError, ValueError):
                issued_at = time.time()
            return Token(
                access_token=str(body["access_token"]),
                instance_url=check_url(str(body["instance_url"]), "instance_url"),
                issued_at=issued_at,
            )
        raise self._failure(str(body.get("error") or f"HTTP {response.status_code}"), body.get("error_description"))

    def _failure(self, error: str, description: Any) -> AuthenticationError:
        detail = f"{error}: {description}" if description else error
        if error == "invalid_client_id":
            setting, hint = "credentials.client_id", "check the setting 'credentials.client_id' (the consumer key)"
        elif error == "invalid_client":
            setting, hint = (
                "credentials.client_secret",
                "check the settings 'credentials.client_id' and 'credentials.client_secret' (consumer key and secret)",
            )
        elif error == "unsupported_grant_type":
            setting, hint = "credentials.auth_type", self.unsupported_hint()
        else:
            names = " and ".join(f"'credentials.{name}'" for name in self.grant_settings)
            setting, hint = f"credentials.{self.grant_settings[0]}", f"check the settings {names}"
            if error == "invalid_grant":
                # Salesforce gives the same answer for every refused login; only Login History tells them apart.
                hint += (
                    f". It can also mean: {self.invalid_grant_causes}, or a login IP range on the user's profile "
                    "or the connected app that excludes the connector's address. Setup > Login History (or the "
                    "user's record > Login History) shows the reason for each failed login"
                )
        return AuthenticationError(f"Salesforce refused the login ({detail}); {hint}.", setting=setting)

    def unsupported_hint(self) -> str:
        return (
            f"the {self.auth_type} flow is not enabled for this connected app or org; "
            "enable it or choose another method in the setting 'credentials.auth_type'"
        )


class UsernamePassword(Authenticator):
    auth_type = "username_password"
    grant_settings = ("password", "username", "security_token", "login_url")
    invalid_grant_causes = (
        "a password changed or expired (the security token changes with it), the user locked out after failed "
        "logins, frozen or inactive, the username-password flow blocked for the org (the default since "
        "Summer '23: Setup > OAuth and OpenID Connect Settings)"
    )

    def __init__(self, credentials: Mapping[str, Any]) -> None:
        super().__init__(credentials.get("login_url") or DEFAULT_LOGIN_URL, _required(credentials, "client_id"))
        self._client_secret = _required(credentials, "client_secret")
        self.username = _required(credentials, "username")
        self._password = _required(credentials, "password")
        self._security_token = str(credentials.get("security_token") or "")

    def grant(self) -> dict[str, str]:
        return {
            "grant_type": "password",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "username": self.username,
            # Salesforce expects the security token appended to the password.
            "password": self._password + self._security_token,
        }

    def unsupported_hint(self) -> str:
        return (
            "the username-password flow is blocked in this org (the default since Summer '23); "
            "choose client credentials or JWT bearer in the setting 'credentials.auth_type' instead"
        )


class RefreshToken(Authenticator):
    auth_type = "refresh_token"
    grant_settings = ("refresh_token", "client_id", "login_url")
    invalid_grant_causes = (
        "the refresh token expired or was revoked (the app's refresh token policy, a password reset, or "
        "rotation turned on), the user locked out, frozen or inactive"
    )

    def __init__(self, credentials: Mapping[str, Any]) -> None:
        super().__init__(credentials.get("login_url") or DEFAULT_LOGIN_URL, _required(credentials, "client_id"))
        self._client_secret = _required(credentials, "client_secret")
        self._refresh_token = _required(credentials, "refresh_token")

    def grant(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }


class ClientCredentials(Authenticator):
    auth_type = "client_credentials"
    grant_settings = ("client_secret", "client_id", "login_url")

    def __init__(self, credentials: Mapping[str, Any]) -> None:
        super().__init__(credentials.get("login_url") or DEFAULT_LOGIN_URL, _required(credentials, "client_id"))
        self._client_secret = _required(credentials, "client_secret")

    def grant(self) -> dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._client_secret}

    def unsupported_hint(self) -> str:
        return (
            "the client credentials flow needs the org's My Domain URL as 'credentials.login_url' "
            "and the flow enabled, with a Run As user, on the connected app (or another 'credentials.auth_type')"
        )


class JwtBearer(Authenticator):
    auth_type = "jwt_bearer"
    grant_settings = ("username", "private_key", "client_id", "audience")

    def __init__(self, credentials: Mapping[str, Any]) -> None:
        super().__init__(credentials.get("login_url") or DEFAULT_LOGIN_URL, _required(credentials, "client_id"))
        self.username = _required(credentials, "username")
        self._private_key = _required(credentials, "private_key").strip()
        self.audience = str(credentials.get("audience") or "").strip().rstrip("/") or self._default_audience()

    def _default_audience(self) -> str:
        """As Salesforce documents the JWT bearer flow: https://test.salesforce.com for a sandbox, the site's URL
        for an Experience Cloud site, else https://login.salesforce.com (for a My Domain login URL too)."""
        host = (urlsplit(self.login_url).hostname or "").lower()
        if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
            return SANDBOX_LOGIN_URL
        if _is_site(host):
            return self.login_url
        return DEFAULT_LOGIN_URL

    def grant(self) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": now + JWT_LIFETIME_SECONDS,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        try:
            assertion = jwt.encode(claims, self._private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            # The library's message may quote key material: keep only a generic statement.
            raise ConfigError(
                "The setting 'credentials.private_key' is not a valid RSA private key in PEM format.",
                setting="credentials.private_key",
            ) from None
        return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}


AUTHENTICATORS: dict[str, type[Authenticator]] = {
    cls.auth_type: cls for cls in (UsernamePassword, RefreshToken, ClientCredentials, JwtBearer)
}


def authenticator_from_config(credentials: Mapping[str, Any]) -> Authenticator:
    if not isinstance(credentials, Mapping):
        raise ConfigError("The setting 'credentials' must be an object.", setting="credentials")
    auth_type = credentials.get("auth_type") or "username_password"
    try:
        cls = AUTHENTICATORS[auth_type]
    except KeyError:
        raise ConfigError(
            f"The setting 'credentials.auth_type' must be one of {', '.join(AUTHENTICATORS)} (got {auth_type!r}).",
            setting="credentials.auth_type",
        ) from None
    return cls(credentials)

"""The JSON-schema property both connectors' specs use for the `credentials` setting."""

from __future__ import annotations

from typing import Any

LOGIN_URL_EXAMPLES = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
    "https://MyDomainName.my.salesforce.com",
]


def _login_url(order: int, *, my_domain: bool = False) -> dict[str, Any]:
    description = (
        "Where to log in: https://login.salesforce.com for production and Developer Edition orgs, "
        "https://test.salesforce.com for sandboxes, or your org's My Domain URL "
        "(Setup > My Domain, e.g. https://MyDomainName.my.salesforce.com)."
    )
    if my_domain:
        description = (
            "Your org's My Domain URL, shown in Setup > My Domain (e.g. https://MyDomainName.my.salesforce.com, "
            "or https://MyDomainName--SandboxName.sandbox.my.salesforce.com for a sandbox). "
            "The client credentials flow does not work with login.salesforce.com."
        )
    prop: dict[str, Any] = {
        "type": "string",
        "title": "My Domain URL" if my_domain else "Login URL",
        "description": description,
        "examples": LOGIN_URL_EXAMPLES[2:] if my_domain else LOGIN_URL_EXAMPLES,
        # Spaces around it and a scheme in capitals are fine (the client trims and lowers them).
        "pattern": "^\\s*[Hh][Tt][Tt][Pp][Ss]?://",
        "order": order,
    }
    if not my_domain:
        prop["default"] = "https://login.salesforce.com"
    return prop


def _const(auth_type: str) -> dict[str, Any]:
    return {"type": "string", "const": auth_type, "default": auth_type, "enum": [auth_type], "order": 0}


def _client_id(order: int) -> dict[str, Any]:
    return {
        "type": "string",
        "title": "Client ID (consumer key)",
        "description": (
            "The consumer key of your connected app or external client app: Setup > App Manager > the app > "
            "View > Manage Consumer Details."
        ),
        "order": order,
    }


def _client_secret(order: int) -> dict[str, Any]:
    return {
        "type": "string",
        "title": "Client secret (consumer secret)",
        "description": "The consumer secret shown next to the consumer key under Manage Consumer Details.",
        "airbyte_secret": True,
        "order": order,
    }


def _username(order: int, what: str) -> dict[str, Any]:
    return {
        "type": "string",
        "title": "Username",
        "description": f"The Salesforce username {what} (looks like an email address, e.g. integration@acme.com).",
        "order": order,
    }


def credentials_spec(order: int = 0) -> dict[str, Any]:
    """A `oneOf` with one option per `auth_type`, in the order Salesforce recommends them for integrations: client
    credentials and the web-server flow's refresh token first, username-password last (blocked by default in orgs
    created since Summer '23)."""
    username_password = {
        "type": "object",
        "title": "Username and password",
        "description": (
            "Log in with a user's password and security token through a connected app. Salesforce blocks this "
            "flow by default in orgs created since Summer '23 and is phasing it out: prefer client credentials "
            "or JWT bearer for a lasting integration."
        ),
        "required": ["auth_type", "client_id", "client_secret", "username", "password"],
        "properties": {
            "auth_type": _const("username_password"),
            "login_url": _login_url(1),
            "client_id": _client_id(2),
            "client_secret": _client_secret(3),
            "username": _username(4, "the connector logs in as"),
            "password": {
                "type": "string",
                "title": "Password",
                "description": "The user's Salesforce password.",
                "airbyte_secret": True,
                "order": 5,
            },
            "security_token": {
                "type": "string",
                "title": "Security token",
                "description": (
                    "Appended to the password unless the connector's IP address is trusted. Reset it under your "
                    "personal settings > Reset My Security Token; Salesforce emails the new token."
                ),
                "airbyte_secret": True,
                "order": 6,
            },
        },
    }
    client_credentials = {
        "type": "object",
        "title": "Client credentials",
        "description": (
            "Recommended for integrations: the connected app logs in as its Run As user. Enable the client "
            "credentials flow on the app and pick that user under Manage > Edit Policies."
        ),
        "required": ["auth_type", "login_url", "client_id", "client_secret"],
        "properties": {
            "auth_type": _const("client_credentials"),
            "login_url": _login_url(1, my_domain=True),
            "client_id": _client_id(2),
            "client_secret": _client_secret(3),
        },
    }
    jwt_bearer = {
        "type": "object",
        "title": "JWT bearer (certificate)",
        "description": (
            "Log in as a pre-authorised user with a JWT signed by the private key whose certificate is uploaded "
            "to the connected app (Use digital signatures). No password or secret is stored."
        ),
        "required": ["auth_type", "client_id", "username", "private_key"],
        "properties": {
            "auth_type": _const("jwt_bearer"),
            "login_url": _login_url(1),
            "client_id": _client_id(2),
            "username": _username(3, "the connector acts as; its profile or permission set must be pre-authorised"),
            "private_key": {
                "type": "string",
                "title": "Private key (PEM)",
                "description": (
                    "The RSA private key, in PEM format (-----BEGIN PRIVATE KEY-----...), matching the certificate "
                    "uploaded to the connected app."
                ),
                "airbyte_secret": True,
                "multiline": True,
                "order": 4,
            },
            "audience": {
                "type": "string",
                "title": "Audience (optional)",
                "description": (
                    "The JWT audience. Leave empty to use https://login.salesforce.com (for a My Domain login "
                    "URL too), https://test.salesforce.com when the login URL is a sandbox, or the login URL "
                    "itself for an Experience Cloud site (*.my.site.com, *.force.com)."
                ),
                "order": 5,
            },
        },
    }
    refresh_token = {
        "type": "object",
        "title": "OAuth refresh token",
        "description": (
            "Log in with a refresh token obtained through the connected app's web-server flow. Turn refresh "
            "token rotation off on the app: the connector cannot store a new token."
        ),
        "required": ["auth_type", "client_id", "client_secret", "refresh_token"],
        "properties": {
            "auth_type": _const("refresh_token"),
            "login_url": _login_url(1),
            "client_id": _client_id(2),
            "client_secret": _client_secret(3),
            "refresh_token": {
                "type": "string",
                "title": "Refresh token",
                "description": "The refresh token issued to the connected app for the integration user.",
                "airbyte_secret": True,
                "order": 4,
            },
        },
    }
    return {
        "type": "object",
        "title": "Authentication",
        "description": "How the connector logs in to Salesforce.",
        "order": order,
        "oneOf": [client_credentials, refresh_token, jwt_bearer, username_password],
    }


# Query parameters of the web-server flow, as templates of Airbyte's declarative OAuth (the *_key names are the OAuth
# 2.0 defaults, which Salesforce uses).
_CLIENT_ID = "{{ client_id_key }}={{ client_id_value }}"
_REDIRECT_URI = "{{ redirect_uri_key }}={{ {{ redirect_uri_value }} | urlEncoder }}"
_CONSENT_QUERY = "&".join(
    ["response_type=code", _CLIENT_ID, _REDIRECT_URI, "{{ scope_key }}={{ {{ scope_value }} | urlEncoder }}",
     "{{ state_key }}={{ state_value }}"]
)  # fmt: skip
_TOKEN_QUERY = "&".join(
    ["grant_type=authorization_code", "{{ auth_code_key }}={{ {{ auth_code_value }} | urlEncoder }}", _CLIENT_ID,
     "{{ client_secret_key }}={{ {{ client_secret_value }} | urlEncoder }}", _REDIRECT_URI]
)  # fmt: skip


def advanced_auth() -> dict[str, Any]:
    """Airbyte's "Authenticate your account" button for the refresh-token option: the platform runs Salesforce's
    web-server flow (consent at {login_url}/services/oauth2/authorize, code exchanged at /services/oauth2/token) with
    the connected app it holds (client id and secret, server-side inputs) and fills in the refresh token.

    A declarative OAuth spec, since the platform has no Salesforce flow of its own for these images. The token call
    carries its parameters in the URL: declarative OAuth sends a JSON body when given `access_token_params`, and
    Salesforce's token endpoint reads form fields or query parameters, not JSON.
    """

    def at(*path: str) -> dict[str, Any]:
        return {"type": "string", "path_in_connector_config": list(path)}

    return {
        "auth_flow_type": "oauth2.0",
        "predicate_key": ["credentials", "auth_type"],
        "predicate_value": "refresh_token",
        "oauth_config_specification": {
            "oauth_user_input_from_connector_config_specification": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"login_url": at("credentials", "login_url")},
            },
            "oauth_connector_input_specification": {
                "consent_url": "{{ login_url }}/services/oauth2/authorize?" + _CONSENT_QUERY,
                "scope": "api refresh_token",
                "access_token_url": "{{ login_url }}/services/oauth2/token?" + _TOKEN_QUERY,
                "access_token_headers": {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
                "extract_output": ["refresh_token"],
            },
            "complete_oauth_output_specification": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"refresh_token": at("credentials", "refresh_token")},
            },
            "complete_oauth_server_input_specification": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"client_id": {"type": "string"}, "client_secret": {"type": "string"}},
            },
            "complete_oauth_server_output_specification": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "client_id": at("credentials", "client_id"),
                    "client_secret": at("credentials", "client_secret"),
                },
            },
        },
    }

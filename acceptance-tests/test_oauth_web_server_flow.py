"""`advanced_auth` of both specs, run as Airbyte's platform runs a declarative OAuth flow, against the emulated org's
web-server flow: consent URL from the spec's template, code from the redirect, token call from the spec's template,
refresh token extracted and written where the spec says, and the connector's `check` with the resulting config.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from acceptance_configs import pointed_at

REDIRECT_URI = "https://airbyte.example.com/auth_flow"
# The key names Airbyte's declarative OAuth fills in when a spec overrides none of them.
DEFAULT_KEYS = {
    "client_id_key": "client_id",
    "client_secret_key": "client_secret",
    "auth_code_key": "code",
    "redirect_uri_key": "redirect_uri",
    "scope_key": "scope",
    "state_key": "state",
}
FILTERS = {"urlEncoder": lambda value: quote(value, safe="")}


def render(template: str, values: dict[str, str]) -> str:
    """Airbyte's declarative OAuth templates: `{{ name }}`, and `{{ {{ name }} | filter }}` for a filtered value."""

    def nested(match: re.Match[str]) -> str:
        return FILTERS[match[2]](values[match[1]])

    template = re.sub(r"\{\{\s*\{\{\s*(\w+)\s*\}\}\s*\|\s*(\w+)\s*\}\}", nested, template)
    rendered = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values[m[1]], template)
    assert "{{" not in rendered, rendered
    return rendered


def put(config: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        config = config.setdefault(key, {})
    config[path[-1]] = value


def get(config: dict[str, Any], path: list[str]) -> Any:
    for key in path:
        config = config[key]
    return config


def missing_emulator_endpoint(org: Any) -> str | None:
    """What the emulated org lacks to serve the flow as the platform calls it, or None when it has it all."""
    probe = requests.get(org.url + "/services/oauth2/authorize", allow_redirects=False, timeout=30)
    if probe.status_code == 404:
        return "the emulated org has no OAuth authorize endpoint (GET /services/oauth2/authorize) yet"
    # Declarative OAuth sends the token call's parameters in the URL (see salesforce_api.spec.advanced_auth).
    login = {k: v for k, v in org.credentials("username_password").items() if k not in ("auth_type", "login_url")}
    query = f"grant_type=password&client_id={login['client_id']}&client_secret={login['client_secret']}"
    query += f"&username={quote(login['username'])}&password={quote(login['password'] + login['security_token'])}"
    probe = requests.post(f"{org.url}/services/oauth2/token?{query}", timeout=30)
    if probe.status_code != 200:
        return (
            "the emulated token endpoint reads no query-string parameters (POST /services/oauth2/token?grant_type=...),"
            " "
            f"which Salesforce accepts and Airbyte's declarative OAuth sends: {probe.text[:200]}"
        )
    return None


@pytest.mark.parametrize("connector", ["source", "destination"])
def test_advanced_auth_yields_a_refresh_token_the_connector_logs_in_with(
    connector, request, org, source_config, destination_config
) -> None:
    runner = request.getfixturevalue(connector)
    spec = runner.run("spec").ok().spec
    auth = spec["advanced_auth"]
    oauth = auth["oauth_config_specification"]
    declarative = oauth["oauth_connector_input_specification"]
    base_config = copy.deepcopy(source_config if connector == "source" else destination_config)
    emulated = org.credentials("refresh_token")

    # The form the user fills in before pressing "Authenticate": the option the predicate names, the login URL.
    config = pointed_at(base_config, org)
    config["credentials"] = {"auth_type": auth["predicate_value"], "login_url": org.url}
    assert auth["predicate_key"] == ["credentials", "auth_type"]
    option = next(
        o
        for o in spec["connectionSpecification"]["properties"]["credentials"]["oneOf"]
        if o["properties"]["auth_type"]["const"] == auth["predicate_value"]
    )
    user_inputs = {
        name: get(config, field["path_in_connector_config"])
        for name, field in oauth["oauth_user_input_from_connector_config_specification"]["properties"].items()
    }
    server_inputs = {"client_id": emulated["client_id"], "client_secret": emulated["client_secret"]}
    assert set(oauth["complete_oauth_server_input_specification"]["properties"]) == set(server_inputs)

    reason = missing_emulator_endpoint(org)
    if reason:
        pytest.skip(reason)

    # Consent: the platform sends the browser to the rendered consent URL; Salesforce redirects back with a code.
    state = secrets.token_urlsafe(12)
    values = {
        **DEFAULT_KEYS,
        **user_inputs,
        "client_id_value": server_inputs["client_id"],
        "redirect_uri_value": REDIRECT_URI,
        "scope_value": declarative["scope"],
        "state_value": state,
    }
    consent = requests.get(render(declarative["consent_url"], values), allow_redirects=False, timeout=30)
    assert consent.status_code == 302, consent.text
    location = consent.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert answer.get("state") == state and "code" in answer, answer

    # Token: the rendered access token URL, the spec's headers, no body (the spec gives no access_token_params).
    assert "access_token_params" not in declarative
    values |= {"auth_code_value": answer["code"], "client_secret_value": server_inputs["client_secret"]}
    token = requests.post(
        render(declarative["access_token_url"], values),
        headers={k: render(v, values) for k, v in declarative.get("access_token_headers", {}).items()},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    body = token.json()
    outputs = {name: body[name] for name in declarative["extract_output"]}

    # Completion: the outputs and the server-side inputs go where the spec says; the connector logs in with them.
    for name, field in oauth["complete_oauth_output_specification"]["properties"].items():
        put(config, field["path_in_connector_config"], outputs[name])
    for name, field in oauth["complete_oauth_server_output_specification"]["properties"].items():
        put(config, field["path_in_connector_config"], server_inputs[name])
    assert set(option["required"]) <= set(config["credentials"]), config["credentials"].keys()
    statuses = runner.run("check", config=config).ok().connection_statuses
    assert [s["status"] for s in statuses] == ["SUCCEEDED"], statuses
    assert json.dumps(outputs["refresh_token"]) not in runner.run("spec").stdout

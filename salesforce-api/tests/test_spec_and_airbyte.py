"""The shared credentials spec and the mapping of errors onto Airbyte failure types."""

from __future__ import annotations

import json

import pytest
from airbyte_cdk.models import FailureType
from salesforce_api.airbyte import traced_exception
from salesforce_api.auth import AUTHENTICATORS
from salesforce_api.errors import (
    ApiConfigError,
    ApiError,
    AuthenticationError,
    ConfigError,
    NotFoundError,
    QueryTimeoutError,
    QuotaExceededError,
    TransientError,
)
from salesforce_api.spec import advanced_auth, credentials_spec

SECRET_KEYS = {"client_secret", "password", "security_token", "refresh_token", "private_key"}


def test_one_option_per_auth_type_in_the_order_salesforce_recommends():
    spec = credentials_spec(order=3)
    assert spec["order"] == 3
    assert "$ref" not in json.dumps(spec)
    types = [option["properties"]["auth_type"]["const"] for option in spec["oneOf"]]
    assert types == ["client_credentials", "refresh_token", "jwt_bearer", "username_password"]
    assert sorted(types) == sorted(AUTHENTICATORS)
    assert "Summer '23" in spec["oneOf"][-1]["description"]


def test_advanced_auth_fills_the_refresh_token_option_through_the_web_server_flow():
    auth = advanced_auth()
    assert auth["auth_flow_type"] == "oauth2.0"
    assert (auth["predicate_key"], auth["predicate_value"]) == (["credentials", "auth_type"], "refresh_token")
    oauth = auth["oauth_config_specification"]
    option = next(o for o in credentials_spec()["oneOf"] if o["properties"]["auth_type"]["const"] == "refresh_token")

    def paths(part: str) -> dict[str, list[str]]:
        return {k: v["path_in_connector_config"] for k, v in oauth[part]["properties"].items()}

    assert paths("oauth_user_input_from_connector_config_specification") == {"login_url": ["credentials", "login_url"]}
    assert paths("complete_oauth_output_specification") == {"refresh_token": ["credentials", "refresh_token"]}
    assert paths("complete_oauth_server_output_specification") == {
        "client_id": ["credentials", "client_id"],
        "client_secret": ["credentials", "client_secret"],
    }
    for path in [
        *paths("oauth_user_input_from_connector_config_specification").values(),
        *paths("complete_oauth_output_specification").values(),
        *paths("complete_oauth_server_output_specification").values(),
    ]:
        assert path[1] in option["properties"]
    declarative = oauth["oauth_connector_input_specification"]
    assert declarative["consent_url"].startswith("{{ login_url }}/services/oauth2/authorize?response_type=code&")
    assert declarative["access_token_url"].startswith(
        "{{ login_url }}/services/oauth2/token?grant_type=authorization_code&"
    )
    assert "access_token_params" not in declarative  # it would make the platform send JSON, which Salesforce refuses
    assert declarative["extract_output"] == ["refresh_token"]


def test_every_field_is_ordered_described_and_secrets_are_marked():
    for option in credentials_spec()["oneOf"]:
        auth_type = option["properties"]["auth_type"]
        assert auth_type["default"] == auth_type["const"]
        assert set(option["required"]) <= set(option["properties"])
        for name, prop in option["properties"].items():
            assert isinstance(prop["order"], int), name
            if name != "auth_type":
                assert prop["title"] and prop["description"], name
            assert prop.get("airbyte_secret", False) is (name in SECRET_KEYS), name


def test_login_url_default_and_examples():
    options = {o["properties"]["auth_type"]["const"]: o for o in credentials_spec()["oneOf"]}
    login_url = options["username_password"]["properties"]["login_url"]
    assert login_url["default"] == "https://login.salesforce.com"
    assert "https://test.salesforce.com" in login_url["examples"]
    assert "https://MyDomainName.my.salesforce.com" in login_url["examples"]


@pytest.mark.parametrize(
    ("error", "failure_type"),
    [
        (ConfigError("bad setting", setting="streams"), FailureType.config_error),
        (AuthenticationError("refused", setting="credentials.password"), FailureType.config_error),
        (ApiConfigError("no access", status=403, error_code="INSUFFICIENT_ACCESS"), FailureType.config_error),
        (TransientError("kept failing"), FailureType.transient_error),
        (QuotaExceededError("limit", budget=True), FailureType.transient_error),
        (QueryTimeoutError("too long", error_code="QUERY_TIMEOUT"), FailureType.transient_error),
        (ApiError("odd", status=400, error_code="MALFORMED_QUERY"), FailureType.system_error),
        (NotFoundError("gone", status=404, error_code="NOT_FOUND"), FailureType.system_error),
    ],
)
def test_failure_types(error, failure_type):
    traced = traced_exception(error)
    assert traced.failure_type == failure_type
    assert traced.message
    assert traced.__class__.__name__ == "AirbyteTracedException"


def test_messages_say_what_to_fix_and_carry_context():
    traced = traced_exception(ConfigError("The user may not read Account.", setting="streams"), "Reading Account")
    assert traced.message.startswith("Reading Account: ")
    assert "'streams'" in traced.message
    budget = traced_exception(QuotaExceededError("API budget reached", budget=True))
    assert "api_budget_percent" in budget.message
    ambiguous = traced_exception(TransientError("lost", ambiguous=True))
    assert "what was written" in ambiguous.message

"""check_against_spec: errors name the setting and what it allows, never the value given."""

import pytest
from salesforce_api.errors import ConfigError
from salesforce_api.settings_check import check_against_spec
from salesforce_api.spec import credentials_spec

SPEC = {
    "type": "object",
    "required": ["credentials", "object"],
    "properties": {
        "credentials": credentials_spec(),
        "object": {"type": "string"},
        "api": {"type": "string", "enum": ["auto", "bulk"]},
        "batch_size": {"type": "integer", "minimum": 1},
    },
}
GOOD = {
    "auth_type": "username_password",
    "login_url": "https://login.salesforce.com",
    "client_id": "id",
    "client_secret": "very-secret-value",
    "username": "u@example.com",
    "password": "hunter2-password",
}


def test_a_good_config_passes():
    check_against_spec({"credentials": GOOD, "object": "Account"}, SPEC)


@pytest.mark.parametrize(
    ("config", "setting", "words"),
    [
        ({"credentials": GOOD}, "object", "is required"),
        ({"credentials": GOOD, "object": "A", "api": "hunter2-password"}, "api", "must be one of auto, bulk"),
        ({"credentials": GOOD, "object": "A", "batch_size": 0}, "batch_size", "must be at least 1"),
        ({"credentials": {**GOOD, "login_url": "hunter2-password"}, "object": "A"}, "credentials.login_url", "https"),
        ({"credentials": {**GOOD, "auth_type": "magic"}, "object": "A"}, "credentials.auth_type", "jwt_bearer"),
    ],
)
def test_errors_name_the_setting_and_never_the_value(config, setting, words):
    with pytest.raises(ConfigError) as caught:
        check_against_spec(config, SPEC)
    message = str(caught.value)
    assert f"'{setting}'" in message and words in message
    assert "hunter2" not in message and "very-secret" not in message


@pytest.mark.parametrize(
    "url", ["HTTPS://login.salesforce.com", "  https://login.salesforce.com  ", "Http://127.0.0.1"]
)
def test_login_url_in_capitals_or_with_spaces_passes_the_spec(url):
    check_against_spec({"credentials": {**GOOD, "login_url": url}, "object": "Account"}, SPEC)

from datetime import UTC, datetime, timedelta

import pytest
from salesforce_api.errors import ConfigError
from source_salesforce.config import parse_config

CREDS = {"auth_type": "refresh_token"}


def test_defaults():
    config = parse_config({"credentials": CREDS})
    assert config.start_date is None and config.force_api == "auto" and config.lookback == timedelta(0)
    assert config.wants("Anything")


def test_values_and_patterns():
    config = parse_config(
        {
            "credentials": CREDS,
            "start_date": "2024-01-31",
            "streams": ["Account", "*__c"],
            "window_days": 7,
            "lookback_seconds": 60,
            "api_budget_percent": 50,
        }
    )
    assert config.start_date == datetime(2024, 1, 31, tzinfo=UTC)
    assert config.wants("account") and config.wants("X__c") and not config.wants("Contact")
    assert config.window == timedelta(days=7) and config.api_budget_percent == 50.0


@pytest.mark.parametrize(
    "key, value",
    [
        ("start_date", "yesterday"),
        ("force_api", "soap"),
        ("window_days", 0),
        ("lookback_seconds", -1),
        ("api_budget_percent", 150),
        ("bulk_threshold", -5),
        ("streams", [""]),
    ],
)
def test_each_wrong_setting_is_named(key, value):
    with pytest.raises(ConfigError) as error:
        parse_config({"credentials": CREDS, key: value})
    assert key in str(error.value)


def test_missing_credentials():
    with pytest.raises(ConfigError, match="credentials"):
        parse_config({})


@pytest.mark.parametrize(
    "change, setting",
    [
        ({"force_api": "soap"}, "force_api"),
        ({"start_date": "last tuesday"}, "start_date"),
        ({"api_budget_percent": 250}, "api_budget_percent"),
        ({"window_days": "weekly"}, "window_days"),
    ],
)
def test_spec_check_names_the_setting_without_its_value(change, setting):
    from source_salesforce.config import check_against_spec
    from source_salesforce.spec import spec_dict

    connection = spec_dict()["connectionSpecification"]
    config = {
        "credentials": {
            "auth_type": "refresh_token",
            "client_id": "id",
            "client_secret": "s3cret-value",
            "refresh_token": "r3fresh-value",
        },
        **change,
    }
    with pytest.raises(ConfigError) as caught:
        check_against_spec(config, connection)
    assert f"'{setting}'" in str(caught.value) and caught.value.setting == setting
    assert str(next(iter(change.values()))) not in str(caught.value)


def test_spec_check_accepts_a_valid_config():
    from source_salesforce.config import check_against_spec
    from source_salesforce.spec import spec_dict

    config = {
        "credentials": {"auth_type": "refresh_token", "client_id": "id", "client_secret": "s", "refresh_token": "r"},
        "start_date": "2024-01-31",
        "force_api": "bulk",
        "window_days": 7,
    }
    check_against_spec(config, spec_dict()["connectionSpecification"])


SECRETS = {"client_secret": "S3cret-Client-1", "password": "P4ss-Word-2", "security_token": "T0ken-3"}


def username_password(**changes):
    credentials = {"auth_type": "username_password", "client_id": "id", "username": "u@example.com", **SECRETS}
    credentials.update(changes)
    return {"credentials": {k: v for k, v in credentials.items() if v is not None}}


@pytest.mark.parametrize(
    "changes, setting, words",
    [
        ({"login_url": "not a url"}, "credentials.login_url", ["https://login.salesforce.com", "loopback"]),
        ({"login_url": "ftp://login.example.com"}, "credentials.login_url", ["https"]),
        ({"login_url": 443}, "credentials.login_url", ["string"]),
        ({"password": None}, "credentials.password", ["required"]),
        ({"password": 1234}, "credentials.password", ["string"]),
        ({"auth_type": "magic"}, "credentials.auth_type", ["username_password", "jwt_bearer"]),
        ({"auth_type": None}, "credentials.auth_type", ["client_credentials"]),
    ],
)
def test_spec_check_names_the_credentials_sub_setting_without_secrets(changes, setting, words):
    from source_salesforce.config import check_against_spec
    from source_salesforce.spec import spec_dict

    with pytest.raises(ConfigError) as caught:
        check_against_spec(username_password(**changes), spec_dict()["connectionSpecification"])
    message = str(caught.value)
    assert caught.value.setting == setting and f"'{setting}'" in message
    assert "offered choices" not in message
    for word in words:
        assert word in message
    for secret in SECRETS.values():
        assert secret not in message


@pytest.mark.parametrize("flow", ["client_credentials", "jwt_bearer", "refresh_token"])
def test_spec_check_picks_the_branch_of_each_auth_type(flow):
    from source_salesforce.config import check_against_spec
    from source_salesforce.spec import spec_dict

    config = {"credentials": {"auth_type": flow, "client_id": "id", "login_url": "not a url"}}
    with pytest.raises(ConfigError) as caught:
        check_against_spec(config, spec_dict()["connectionSpecification"])
    # The first fault of the chosen branch: a missing required setting or the login URL, never "no choice matches".
    assert caught.value.setting is not None and caught.value.setting.startswith("credentials.")
    assert caught.value.setting != "credentials.auth_type"


@pytest.mark.parametrize(
    "key, value",
    [
        ("start_date", "0001-01-01T00:00:00+01:00"),  # before year 1 once in UTC: overflowed before
        ("start_date", "9999-12-31T23:00:00-05:00"),  # after year 9999 once in UTC
        ("start_date", "0999-01-01"),  # would have been the unpadded literal 999-01-01T00:00:00.000Z
        ("start_date", "1699-12-31T23:59:59Z"),
        ("start_date", "4001-01-01"),
        ("lookback_seconds", 1e12),
        ("lookback_seconds", 10**20),
        ("lookback_seconds", True),
        ("window_days", 1e10),
        ("window_days", 1e-9),
        ("window_days", float("inf")),
        ("window_days", float("nan")),
    ],
)
def test_date_time_overflow_is_a_config_error_naming_the_setting(key, value):
    with pytest.raises(ConfigError) as caught:
        parse_config({"credentials": CREDS, key: value})
    assert key in str(caught.value) and caught.value.setting == key


def test_the_edges_of_salesforce_dates_and_of_the_limits_are_accepted():
    config = parse_config(
        {"credentials": CREDS, "start_date": "1700-01-01", "window_days": 36_500, "lookback_seconds": 3_153_600_000}
    )
    assert config.start_date == datetime(1700, 1, 1, tzinfo=UTC)
    assert parse_config({"credentials": CREDS, "start_date": "4000-12-31T23:59:59Z"}).start_date.year == 4000

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

"""The connector's settings, checked once, with an error that names the setting to fix."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jsonschema
from salesforce_api.errors import ConfigError

from source_salesforce.soql import parse_datetime

API_VERSION = "62.0"
FORCE_API_CHOICES = ("auto", "rest", "bulk")


@dataclass(frozen=True)
class SourceConfig:
    credentials: Mapping[str, Any]
    start_date: datetime | None = None
    stream_patterns: tuple[str, ...] = ("*",)
    api_budget_percent: float | None = None
    force_api: str = "auto"
    # None: Bulk windows are sized by record count (about BULK_WINDOW_RECORDS per job)
    window: timedelta | None = None
    lookback: timedelta = timedelta(0)
    include_purged_deletes: bool = False
    bulk_threshold: int = 50_000

    def wants(self, object_name: str) -> bool:
        """Whether an object matches the `streams` name patterns (glob, case-insensitive)."""
        lowered = object_name.lower()
        return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in self.stream_patterns)


# What a setting checked by a bare pattern should look like, for settings whose spec has no pattern_descriptor.
_EXPECTED_FORMAT = {
    "login_url": (
        "an https URL such as https://login.salesforce.com, https://test.salesforce.com or your My Domain URL; "
        "http only for a loopback address such as http://127.0.0.1"
    ),
}


def check_against_spec(config: Mapping[str, Any], connection_spec: Mapping[str, Any]) -> None:
    """Validate against the spec, naming the setting at fault but never echoing its value (it may be a secret)."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(connection_spec).iter_errors(config))
    if error is None:
        return
    if error.validator == "oneOf":
        error = _branch_error(error)
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = next((name for name in error.validator_value if name not in error.instance), "")
        path = f"{path}.{missing}" if path and missing else path or str(missing)
    setting = path or "config"
    rule = {
        "required": "is required",
        "enum": f"must be one of {', '.join(map(str, error.validator_value))}" if error.validator == "enum" else "",
        "const": f"must be {error.validator_value}" if error.validator == "const" else "",
        "pattern": "has the wrong format",
        "type": f"must be of type {error.validator_value}",
        "oneOf": "does not match any of the offered choices",
        "minimum": f"must be at least {error.validator_value}",
        "maximum": f"must be at most {error.validator_value}",
        "exclusiveMinimum": f"must be greater than {error.validator_value}",
    }.get(str(error.validator)) or f"breaks the rule '{error.validator}'"
    hint = ""
    if error.validator == "pattern":
        description = error.schema.get("pattern_descriptor") if isinstance(error.schema, Mapping) else None
        description = description or _EXPECTED_FORMAT.get(setting.split(".")[-1])
        hint = f" (expected {description})" if description else ""
    raise ConfigError(f"The setting '{setting}' {rule}{hint}.", setting=setting)


def _branch_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a `oneOf` keyed by `auth_type` (the credentials), the error inside the branch the config chose.

    Without this, a wrong sub-setting (say the login URL) only yields "matches none of the choices".
    """
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    keys = {
        index: branch.get("properties", {}).get("auth_type", {}).get("const")
        for index, branch in enumerate(branches)
        if isinstance(branch, Mapping)
    }
    chosen = error.instance.get("auth_type") if isinstance(error.instance, Mapping) else None
    index = next((i for i, key in keys.items() if key is not None and key == chosen), None)
    if index is None:
        if not any(keys.values()):
            return error
        choices = ", ".join(str(key) for key in keys.values() if key)
        setting = ".".join([*map(str, error.absolute_path), "auth_type"])
        raise ConfigError(f"The setting '{setting}' must be one of {choices}.", setting=setting)
    inside = [e for e in error.context or () if e.relative_schema_path and e.relative_schema_path[0] == index]
    return jsonschema.exceptions.best_match(inside) or error


def parse_config(config: Mapping[str, Any]) -> SourceConfig:
    credentials = config.get("credentials")
    if not isinstance(credentials, Mapping):
        raise ConfigError("The setting 'credentials' is missing: choose an authentication method.")

    start_date = None
    if config.get("start_date"):
        try:
            start_date = parse_datetime(str(config["start_date"]))
        except ValueError:
            raise ConfigError(
                "The setting 'start_date' must be a date (2024-01-31) or a UTC date-time (2024-01-31T00:00:00Z)."
            ) from None

    patterns = config.get("streams") or ["*"]
    if isinstance(patterns, str):
        patterns = [patterns]
    if not all(isinstance(p, str) and p.strip() for p in patterns):
        raise ConfigError("The setting 'streams' must be a list of object name patterns such as 'Account' or '*__c'.")

    budget = config.get("api_budget_percent")
    if budget is not None and not (0 < float(budget) <= 100):
        raise ConfigError("The setting 'api_budget_percent' must be between 0 (exclusive) and 100.")

    force_api = config.get("force_api", "auto")
    if force_api not in FORCE_API_CHOICES:
        raise ConfigError(f"The setting 'force_api' must be one of {', '.join(FORCE_API_CHOICES)}.")

    window_days = config.get("window_days")
    if window_days is not None and (not isinstance(window_days, int | float) or window_days <= 0):
        raise ConfigError("The setting 'window_days' must be a positive number of days, or empty.")

    lookback_seconds = config.get("lookback_seconds", 0)
    if not isinstance(lookback_seconds, int | float) or lookback_seconds < 0:
        raise ConfigError("The setting 'lookback_seconds' must be zero or a positive number of seconds.")

    threshold = config.get("bulk_threshold", 50_000)
    if not isinstance(threshold, int) or threshold < 0:
        raise ConfigError("The setting 'bulk_threshold' must be zero or a positive number of records.")

    return SourceConfig(
        credentials=credentials,
        start_date=start_date,
        stream_patterns=tuple(p.strip() for p in patterns),
        api_budget_percent=float(budget) if budget is not None else None,
        force_api=force_api,
        window=timedelta(days=window_days) if window_days is not None else None,
        lookback=timedelta(seconds=lookback_seconds),
        include_purged_deletes=bool(config.get("include_purged_deletes", False)),
        bulk_threshold=threshold,
    )

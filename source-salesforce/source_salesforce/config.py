"""The connector's settings, checked once, with an error that names the setting to fix."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from salesforce_api.errors import ConfigError
from salesforce_api.settings_check import check_against_spec  # noqa: F401 - part of this module's interface

from source_salesforce.soql import is_identifier, parse_datetime

API_VERSION = "62.0"
FORCE_API_CHOICES = ("auto", "rest", "bulk")
# A window under a minute and a half would mean a Bulk job per few records. A century, as a window or a lookback,
# already covers the dates Salesforce stores (1700 to 4000) in a few steps; more could leave Python's datetime.
MIN_WINDOW_DAYS = 0.001
MAX_WINDOW_DAYS = 36_500
MAX_LOOKBACK_SECONDS = 3_153_600_000
# Streams read at once: enough to keep a real org busy (each call waits a round trip, each Bulk job seconds), few
# enough to stay well inside its 25 concurrent long-running requests with room for the org's other tools.
DEFAULT_CONCURRENT_STREAMS = 8
MAX_CONCURRENT_STREAMS = 20


SETTING_PARENTS = "parent_external_ids"
ALL = "*"


@dataclass(frozen=True)
class ParentRule:
    """One entry of `parent_external_ids`: the reference fields of `sobject` (or of every object, "*") whose parent's
    external id the records carry; `fields` may be ("*",): every reference whose parent has a unique external id."""

    sobject: str
    fields: tuple[str, ...]
    index: int  # its place in the setting, for messages

    @property
    def setting(self) -> str:
        return f"{SETTING_PARENTS}[{self.index}]"


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
    exclude_base64_fields: bool = False
    concurrent_streams: int = DEFAULT_CONCURRENT_STREAMS
    parent_rules: tuple[ParentRule, ...] = ()

    def wants(self, object_name: str) -> bool:
        """Whether an object matches the `streams` name patterns (glob, case-insensitive)."""
        lowered = object_name.lower()
        return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in self.stream_patterns)


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
                "The setting 'start_date' must be a date (2024-01-31) or a UTC date-time (2024-01-31T00:00:00Z), "
                "between 1700-01-01 and 4000-12-31 (the dates Salesforce stores).",
                setting="start_date",
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
    if window_days is not None and (
        isinstance(window_days, bool)
        or not isinstance(window_days, int | float)
        or not MIN_WINDOW_DAYS <= window_days <= MAX_WINDOW_DAYS
    ):
        raise ConfigError(
            f"The setting 'window_days' must be a number of days from {MIN_WINDOW_DAYS} to {MAX_WINDOW_DAYS:,}, "
            "or empty.",
            setting="window_days",
        )

    lookback_seconds = config.get("lookback_seconds", 0)
    if (
        isinstance(lookback_seconds, bool)
        or not isinstance(lookback_seconds, int | float)
        or not 0 <= lookback_seconds <= MAX_LOOKBACK_SECONDS
    ):
        raise ConfigError(
            f"The setting 'lookback_seconds' must be a number of seconds from 0 to {MAX_LOOKBACK_SECONDS:,} "
            "(100 years).",
            setting="lookback_seconds",
        )

    threshold = config.get("bulk_threshold", 50_000)
    if not isinstance(threshold, int) or threshold < 0:
        raise ConfigError("The setting 'bulk_threshold' must be zero or a positive number of records.")

    concurrent = config.get("concurrent_streams", DEFAULT_CONCURRENT_STREAMS)
    if isinstance(concurrent, bool) or not isinstance(concurrent, int) or not 1 <= concurrent <= MAX_CONCURRENT_STREAMS:
        raise ConfigError(
            f"The setting 'concurrent_streams' must be a whole number from 1 to {MAX_CONCURRENT_STREAMS}.",
            setting="concurrent_streams",
        )
    parent_rules = _parent_rules(config.get(SETTING_PARENTS))

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
        exclude_base64_fields=bool(config.get("exclude_base64_fields", False)),
        concurrent_streams=concurrent,
        parent_rules=parent_rules,
    )


def _parent_rules(value: Any) -> tuple[ParentRule, ...]:
    """`parent_external_ids`: [{"object": "X__c" or "*", "fields": ["Account__c", ...] or ["*"]}, ...]."""
    if value is None:
        return ()
    example = '[{"object": "X__c", "fields": ["Account__c"]}]'
    if not isinstance(value, list):
        raise ConfigError(f"The setting '{SETTING_PARENTS}' must be a list such as {example}.", setting=SETTING_PARENTS)
    rules = []
    for index, entry in enumerate(value):
        where = f"{SETTING_PARENTS}[{index}]"
        if not isinstance(entry, Mapping) or set(entry) - {"object", "fields"}:
            raise ConfigError(
                f"The setting '{where}' must be an object with only the keys 'object' and 'fields', such as "
                f"{example[1:-1]}.",
                setting=where,
            )
        sobject = entry.get("object")
        if not (sobject == ALL or is_identifier(sobject)):
            raise ConfigError(
                f"The setting '{where}.object' must be an object's API name (such as X__c) or * for every object.",
                setting=f"{where}.object",
            )
        fields = entry.get("fields")
        if (
            not isinstance(fields, list)
            or not fields
            or not all(f == ALL or is_identifier(f) for f in fields)
            or (ALL in fields and len(fields) > 1)
        ):
            raise ConfigError(
                f"The setting '{where}.fields' must be a list of reference field API names (such as Account__c), "
                'or ["*"] for every reference whose parent has a unique external id.',
                setting=f"{where}.fields",
            )
        rules.append(ParentRule(sobject, tuple(fields), index))
    return tuple(rules)

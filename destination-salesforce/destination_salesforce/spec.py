"""The connector's specification and the typed settings read from a config that follows it."""

from __future__ import annotations

import difflib
import json
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import ConnectorSpecification, ConnectorSpecificationSerializer, DestinationSyncMode
from salesforce_api.errors import ConfigError
from salesforce_api.settings_check import check_against_spec  # noqa: F401 - part of this module's interface
from salesforce_api.soql import is_api_name
from salesforce_api.spec import advanced_auth, credentials_spec

OPERATIONS = ("insert", "update", "upsert", "delete")
APIS = ("auto", "collections", "bulk")


def connector_spec() -> ConnectorSpecification:
    """spec.json with the shared credentials block (one definition for both connectors) put in."""
    document = json.loads(pkgutil.get_data(__package__, "spec.json") or b"{}")
    properties = document["connectionSpecification"]["properties"]
    properties["credentials"] = {**credentials_spec(), "order": 0}
    return ConnectorSpecificationSerializer.load(
        {
            "connectionSpecification": document["connectionSpecification"],
            "documentationUrl": document.get("documentationUrl"),
            "supported_destination_sync_modes": [
                DestinationSyncMode(m).value for m in document["supported_destination_sync_modes"]
            ],
            "advanced_auth": advanced_auth(),
        }
    )


MAX_API_NAME = 255  # far above any real name (40 characters, a namespace and a suffix), far below a URL's limit


def check_api_name(name: Any, setting: str) -> str:
    """`name` when it is an object or field API name; a ConfigError naming the setting otherwise."""
    if is_api_name(name) and len(name) > MAX_API_NAME:
        raise ConfigError(
            f"The setting '{setting}' is {len(name):,} characters long: a Salesforce API name has at most "
            f"{MAX_API_NAME}.",
            setting=setting,
        )
    if not is_api_name(name):
        raise ConfigError(
            f"The setting '{setting}' must be a Salesforce API name: a letter, then letters, digits or underscores "
            "(e.g. Contact or My_Object__c).",
            setting=setting,
        )
    return name


@dataclass(frozen=True)
class ColumnRule:
    source: str
    target: str


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: Any = None


def unknown_settings(config: Any, schema: Mapping[str, Any], path: str = "") -> None:
    """Raise ConfigError for the first key the spec does not know, with the closest known name: a misspelt setting
    would otherwise be ignored and change what is written. The credentials block is left to its own check."""
    if isinstance(config, list):
        items = schema.get("items")
        for index, item in enumerate(config):
            if isinstance(items, Mapping):
                unknown_settings(item, items, f"{path}[{index}]")
        return
    properties = schema.get("properties")
    if not isinstance(config, Mapping) or not isinstance(properties, Mapping):
        return
    for key, value in config.items():
        setting = f"{path}.{key}" if path else str(key)
        if key not in properties:
            close = difflib.get_close_matches(str(key), list(properties), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known settings: {', '.join(properties)}."
            raise ConfigError(f"Unknown setting '{setting}'.{hint}", setting=setting)
        if key != "credentials":
            unknown_settings(value, properties[key], setting)


@dataclass(frozen=True)
class StreamOverride:
    """A `streams` entry: settings of one stream that replace the top-level ones for it (None: not overridden)."""

    name: str
    object: str | None = None
    operation: str | None = None
    external_id_field: str | None = None
    column_mapping: tuple[ColumnRule, ...] | None = None
    filter: tuple[Condition, ...] | None = None

    @classmethod
    def from_mapping(cls, entry: Mapping[str, Any]) -> StreamOverride:
        return cls(
            name=entry["name"],
            object=entry.get("object") or None,
            operation=entry.get("operation") or None,
            external_id_field=entry.get("external_id_field") or None,
            column_mapping=_rules(entry["column_mapping"]) if "column_mapping" in entry else None,
            filter=_conditions(entry["filter"]) if "filter" in entry else None,
        )


def _rules(items: Any) -> tuple[ColumnRule, ...]:
    return tuple(ColumnRule(r["source"], r["target"]) for r in items or ())


def _conditions(items: Any) -> tuple[Condition, ...]:
    return tuple(Condition(c["field"], c["operator"], c.get("value")) for c in items or ())


@dataclass(frozen=True)
class WriterConfig:
    """Settings of one write, defaults filled in. Credentials stay a plain mapping for salesforce_api."""

    credentials: Mapping[str, Any]
    object: str | None = None
    operation: str | None = None
    external_id_field: str | None = None
    auto_assign: bool = False
    assignment_rule_id: str | None = None
    column_mapping: tuple[ColumnRule, ...] = ()
    filter: tuple[Condition, ...] = ()
    batch_size: int = 10000
    flush_interval_seconds: float = 1.0
    api: str = "auto"
    bulk_threshold: int = 2000
    bulk_job_size_mb: int = 100
    concurrency: int = 4
    max_rejected_records: int | None = None
    max_rejected_ratio: float | None = None
    rejected_records_path: str | None = None
    api_version: str = "62.0"
    streams: tuple[StreamOverride, ...] = ()

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> WriterConfig:
        return cls(
            credentials=config["credentials"],
            object=config.get("object") or None,
            operation=config.get("operation") or None,
            external_id_field=config.get("external_id_field") or None,
            auto_assign=bool(config.get("auto_assign", False)),
            assignment_rule_id=config.get("assignment_rule_id") or None,
            column_mapping=_rules(config.get("column_mapping")),
            filter=_conditions(config.get("filter")),
            batch_size=int(config.get("batch_size", 10000)),
            flush_interval_seconds=float(config.get("flush_interval_seconds", 1.0)),
            api=config.get("api", "auto"),
            bulk_threshold=int(config.get("bulk_threshold", 2000)),
            bulk_job_size_mb=int(config.get("bulk_job_size_mb", 100)),
            concurrency=int(config.get("concurrency", 4)),
            max_rejected_records=config.get("max_rejected_records"),
            max_rejected_ratio=config.get("max_rejected_ratio"),
            rejected_records_path=config.get("rejected_records_path") or None,
            api_version=str(config.get("api_version", "62.0")),
            streams=tuple(StreamOverride.from_mapping(entry) for entry in config.get("streams") or ()),
        )

    def override(self, stream: str) -> StreamOverride | None:
        return next((entry for entry in self.streams if entry.name == stream), None)

    @property
    def auto_assign_header(self) -> str:
        """The Sforce-Auto-Assign value, always explicit: Salesforce assumes TRUE when the header is missing."""
        if not self.auto_assign:
            return "FALSE"
        return self.assignment_rule_id or "TRUE"

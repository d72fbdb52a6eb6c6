"""The settings of one stream, from the configured catalog and the config, each with the name of the setting it came
from (so that an error names what to change).

Airbyte's data activation (Airbyte 1.8+) sends, per configured stream, the object (`destination_object_name`), the
sync mode, and the matching key as the stream's `primary_key`. A `streams` entry of the config overrides the top-level
settings for one stream, where a connection writes several objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from airbyte_cdk.models import ConfiguredAirbyteStream, DestinationSyncMode
from salesforce_api.errors import ConfigError

from destination_salesforce.spec import ColumnRule, Condition, WriterConfig, check_api_name

KEYED_MODES = (DestinationSyncMode.append_dedup, DestinationSyncMode.update, DestinationSyncMode.soft_delete)


@dataclass(frozen=True)
class StreamSettings:
    stream: str
    sobject: str
    object_setting: str
    sync_mode: DestinationSyncMode = DestinationSyncMode.append
    operation: str | None = None  # for the append sync mode
    operation_setting: str = "operation"
    external_id_field: str | None = None
    key_setting: str = "external_id_field"
    column_mapping: tuple[ColumnRule, ...] = ()
    mapping_setting: str = "column_mapping"
    filter: tuple[Condition, ...] = ()
    filter_setting: str = "filter"
    schema_fields: tuple[str, ...] = ()  # the stream's declared fields (empty: not declared)


def settings_for_config(cfg: WriterConfig) -> list[StreamSettings]:
    """What `check` can verify without a catalog: the top-level object, and each `streams` entry naming an object."""
    found = []
    if cfg.object:
        found.append(_from_config(cfg, "", cfg.object, "object"))
    for entry in cfg.streams:
        if entry.object:
            found.append(_from_config(cfg, entry.name, entry.object, f"streams[{entry.name}].object"))
    return found


def settings_for_stream(
    cfg: WriterConfig, configured: ConfiguredAirbyteStream, object_names: Callable[[], Sequence[str]]
) -> StreamSettings:
    """One configured stream's settings; `object_names` lists the org's objects (asked only when needed)."""
    name = configured.stream.name
    entry = cfg.override(name)
    if configured.destination_object_name:
        sobject = configured.destination_object_name
        object_setting = f"destination_object_name of stream {name} in the configured catalog"
    elif entry is not None and entry.object:
        sobject, object_setting = entry.object, f"streams[{name}].object"
    elif cfg.object:
        sobject, object_setting = cfg.object, "object"
    else:
        sobject = next((o for o in object_names() if o.lower() == name.lower()), "")
        object_setting = f"the stream name {name} (no object set)"
        if not sobject:
            raise ConfigError(
                f"Stream {name}: no object to write. Set destination_object_name in the configured catalog, "
                f"'object' in the config, or an entry in 'streams' for {name}.",
                setting="object",
            )
    check_api_name(sobject, object_setting)
    settings = _from_config(cfg, name, sobject, object_setting)
    settings = replace(settings, sync_mode=configured.destination_sync_mode, schema_fields=_declared(configured))
    if settings.external_id_field is None and configured.destination_sync_mode in KEYED_MODES:
        key = _primary_key(configured)
        if key is not None:
            setting = f"primary_key of stream {name} in the configured catalog"
            check_api_name(key, setting)
            settings = replace(settings, external_id_field=key, key_setting=setting)
    return settings


def _from_config(cfg: WriterConfig, name: str, sobject: str, object_setting: str) -> StreamSettings:
    entry = cfg.override(name) if name else None

    def pick(setting: str) -> tuple[Any, str]:
        value = getattr(entry, setting, None) if entry is not None else None
        if value is not None:
            return value, f"streams[{name}].{setting}"
        return getattr(cfg, setting), setting

    operation, operation_setting = pick("operation")
    key, key_setting = pick("external_id_field")
    mapping, mapping_setting = pick("column_mapping")
    conditions, filter_setting = pick("filter")
    return StreamSettings(
        name or sobject, sobject, object_setting, DestinationSyncMode.append, operation, operation_setting,
        key, key_setting, mapping, mapping_setting, conditions, filter_setting,
    )  # fmt: skip


def _primary_key(configured: ConfiguredAirbyteStream) -> str | None:
    """The matching key data activation sends as the stream's primary key: one top-level field."""
    paths = configured.primary_key or []
    if not paths:
        return None
    if len(paths) != 1 or len(paths[0]) != 1:
        raise ConfigError(
            f"Stream {configured.stream.name}: the primary key in the configured catalog must be one top-level field, "
            "the Salesforce field (an external id, or Id) that matches records.",
            setting=f"primary_key of stream {configured.stream.name} in the configured catalog",
        )
    return paths[0][0]


def _declared(configured: ConfiguredAirbyteStream) -> tuple[str, ...]:
    schema: Mapping[str, Any] = configured.stream.json_schema or {}
    properties = schema.get("properties")
    return tuple(properties) if isinstance(properties, Mapping) else ()

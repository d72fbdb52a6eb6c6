"""Message and catalog builders for the destination tests."""

from __future__ import annotations

import logging
import sys
from types import ModuleType
from typing import Any

import pytest
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStream,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    StreamDescriptor,
    SyncMode,
    Type,
)
from destination_salesforce import DestinationSalesforce

LOGGER = logging.getLogger("airbyte")


def config(org: Any, **settings: Any) -> dict[str, Any]:
    return {"credentials": org.credentials("username_password"), "object": "X__c", **settings}


def stream(
    name: str,
    mode: str = "append",
    object_name: str | None = None,
    primary_key: list[list[str]] | None = None,
    fields: list[str] | None = None,
) -> ConfiguredAirbyteStream:
    """A configured stream; `object_name` and `primary_key` as data activation sends them, `fields` its schema's."""
    schema: dict[str, Any] = {"type": "object"}
    if fields is not None:
        schema["properties"] = {name: {"type": ["null", "string"]} for name in fields}
    return ConfiguredAirbyteStream(
        stream=AirbyteStream(name=name, json_schema=schema, supported_sync_modes=[SyncMode.full_refresh]),
        sync_mode=SyncMode.full_refresh,
        destination_sync_mode=DestinationSyncMode(mode),
        destination_object_name=object_name,
        primary_key=primary_key,
    )


def catalog(*streams: ConfiguredAirbyteStream) -> ConfiguredAirbyteCatalog:
    return ConfiguredAirbyteCatalog(streams=list(streams))


def record(stream_name: str, data: dict[str, Any]) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.RECORD, record=AirbyteRecordMessage(stream=stream_name, data=data, emitted_at=1718000000000)
    )


def state(stream_name: str, **blob: Any) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(StreamDescriptor(name=stream_name), AirbyteStateBlob(**blob)),
        ),
    )


def write(cfg: dict[str, Any], configured: ConfiguredAirbyteCatalog, messages: Any) -> list[AirbyteMessage]:
    return list(DestinationSalesforce().write(cfg, configured, messages))


def live(org: Any, sobject: str) -> list[dict[str, Any]]:
    return [r for r in org.admin.records(sobject) if not r.get("IsDeleted")]


@pytest.fixture
def h() -> ModuleType:
    """These builders, for test modules (pytest's importlib mode puts no test folder on sys.path)."""
    return sys.modules[__name__]

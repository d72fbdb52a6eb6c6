"""The config, catalog and state files, parsed with errors that name the file and say what is wrong.

The CDK's own readers raise plain exceptions, which come out as a generic system error; a broken file is something
the user fixes, so each problem here is a config error (the reading itself is salesforce_api.input_files').
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    AirbyteStateType,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    FailureType,
    StreamDescriptor,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from salesforce_api import input_files
from salesforce_api.errors import ConfigError

T = TypeVar("T")
logger = logging.getLogger("airbyte")


def _fail(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, failure_type=FailureType.config_error)


def _config_error(read: Callable[..., T], *args: Any) -> T:
    try:
        return read(*args)
    except ConfigError as exc:
        raise _fail(exc.message) from None


def read_config(path: str) -> dict[str, Any]:
    return _config_error(input_files.read_config, path)


def read_catalog(path: str) -> ConfiguredAirbyteCatalog:
    return _config_error(input_files.read_catalog, path)


def read_state(path: str | None) -> list[AirbyteStateMessage]:
    """One STREAM state per stream. A GLOBAL state's per-stream states and a legacy `[{"data": {stream: state}}]`
    are read as such (the CDK ignores the legacy form without a word, and refuses a shared_state with a bare
    ValueError); a GLOBAL `shared_state` is logged as not used: this source never writes one."""
    if not path:
        return []
    document = _config_error(input_files.read_json, path, "state")
    if document in (None, [], {}):
        return []
    if not isinstance(document, list):
        raise _fail(f"The state file {path} must be a list of STATE messages, as the last sync emitted them.")
    messages = []
    for index, item in enumerate(document):
        message = _config_error(input_files.load, AirbyteStateMessageSerializer.load, item, "state", path)
        messages.extend(_per_stream(message, index, path))
    return messages


def _per_stream(message: AirbyteStateMessage, index: int, path: str) -> list[AirbyteStateMessage]:
    if message.stream and message.type in (None, AirbyteStateType.STREAM):
        return [AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=message.stream)]
    if message.global_ is not None:
        shared = _blob_dict(message.global_.shared_state)
        if shared:
            logger.warning(
                "The state file's entry %d is a GLOBAL state: its per-stream states are read, its shared_state "
                "(keys: %s) is not used, as this source keeps one state per stream and never writes a shared one.",
                index,
                ", ".join(map(str, shared))[:200],
            )
        return [AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=s) for s in message.global_.stream_states]
    if message.data is not None:
        return _legacy(message.data, index, path)
    raise _fail(f"The state file {path}: entry {index} holds neither a stream nor a global state.")


def _legacy(data: Any, index: int, path: str) -> list[AirbyteStateMessage]:
    """A legacy state: `{"data": {"Account": {...}, ...}}`, each stream's state under its name."""
    data = _blob_dict(data) if isinstance(data, AirbyteStateBlob) else data
    if not isinstance(data, Mapping) or not all(isinstance(value, Mapping) for value in data.values()):
        raise _fail(
            f"The state file {path}: entry {index} is a legacy state whose 'data' is not a mapping of stream names "
            "to stream states; pass the STATE messages this source emitted, or reset the connection's state."
        )
    logger.info("The state file holds a legacy state; reading it as one state per stream (%s).", ", ".join(data))
    return [
        AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=name), stream_state=AirbyteStateBlob(**dict(state))
            ),
        )
        for name, state in data.items()
    ]


def _blob_dict(blob: Any) -> dict[str, Any]:
    if blob is None:
        return {}
    return dict(blob) if isinstance(blob, Mapping) else dict(vars(blob))

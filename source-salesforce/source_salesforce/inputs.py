"""The catalog and state files of `read`, parsed with errors that name the file and say what is wrong.

The CDK's own readers raise plain exceptions, which come out as a generic system error; a broken file is something
the user fixes, so each problem here is a config error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from airbyte_cdk.models import (
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    FailureType,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

T = TypeVar("T")
_MAX_DETAIL = 300  # a validation message may quote a whole sub-document; keep the error readable


def _fail(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, failure_type=FailureType.config_error)


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as exc:
        raise _fail(f"The {what} file {path} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    except UnicodeDecodeError:
        raise _fail(f"The {what} file {path} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise _fail(
            f"The {what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None


def _problems(exc: Exception) -> str:
    """serpyco's validation errors as `path: message` lines; other errors as their text."""
    items = getattr(exc, "errors", None) or []
    parts = [f"{item.instance_path or '(top level)'}: {item.message}" for item in items]
    text = "; ".join(parts) if parts else str(exc)
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _load(load: Callable[[Any], T], document: Any, what: str, path: str) -> T:
    try:
        return load(document)
    except (ValueError, TypeError, KeyError) as exc:
        raise _fail(f"The {what} file {path} is not a valid {what}: {_problems(exc)}.") from None


def read_catalog(path: str) -> ConfiguredAirbyteCatalog:
    document = _read_json(path, "catalog")
    if not isinstance(document, dict) or not document.get("streams"):
        raise _fail(
            f"The catalog file {path} has no streams: it must be a configured catalog, "
            '{"streams": [{"stream": {...}, "sync_mode": "incremental", ...}]}, with at least one stream.'
        )
    return _load(ConfiguredAirbyteCatalogSerializer.load, document, "catalog", path)


def read_state(path: str | None) -> list[AirbyteStateMessage]:
    if not path:
        return []
    document = _read_json(path, "state")
    if document in (None, [], {}):
        return []
    if not isinstance(document, list):
        raise _fail(f"The state file {path} must be a list of STATE messages, as the last sync emitted them.")
    messages = []
    for index, item in enumerate(document):
        message = _load(AirbyteStateMessageSerializer.load, item, "state", path)
        if not (message.stream or message.global_ or message.data):
            raise _fail(f"The state file {path}: entry {index} holds neither a stream nor a global state.")
        messages.append(message)
    return messages

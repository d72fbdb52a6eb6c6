"""The JSON files a connector is given (config, catalog, state), read with config errors naming the file and fault.

The CDK's readers raise plain exceptions, which come out as a generic "Something went wrong"; a broken file is
something the user fixes. No message quotes a config's content: it holds secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from salesforce_api.errors import ConfigError

T = TypeVar("T")
_MAX_DETAIL = 300  # a validation message may quote a whole sub-document; keep the error readable
_BOM = "\ufeff"  # written by some editors at the start of a UTF-8 file; not part of the JSON


def read_json(path: str, what: str) -> Any:
    """The JSON document in the file at `path`; `what` names the file in errors ("config", "catalog", "state")."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except IsADirectoryError:
        raise ConfigError(f"The {what} file {path} is a directory, not a file.") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"The {what} file {path} cannot be read ({reason}).") from None
    try:
        text = raw.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"The {what} file {path} is not UTF-8 text (invalid byte at offset {exc.start}).") from None
    if not text.strip():
        raise ConfigError(f"The {what} file {path} is empty: it must hold a JSON document.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg says what was expected; it never quotes the text.
        raise ConfigError(
            f"The {what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    except RecursionError:
        raise ConfigError(f"The {what} file {path} is nested too deeply to be read.") from None


def read_config(path: str) -> dict[str, Any]:
    """The connector's settings: a JSON object."""
    document = read_json(path, "config")
    if not isinstance(document, dict):
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(document), "a number")
        raise ConfigError(
            f"The config file {path} holds {kind}: it must hold a JSON object of settings, "
            '{"credentials": {...}, ...}.'
        )
    return document


def read_catalog(path: str) -> Any:
    """The configured catalog (airbyte_cdk's ConfiguredAirbyteCatalog), with at least one stream."""
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

    document = read_json(path, "catalog")
    if not isinstance(document, dict) or not document.get("streams"):
        raise ConfigError(
            f"The catalog file {path} has no streams: it must be a configured catalog, "
            '{"streams": [{"stream": {...}, "sync_mode": "incremental", ...}]}, with at least one stream.'
        )
    return load(ConfiguredAirbyteCatalogSerializer.load, document, "catalog", path)


def load(loader: Callable[[Any], T], document: Any, what: str, path: str) -> T:
    """`loader(document)` (a protocol model's deserialiser), its validation errors as a ConfigError."""
    try:
        return loader(document)
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"The {what} file {path} is not a valid {what}: {_problems(exc)}.") from None


def _problems(exc: Exception) -> str:
    """serpyco's validation errors as `path: message` lines; other errors as their text."""
    items = getattr(exc, "errors", None) or []
    parts = [f"{item.instance_path or '(top level)'}: {item.message}" for item in items]
    text = "; ".join(parts) if parts else str(exc)
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."

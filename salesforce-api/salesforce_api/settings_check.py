"""Checking a connector config against its spec with errors that name the setting and never quote its value.

jsonschema's own messages (and the CDK's, built on them) repeat the offending value, which may be a password; these
say which setting is wrong and what it allows, built from the spec alone. Both connectors use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from salesforce_api.errors import ConfigError

# What a setting checked by a bare pattern should look like, for settings whose spec has no pattern_descriptor.
EXPECTED_FORMAT = {
    "login_url": (
        "an https URL such as https://login.salesforce.com, https://test.salesforce.com or your My Domain URL; "
        "http only for a loopback address such as http://127.0.0.1"
    ),
}


def check_against_spec(config: Mapping[str, Any], connection_spec: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the first setting that breaks the spec (jsonschema's best match)."""
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
    hint = ""
    if error.validator == "pattern":
        description = error.schema.get("pattern_descriptor") if isinstance(error.schema, Mapping) else None
        description = description or EXPECTED_FORMAT.get(setting.split(".")[-1])
        hint = f" (expected {description})" if description else ""
    raise ConfigError(f"The setting '{setting}' {_rule_text(str(error.validator), error.validator_value)}{hint}.",
                      setting=setting)  # fmt: skip


def _rule_text(validator: str, value: Any) -> str:
    """What a JSON-schema rule asks for, in words; built from the spec only, never from the config."""
    if validator == "enum":
        return f"must be one of {', '.join(map(str, value))}"
    if validator == "type":
        return f"must be of type {' or '.join(value) if isinstance(value, list) else value}"
    bounds = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "greater than",
              "exclusiveMaximum": "less than", "const": ""}  # fmt: skip
    if validator in bounds:
        return f"must be {bounds[validator]} {value}".replace("  ", " ")
    simple = {
        "required": "is required",
        "pattern": "has the wrong format",
        "format": "has the wrong format",
        "oneOf": "does not match any of the offered choices",
        "additionalProperties": "holds a key the specification does not allow",
    }
    return simple.get(validator, f"breaks the rule '{validator}' of the specification")


def _branch_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a `oneOf` keyed by `auth_type` (the credentials), the error inside the branch the config chose.

    Without this, a wrong sub-setting (say the login URL) only yields "does not match any of the offered choices".
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

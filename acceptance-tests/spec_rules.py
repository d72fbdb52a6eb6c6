"""The rules Airbyte applies to a connector spec, as a list of problems (empty when the spec is fine)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

SECRET_NAME = re.compile(r"(password|secret|token|private_key|api_key|access_key)$", re.IGNORECASE)
FORBIDDEN_KEYWORDS = ("anyOf", "allOf", "not", "patternProperties", "if", "then", "else", "prefixItems")


def spec_problems(spec: dict[str, Any]) -> list[str]:
    schema = spec.get("connectionSpecification")
    if not isinstance(schema, dict):
        return ["connectionSpecification is missing"]
    problems = []
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as exc:
        problems.append(f"not a valid Draft-7 schema: {exc.message}")
    if not spec.get("documentationUrl"):
        problems.append("documentationUrl is missing")
    problems += _walk(schema, "connectionSpecification", top_level=True, groups=_group_ids(schema))
    return problems


def _group_ids(schema: dict[str, Any]) -> set[str]:
    return {g["id"] for g in schema.get("groups", []) if isinstance(g, dict) and "id" in g}


def _walk(node: Any, path: str, *, top_level: bool = False, groups: set[str] | None = None) -> list[str]:
    problems: list[str] = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            problems += _walk(item, f"{path}[{index}]")
        return problems
    if not isinstance(node, dict):
        return problems
    if "$ref" in node:
        problems.append(f"{path}: $ref is not allowed (the UI cannot resolve it)")
    for keyword in FORBIDDEN_KEYWORDS:
        if keyword in node:
            problems.append(f"{path}: the keyword {keyword} is not supported by the Airbyte UI")
    types = node.get("type")
    if isinstance(types, list) and not (len(types) == 2 and "null" in types):
        problems.append(f"{path}: type {types} must be one type or [type, 'null']")
    if node.get("airbyte_secret") and _types(node) - {"string", "number", "integer"}:
        problems.append(f"{path}: airbyte_secret on a non-scalar property")
    if "oneOf" in node:
        problems += _one_of_problems(node, path)
    properties = node.get("properties")
    if isinstance(properties, dict):
        problems += _properties_problems(properties, path, top_level=top_level, groups=groups or set())
    for key, value in node.items():
        if key in ("properties",):
            continue
        if isinstance(value, dict | list) and key not in ("examples", "default", "enum", "groups", "required"):
            problems += _walk(value, f"{path}.{key}")
    return problems


def _properties_problems(properties: dict[str, Any], path: str, *, top_level: bool, groups: set[str]) -> list[str]:
    problems = []
    seen_orders: dict[tuple[str | None, Any], str] = {}
    for name, prop in properties.items():
        where = f"{path}.properties.{name}"
        if not isinstance(prop, dict):
            problems.append(f"{where}: not an object")
            continue
        if SECRET_NAME.search(name) and "string" in _types(prop) and prop.get("airbyte_secret") is not True:
            problems.append(f"{where}: looks secret but is not marked airbyte_secret")
        if "group" in prop:
            if not top_level:
                problems.append(f"{where}: group is only allowed on top-level properties")
            elif prop["group"] not in groups:
                problems.append(f"{where}: group {prop['group']!r} is not declared in groups")
        if "order" in prop:
            key = (prop.get("group"), prop["order"])
            if key in seen_orders:
                problems.append(f"{where}: order {prop['order']} already used by {seen_orders[key]} in its group")
            seen_orders[key] = name
        problems += _walk(prop, where)
    return problems


def _one_of_problems(node: dict[str, Any], path: str) -> list[str]:
    problems = []
    if node.get("type") != "object":
        problems.append(f"{path}: a oneOf parent must have type object")
    variants = node["oneOf"]
    if not all(isinstance(v, dict) and isinstance(v.get("properties"), dict) for v in variants):
        return [*problems, f"{path}: every oneOf option needs properties"]
    shared = set.intersection(*(set(v["properties"]) for v in variants))
    discriminators = [name for name in sorted(shared) if all("const" in v["properties"][name] for v in variants)]
    if len(discriminators) != 1:
        return [*problems, f"{path}: the oneOf options must share exactly one const property, got {discriminators}"]
    name = discriminators[0]
    consts = [v["properties"][name]["const"] for v in variants]
    if len(set(consts)) != len(consts):
        problems.append(f"{path}: the oneOf discriminator {name} repeats a const value: {consts}")
    for variant in variants:
        prop = variant["properties"][name]
        if "default" in prop and prop["default"] != prop["const"]:
            problems.append(f"{path}: {name} has a default that differs from its const")
        if "enum" in prop and prop["enum"] != [prop["const"]]:
            problems.append(f"{path}: {name} has an enum that differs from its const")
        if name not in variant.get("required", []):
            problems.append(f"{path}: {name} must be required in option {prop['const']!r}")
    return problems


def _types(node: dict[str, Any]) -> set[str]:
    types = node.get("type", [])
    return set(types if isinstance(types, list) else [types])


def secret_values(spec: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """The config values the spec marks airbyte_secret (walking properties and oneOf options)."""
    yield from _secrets(spec["connectionSpecification"], config)


def _secrets(schema: dict[str, Any], value: Any) -> Iterator[str]:
    if not isinstance(value, dict):
        return
    for option in schema.get("oneOf", []):
        yield from _secrets(option, value)
    for name, prop in schema.get("properties", {}).items():
        if name not in value:
            continue
        if prop.get("airbyte_secret") and isinstance(value[name], str | int | float):
            yield str(value[name])
        else:
            yield from _secrets(prop, value[name])

"""spec: one SPEC message, a valid spec by Airbyte's rules, unchanged unless the expected file is updated on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spec_rules import spec_problems

EXPECTED = Path(__file__).parent / "expected"


@pytest.fixture(params=["source", "destination"])
def connector(request: pytest.FixtureRequest):
    return request.param, request.getfixturevalue(request.param)


def test_spec_follows_airbyte_rules(connector) -> None:
    _, script = connector
    run = script.run("spec").ok()
    assert spec_problems(run.spec) == []
    assert [m["type"] for m in run.messages if m["type"] != "LOG"] == ["SPEC"]


def test_spec_unchanged_unless_updated_on_purpose(connector, update_expected: bool) -> None:
    name, script = connector
    spec = script.run("spec").ok().spec
    path = EXPECTED / f"{name}_spec.json"
    if update_expected:
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"{path.name} is missing: run with --update-expected (or UPDATE_EXPECTED=1) to write it"
    assert spec == json.loads(path.read_text()), (
        f"the {name} spec changed: if on purpose, rerun with --update-expected and commit {path.name}"
    )


def test_credentials_offer_every_auth_method_with_secrets_marked(connector) -> None:
    _, script = connector
    credentials = script.run("spec").ok().spec["connectionSpecification"]["properties"]["credentials"]
    options = {o["properties"]["auth_type"]["const"]: o for o in credentials["oneOf"]}
    assert set(options) == {"username_password", "refresh_token", "client_credentials", "jwt_bearer"}
    secrets = {
        method: sorted(k for k, v in option["properties"].items() if v.get("airbyte_secret"))
        for method, option in options.items()
    }
    assert secrets == {
        "username_password": ["client_secret", "password", "security_token"],
        "refresh_token": ["client_secret", "refresh_token"],
        "client_credentials": ["client_secret"],
        "jwt_bearer": ["private_key"],
    }


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"properties": {"api_token": {"type": "string"}}}, "not marked airbyte_secret"),
        ({"properties": {"a": {"$ref": "#/definitions/x"}}}, "$ref"),
        ({"properties": {"a": {"type": "string", "order": 1}, "b": {"type": "string", "order": 1}}}, "order 1"),
        ({"properties": {"a": {"anyOf": [{"type": "string"}]}}}, "anyOf"),
        (
            {"properties": {"a": {"type": "object", "oneOf": [{"properties": {"k": {"type": "string"}}}]}}},
            "exactly one const",
        ),
    ],
)
def test_spec_rules_catch_each_problem(spec: dict, problem: str) -> None:
    """The rules themselves must fail on bad specs, or a passing spec test proves nothing."""
    full = {"documentationUrl": "https://example.com", "connectionSpecification": {"type": "object", **spec}}
    assert any(problem in p for p in spec_problems(full)), spec_problems(full)

"""check: success with a good config; each bad config gives exactly one FAILED status that helps, and leaks nothing."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from acceptance_configs import DESTINATION_DIR, SOURCE_DIR, load_json, pointed_at
from spec_rules import secret_values


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def changed(credentials: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {**credentials, **values}


# (name, how to spoil the credentials, words the message must contain: one of each tuple)
BAD_CREDENTIALS: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], tuple[str, ...]]] = [
    ("wrong_password", lambda c: changed(c, password="not-the-password-123"), ("password",)),  # noqa: S106
    ("wrong_security_token", lambda c: changed(c, security_token="WRONGTOKEN123"), ("password", "security token")),  # noqa: S106
    ("wrong_client_secret", lambda c: changed(c, client_secret="wrong-client-secret-456"), ("client",)),  # noqa: S106
    ("unknown_client_id", lambda c: changed(c, client_id="unknown-client-id"), ("client",)),
    ("unreachable_login_url", lambda c: changed(c, login_url=closed_port_url()), ("login url", "login_url")),
    (
        "revoked_refresh_token",
        lambda c: {
            "auth_type": "refresh_token",
            "login_url": c["login_url"],
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "refresh_token": "revoked-refresh-token-789",
        },
        ("refresh token", "refresh_token"),
    ),
]


def assert_one_helpful_failure(run, config: dict[str, Any], spec: dict[str, Any], words: tuple[str, ...]) -> None:
    assert run.returncode == 0, run.describe()
    statuses = run.connection_statuses
    assert [s["status"] for s in statuses] == ["FAILED"], run.describe()
    message = statuses[0].get("message") or ""
    assert any(word in message.lower() for word in words), f"message does not say what to fix: {message!r}"
    secrets = [s for s in secret_values(spec, config) if len(s) >= 6]
    assert secrets, "the bad config carries secrets: the leak check must have something to look for"
    for number, line in enumerate((run.stdout + run.stderr).splitlines(), start=1):
        for secret in secrets:
            assert secret not in line, f"a secret from the config appears in output line {number}"


@pytest.fixture(scope="module")
def specs(source, destination) -> dict[str, dict[str, Any]]:
    return {"source": source.run("spec").ok().spec, "destination": destination.run("spec").ok().spec}


def test_source_check_succeeds(source, source_config) -> None:
    run = source.run("check", config=source_config).ok()
    assert [s["status"] for s in run.connection_statuses] == ["SUCCEEDED"]


def test_destination_check_succeeds(destination, destination_config) -> None:
    run = destination.run("check", config=destination_config).ok()
    assert [s["status"] for s in run.connection_statuses] == ["SUCCEEDED"]


@pytest.mark.parametrize(("name", "spoil", "words"), BAD_CREDENTIALS, ids=[b[0] for b in BAD_CREDENTIALS])
@pytest.mark.parametrize("side", ["source", "destination"])
def test_bad_credentials_fail_once_helpfully_without_leaking(
    request, specs, side, name, spoil, words, source_config, destination_config
) -> None:
    config = copy.deepcopy(source_config if side == "source" else destination_config)
    config["credentials"] = spoil(config["credentials"])
    run = request.getfixturevalue(side).run("check", config=config)
    assert_one_helpful_failure(run, config, specs[side], words)


@pytest.mark.parametrize("side", ["source", "destination"])
def test_committed_invalid_config_fails(request, specs, org, side) -> None:
    folder = SOURCE_DIR if side == "source" else DESTINATION_DIR
    config = pointed_at(load_json(folder / "integration_tests" / "invalid_config.json"), org)
    run = request.getfixturevalue(side).run("check", config=config)
    assert_one_helpful_failure(run, config, specs[side], ("password", "client", "credentials"))


def test_source_config_against_spec_fails_naming_the_setting(source, specs, source_config) -> None:
    config = {**source_config, "start_date": "last tuesday"}
    run = source.run("check", config=config)
    assert_one_helpful_failure(run, config, specs["source"], ("start_date", "last tuesday"))


def test_destination_unknown_object_fails_naming_it(destination, specs, destination_config) -> None:
    config = {**destination_config, "object": "No_Such_Object__c", "external_id_field": None}
    config = {k: v for k, v in config.items() if v is not None}
    run = destination.run("check", config=config)
    assert_one_helpful_failure(run, config, specs["destination"], ("no_such_object__c",))


def test_source_config_without_secrets_is_not_printed(source, source_config) -> None:
    """The committed sample config's secrets stay out of every command's output, successful ones included."""
    run = source.run("check", config=source_config)
    text = run.stdout + run.stderr
    for secret in ("emulator-password", "emulator-client-secret", "EMULATORTOKEN"):
        assert secret not in text
    assert json.dumps(source_config)  # the config itself is valid JSON the connector accepted

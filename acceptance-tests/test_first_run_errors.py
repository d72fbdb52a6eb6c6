"""What a first run against a real org most often meets: a refused login, and the network failing mid-sync."""

from __future__ import annotations

import copy
import socket

from runner import configured_catalog
from test_destination_write import destination_catalog, record, state


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting to it fails at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_refused_login_says_what_it_can_mean_and_where_to_look(source, source_config) -> None:
    config = copy.deepcopy(source_config)
    config["credentials"]["password"] = "a-password-that-was-changed"  # noqa: S105
    run = source.run("check", config=config)
    (status,) = run.connection_statuses
    assert status["status"] == "FAILED"
    message = status["message"]
    assert "invalid_grant" in message and "'credentials.password'" in message
    for cause in ("security token", "locked out", "frozen", "blocked for the org", "login IP range"):
        assert cause in message, cause
    assert "Setup > Login History" in message
    assert "a-password-that-was-changed" not in run.stdout + run.stderr


def test_unreachable_login_fails_check_as_config_but_a_read_as_transient(source, source_config) -> None:
    config = copy.deepcopy(source_config)
    streams = source.run("discover", config=config).ok().catalog["streams"]
    config["credentials"]["login_url"] = closed_port_url()

    (status,) = source.run("check", config=config).connection_statuses
    assert status["status"] == "FAILED" and "'credentials.login_url'" in status["message"]

    read = source.run("read", config=config, catalog=configured_catalog(streams, ["Account"], "full_refresh"))
    assert read.returncode != 0 and read.records() == []
    assert read.errors and {e["failure_type"] for e in read.errors} == {"transient_error"}, read.errors
    assert any("cannot be reached" in e["message"] for e in read.errors)


def test_destination_write_with_the_login_unreachable_is_transient(destination, destination_config) -> None:
    config = copy.deepcopy(destination_config)
    config["credentials"]["login_url"] = closed_port_url()
    stdin = record("people", {"External_Id__c": "NET-1", "Name": "x"}) + "\n" + state("people", 1) + "\n"
    run = destination.run("write", config=config, catalog=destination_catalog("people", "append"), stdin=stdin)
    assert run.returncode != 0 and run.states == []
    assert run.errors and {e["failure_type"] for e in run.errors} == {"transient_error"}, run.errors

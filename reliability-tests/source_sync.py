"""Helpers for resumable source syncs of X__c: the org, the catalog, and a read that can be killed part way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reliability_harness import SOURCE, Live, Workdir, command, configured_catalog, discover_stream
from salesforce_emulator.testing import Emulator

PAGE = 200  # REST page size of the org: the source checkpoints after every page


def large_org(org_factory: Any, records: int, **options: Any) -> tuple[Emulator, dict[str, Any], dict[str, Any]]:
    org = org_factory(records=5, rest_page_size=PAGE, **options)
    org.admin.generate("X__c", records - 5)
    config = {"credentials": org.credentials("username_password"), "streams": ["X__c"], "force_api": "rest"}
    catalog = configured_catalog(discover_stream(config, "X__c", org))
    return org, config, catalog


@dataclass
class Attempt:
    records: list[dict[str, Any]] = field(default_factory=list)
    after_last_state: int = 0  # records delivered after the last STATE: the next run reads them again
    last_state: dict[str, Any] | None = None
    killed: bool = False
    run: Any = None


def read_until(
    org: Emulator, config: dict[str, Any], catalog: dict[str, Any], state: Any, kill_after: int | None
) -> Attempt:
    """One `read`, resumed from `state`; SIGKILL once `kill_after` records arrived (None: to the end)."""
    work = Workdir()
    live = Live(command(SOURCE, "read", work, config, catalog, state), work)
    attempt = Attempt()
    for message in live.messages():
        if message["type"] == "RECORD":
            attempt.records.append(message["record"]["data"])
            attempt.after_last_state += 1
            if kill_after is not None and len(attempt.records) >= kill_after:
                live.kill()
                attempt.killed = True
                break
        elif message["type"] == "STATE":
            attempt.last_state = message["state"]
            attempt.after_last_state = 0
    attempt.run = live.finish(config, org)
    return attempt

"""Write RESULTS.md from the figures the suite counted during its last run.

The file keeps one section per kind of run (the `make test` suite, the `make soak` variants): a run replaces its
own section and leaves the other one as it was, so that both sets of figures stay on record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"
HEADER = """# Reliability and security results

Written by `reliability-tests/conftest.py` at the end of every full run of this suite (a `-k` selection or a single
file writes nothing). Each section holds the figures of the last run of its kind; the command that produced them is
given with them.
"""
KINDS = {
    "test": ("The suite of `make test`", "`.venv/bin/python -m pytest reliability-tests -q -n 2` or `make test`"),
    "soak": (
        "The soak variants of `make soak`",
        "`.venv/bin/python -m pytest reliability-tests -m soak --run-soak -q`",
    ),
}


def section(
    kind: str, tally: Counter[str], faults: Counter[str], outcomes: Counter[str], failed: list[str], workers: int
) -> str:
    title, command = KINDS[kind]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    run_on = f"{workers} xdist workers" if workers else "one process"
    lines = [
        f"<!-- run: {kind} -->",
        f"## {title}",
        "",
        f"Last run {when}, in {run_on}; command: {command}.",
        "",
        f"Tests: {outcomes['passed']} passed, {outcomes['failed']} failed, {outcomes['skipped']} skipped.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value:,} |" for name, value in sorted(tally.items())]
    lines += [f"| faults injected: {name} | {count:,} |" for name, count in sorted(faults.items())]
    lines += [f"| faults injected: total | {sum(faults.values()):,} |"]
    if failed:
        lines += ["", "Failing tests of that run:", ""]
        lines += [f"- `{name}`" for name in failed]
    lines += [f"<!-- end: {kind} -->"]
    return "\n".join(lines)


def write_results(
    tally: Counter[str],
    faults: Counter[str],
    outcomes: Counter[str],
    soak: bool,
    failed: list[str],
    workers: int = 0,
) -> None:
    kind = "soak" if soak else "test"
    old = RESULTS.read_text() if RESULTS.exists() else ""
    sections = {
        k: m.group(0)
        for k in KINDS
        if (m := re.search(rf"<!-- run: {k} -->.*?<!-- end: {k} -->", old, flags=re.DOTALL)) is not None
    }
    sections[kind] = section(kind, tally, faults, outcomes, failed, workers)
    body = "\n\n".join(sections[k] for k in KINDS if k in sections)
    RESULTS.write_text(f"{HEADER}\n{body}\n")

"""Write RESULTS.md from the figures the suite counted during its last run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"


def write_results(
    tally: Counter[str], faults: Counter[str], outcomes: Counter[str], soak: bool, failed: list[str]
) -> None:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability and security results",
        "",
        "Written by `reliability-tests/conftest.py` at the end of every run of this suite; the figures are from the",
        f"last run ({'`make soak`' if soak else '`make test`'}, {when}).",
        "",
        f"Tests: {outcomes['passed']} passed, {outcomes['failed']} failed, {outcomes['skipped']} skipped.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value:,} |" for name, value in sorted(tally.items())]
    lines += [f"| faults injected: {kind} | {count:,} |" for kind, count in sorted(faults.items())]
    lines += [f"| faults injected: total | {sum(faults.values()):,} |"]
    if failed:
        lines += ["", "Failing tests of that run:", ""]
        lines += [f"- `{name}`" for name in failed]
    RESULTS.write_text("\n".join(lines) + "\n")

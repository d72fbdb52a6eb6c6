"""Console entry point: `source-salesforce spec|check|discover|read`."""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # mallopt() parameter (glibc malloc.h)
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """glibc gives each thread that contends for malloc an arena of its own (up to 8 per CPU), and memory freed in one
    is not reused by another: with streams read at once in threads, the heap grew by a third. Two arenas keep it near
    a one-thread read's size. A no-op off glibc."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass


def run(args: list[str] | None = None) -> None:
    limit_malloc_arenas()  # before any thread starts
    # Imported here, not above: Bulk page workers start by importing this module (the console script's), and they
    # need none of the CDK.
    from airbyte_cdk.entrypoint import PRINT_BUFFER

    from source_salesforce.entrypoint import SourceEntrypoint
    from source_salesforce.source import SourceSalesforce

    entrypoint = SourceEntrypoint(SourceSalesforce())
    parsed = entrypoint.parse_args(sys.argv[1:] if args is None else args)
    with PRINT_BUFFER:
        out = sys.__stdout__.buffer  # type: ignore[union-attr]
        for lines in entrypoint.output(parsed):
            if isinstance(lines, str):
                # A STATE (or trace) goes out at once: the print buffer would hold it until some later write, and a
                # kill in between would lose the checkpoint (and the Bulk job ids it names for the next run to delete).
                with PRINT_BUFFER.lock:
                    PRINT_BUFFER.write(f"{lines}\n")
                    PRINT_BUFFER.flush()
                continue
            # Record lines skip the print buffer (a str copy, then encoded again). Under its lock, what it holds goes
            # out first and no other thread's log line can land inside them.
            with PRINT_BUFFER.lock:
                PRINT_BUFFER.flush()
                out.write(lines)


if __name__ == "__main__":
    run()

"""Peak memory of a process tree, read from /proc while it runs."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


class PeakMemory:
    """Polls /proc for the VmHWM (a process's own peak resident set) of a process and of every process below it (the
    source's Bulk page workers, another connector's helpers) until stopped."""

    TREE_EVERY = 10  # polls: finding the processes below scans /proc

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks_kb: dict[int, int] = {}
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        below: list[int] = []
        polls = 0
        while self.running:
            if polls % self.TREE_EVERY == 0:
                below = self._below()
            polls += 1
            for pid in [self.pid, *below]:
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), int(line.split()[1]))
                except (OSError, ValueError):
                    if pid == self.pid:
                        return
            time.sleep(0.05)

    def _below(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        found, frontier = [], {self.pid}
        while frontier:
            frontier = {pid for pid, parent in parents.items() if parent in frontier}
            found += frontier
        return found

    @property
    def processes(self) -> int:
        return len(self.peaks_kb)

    def stop(self) -> tuple[float, float]:
        """(the process's peak RSS, the sum of the peaks of the processes below it), in MB."""
        self.running = False
        self.thread.join()
        below = sum(kb for pid, kb in self.peaks_kb.items() if pid != self.pid)
        return self.peaks_kb.get(self.pid, 0) / 1024, below / 1024

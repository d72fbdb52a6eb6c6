"""Several streams read at once: each stream's messages come from its own thread, in that stream's order, merged into
one output through a buffer bounded in bytes. A stream may wait for others to be done first (a stream carrying its
parents' external ids after those parents, so that a copy into another org writes the parents first).

A real org answers each call after a round trip and runs Bulk jobs for seconds; reading streams one after another
leaves it idle most of the time. Threads are enough: a stream waits on the network, and Bulk results are shaped in
worker processes (page_workers). The bound keeps memory flat when the output is slower than the reads: a stream whose
messages do not fit waits until the consumer catches up.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

Task = Callable[[], Iterator[Any]]
BUFFER_BYTES = 32 << 20  # messages waiting for the output, all streams together
SMALL_MESSAGE_BYTES = 1_000  # what a message other than a block of record lines is counted as
STOP_WAIT_SECONDS = 30.0


def message_bytes(message: Any) -> int:
    lines = getattr(message, "lines", None)
    return len(lines) if isinstance(lines, bytes) else SMALL_MESSAGE_BYTES


class _Buffer:
    """Messages from several threads, taken by one: `put` waits while the buffer holds `limit` bytes or more (a
    message alone is always let in, so a large one cannot wait forever)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: deque[tuple[Any, int]] = deque()
        self._bytes = 0
        self._changed = threading.Condition()
        self.closed = False

    def put(self, item: Any, size: int) -> bool:
        """False when the reader has gone (the producer should stop)."""
        with self._changed:
            while self._items and self._bytes + size > self._limit and not self.closed:
                self._changed.wait()
            if self.closed:
                return False
            self._items.append((item, size))
            self._bytes += size
            self._changed.notify_all()
            return True

    def take(self) -> Any:
        with self._changed:
            while not self._items:
                self._changed.wait()
            item, size = self._items.popleft()
            self._bytes -= size
            self._changed.notify_all()
            return item

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._items.clear()
            self._changed.notify_all()


class _Finished:
    """A worker thread has no more tasks."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def in_dependency_order(count: int, after: Sequence[Collection[int]]) -> list[int]:
    """Task indexes in the order given, except that a task comes after the tasks it waits for (`after[i]`); tasks in
    a cycle of waits keep the order given, their waits within the cycle dropped (see runnable_after)."""
    order: list[int] = []
    placed: set[int] = set()
    visiting: set[int] = set()

    def place(index: int) -> None:
        if index in placed or index in visiting:
            return
        visiting.add(index)
        for earlier in sorted(after[index]):
            place(earlier)
        visiting.discard(index)
        placed.add(index)
        order.append(index)

    for index in range(count):
        place(index)
    return order


def runnable_after(order: Sequence[int], after: Sequence[Collection[int]]) -> dict[int, set[int]]:
    """Each task's waits that come before it in `order` (a wait on a later task, from a cycle, is dropped)."""
    position = {index: n for n, index in enumerate(order)}
    return {index: {e for e in after[index] if position[e] < position[index]} for index in order}


class _Schedule:
    """Which task a free thread runs next: the first in order whose waits are all done; None once none is left."""

    def __init__(self, order: Sequence[int], waits: dict[int, set[int]], buffer: _Buffer) -> None:
        self._todo = list(order)
        self._waits = waits
        self._done: set[int] = set()
        self._buffer = buffer
        self._changed = threading.Condition()

    def next(self) -> int | None:
        with self._changed:
            while self._todo and not self._buffer.closed:
                for index in self._todo:
                    if self._waits[index] <= self._done:
                        self._todo.remove(index)
                        return index
                self._changed.wait(0.5)
            return None

    def finished(self, index: int) -> None:
        with self._changed:
            self._done.add(index)
            self._changed.notify_all()


def interleaved(
    tasks: Sequence[Task],
    workers: int,
    buffer_bytes: int = BUFFER_BYTES,
    after: Sequence[Collection[int]] | None = None,
) -> Iterator[Any]:
    """Every message of every task: up to `workers` tasks run at once, each in a thread, in the order given, but a
    task starts only once the tasks it waits for (`after[i]`, indexes) are done; a task's messages keep their order.
    A task should handle its own errors; one it raises stops every task and is raised here. Closing this iterator
    early stops the tasks (their generators are closed, so their cleanup runs)."""
    waits = after if after is not None else [()] * len(tasks)
    order = in_dependency_order(len(tasks), waits)
    if workers <= 1 or len(tasks) <= 1:
        for index in order:
            yield from tasks[index]()
        return
    buffer = _Buffer(buffer_bytes)
    schedule = _Schedule(order, runnable_after(order, waits), buffer)

    def work() -> None:
        try:
            while (index := schedule.next()) is not None:
                messages = tasks[index]()
                try:
                    for message in messages:
                        if not buffer.put(message, message_bytes(message)):
                            return
                finally:
                    messages.close()  # type: ignore[attr-defined]
                schedule.finished(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which raises it
            buffer.put(_Failed(exc), 0)
        finally:
            buffer.put(_Finished(), 0)

    threads = [threading.Thread(target=work, name=f"stream-{n}", daemon=True) for n in range(min(workers, len(tasks)))]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = buffer.take()
            if isinstance(item, _Finished):
                running -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield item
    finally:
        buffer.close()
        # A thread stops at its next message; one waiting on Salesforce (a Bulk job) is not waited for long.
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

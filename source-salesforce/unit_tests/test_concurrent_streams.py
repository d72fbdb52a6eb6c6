"""interleaved(): tasks run at once, each task's messages in order, memory bounded, cleanup on early stop."""

import threading
from dataclasses import dataclass

import pytest
from source_salesforce.concurrent_streams import in_dependency_order, interleaved


@dataclass
class Block:
    lines: bytes


def counting(name, count):
    def task():
        for n in range(count):
            yield (name, n)

    return task


def test_every_message_of_every_task_in_each_tasks_order():
    tasks = [counting(name, 500) for name in "abcde"]
    got = list(interleaved(tasks, workers=3))
    assert sorted(got) == sorted((name, n) for name in "abcde" for n in range(500))
    for name in "abcde":
        assert [n for task, n in got if task == name] == list(range(500))


def test_tasks_run_at_once():
    """Two tasks that each wait for the other to start can only finish when they run side by side."""
    started = [threading.Event(), threading.Event()]

    def task(me, other):
        def run():
            started[me].set()
            assert started[other].wait(10), "the other task never started"
            yield me

        return run

    assert sorted(interleaved([task(0, 1), task(1, 0)], workers=2)) == [0, 1]


def test_one_worker_reads_tasks_one_after_another_in_this_thread():
    threads = set()

    def task(name):
        def run():
            threads.add(threading.current_thread())
            yield from ((name, n) for n in range(3))

        return run

    assert list(interleaved([task("a"), task("b")], workers=1)) == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
        ("b", 1),
    ] + [("b", 2)]
    assert threads == {threading.current_thread()}


def test_a_slow_reader_holds_producers_to_the_buffer_size():
    produced = []

    def big(name):
        def run():
            for _ in range(40):
                produced.append(name)
                yield Block(b"x" * 1000)

        return run

    reader = interleaved([big("a"), big("b")], workers=2, buffer_bytes=5000)
    taken = 0
    for _ in reader:
        taken += 1
        threading.Event().wait(0.002)  # a slow consumer
        # At most 5 blocks wait in the buffer, and each producer holds one more that does not fit yet.
        assert len(produced) - taken <= 5 + 2
    assert taken == 80


def test_stopping_early_closes_every_running_task_and_starts_no_more():
    cleaned, started = [], []

    def endless(name):
        def run():
            started.append(name)
            try:
                while True:
                    yield name
            finally:
                cleaned.append(name)

        return run

    reader = interleaved([endless(n) for n in "abcd"], workers=2, buffer_bytes=10_000)
    seen = {next(reader) for _ in range(50)}
    reader.close()
    assert seen <= {"a", "b"}
    assert sorted(started) == ["a", "b"] and sorted(cleaned) == ["a", "b"]


def test_an_error_a_task_raises_stops_the_read_and_is_raised():
    cleaned = []

    def failing():
        yield "first"
        raise ValueError("broken")

    def endless():
        try:
            while True:
                yield "more"
        finally:
            cleaned.append(True)

    with pytest.raises(ValueError, match="broken"):
        list(interleaved([failing, endless], workers=2, buffer_bytes=10_000))
    assert cleaned == [True]


@pytest.mark.parametrize("workers", [1, 3])
def test_a_task_waits_for_the_tasks_it_follows(workers):
    """The child (first in the list) starts only once both its parents are done; an unrelated task runs meanwhile."""
    tasks = [counting("child", 50), counting("parent", 200), counting("other", 200), counting("grandparent", 100)]
    after = [{1, 3}, {3}, set(), set()]
    got = [name for name, _ in interleaved(tasks, workers=workers, after=after)]
    assert len(got) == 550
    assert got.index("child") > max(i for i, name in enumerate(got) if name in ("parent", "grandparent"))
    assert got.index("parent") > max(i for i, name in enumerate(got) if name == "grandparent")


@pytest.mark.parametrize("workers", [1, 2])
def test_tasks_that_wait_for_each_other_still_run(workers):
    tasks = [counting("a", 10), counting("b", 10)]
    assert sorted(interleaved(tasks, workers=workers, after=[{1}, {0}])) == sorted(
        [("a", n) for n in range(10)] + [("b", n) for n in range(10)]
    )


def test_dependency_order_keeps_the_given_order_otherwise():
    assert in_dependency_order(4, [set(), {3}, set(), set()]) == [0, 3, 1, 2]
    assert in_dependency_order(2, [{1}, {0}]) == [1, 0]

import csv
import io
import logging

import orjson
import pytest
from salesforce_api.bulk import csv_bytes
from source_salesforce import page_workers
from source_salesforce.page_workers import PageWorkers, csv_chunks
from source_salesforce.record_lines import record_line_parts
from source_salesforce.records import RecordShaper
from source_salesforce.schema import from_describe

DESCRIBE = {
    "name": "X__c",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Text__c", "type": "textarea"},
        {"name": "Flag__c", "type": "boolean"},
        {"name": "Count__c", "type": "int"},
        {"name": "Amount__c", "type": "currency"},
        {"name": "When__c", "type": "datetime"},
        {"name": "Loc__Latitude__s", "type": "double", "compoundFieldName": "Loc__c"},
        {"name": "Loc__Longitude__s", "type": "double", "compoundFieldName": "Loc__c"},
        {"name": "Loc__c", "type": "location"},
    ],
}

HEADER = ["Id", "Text__c", "Flag__c", "Count__c", "Amount__c", "When__c", "Loc__Latitude__s", "Loc__Longitude__s"]


def rows(count):
    texts = ["plain", 'say "hi"\nthere', "", "NA", "line\r\nbreak, comma", 'ends with "\n', "ünïcødé ✓", '""']
    for i in range(count):
        yield [
            f"a0{i:016d}",
            texts[i % len(texts)],
            ["true", "false", ""][i % 3],
            str(i) if i % 4 else "",
            f"{i}.25",
            "2024-01-31T12:00:00.000Z",
            "" if i % 5 else "1.5",
            "" if i % 5 else "-2.0",
        ]


def page(count):
    return csv_bytes([HEADER, *rows(count)])


@pytest.mark.parametrize("size", [1, 7, 64, 1000, 1 << 20])
def test_chunks_end_at_record_boundaries_whatever_their_size(size):
    body = io.BytesIO(page(50))
    body.readline()
    chunks = list(csv_chunks(body, size))
    assert b"".join(chunks) == page(50).split(b"\n", 1)[1]
    parsed = [row for chunk in chunks for row in csv.reader(io.StringIO(chunk.decode(), newline=""))]
    assert parsed == list(rows(50))


def test_a_last_record_without_line_break_is_a_chunk():
    body = io.BytesIO(b'"a","b\nc"\n"d","e"')
    assert list(csv_chunks(body, 3)) == [b'"a","b\nc"\n', b'"d","e"']


def shaper():
    return RecordShaper(from_describe(DESCRIBE), [*HEADER, "Loc__c"])


def serial_lines(data, envelope):
    reader = csv.reader(io.StringIO(data.decode(), newline=""))
    shape = shaper().csv_row_shaper(next(reader))
    before, after = envelope
    return b"".join(before + orjson.dumps(shape(row)) + after + b"\n" for row in reader)


@pytest.fixture
def workers():
    pool = PageWorkers(2)
    assert pool.start()
    yield pool
    pool.close()


def test_workers_give_the_lines_the_main_process_would(workers, monkeypatch):
    monkeypatch.setattr(page_workers, "CHUNK_BYTES", 500)  # many chunks per page, in flight at once
    pages = [page(300), page(0), b"", page(7)]
    envelopes = iter([record_line_parts("X__c", None, n) for n in (1, 2, 3)])
    results = list(workers.lines((io.BytesIO(p) for p in pages), shaper(), lambda: next(envelopes)))
    assert sum(count for count, _ in results) == 307
    expected = serial_lines(pages[0], record_line_parts("X__c", None, 1))
    expected += serial_lines(pages[3], record_line_parts("X__c", None, 3))  # page(0) took 2, b"" none
    assert b"".join(lines for _, lines in results) == expected
    assert len(results) > 10


def test_a_value_that_cannot_be_converted_fails_the_read(workers):
    bad = csv_bytes([HEADER, ["a01", "x", "true", "twelve", "1", "", "", ""]])
    with pytest.raises(ValueError, match="twelve"):
        list(workers.lines([io.BytesIO(bad)], shaper(), lambda: (b"", b"")))


def test_without_worker_processes_the_main_process_shapes(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError("no /dev/shm")

    monkeypatch.setattr(page_workers, "ProcessPoolExecutor", refuse)
    pool = PageWorkers(2)
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        assert not pool.start()
    assert "cannot start (no /dev/shm)" in caplog.text
    pool.close()


def test_worker_count_leaves_a_single_cpu_to_the_main_process(monkeypatch, tmp_path):
    monkeypatch.setattr(page_workers, "CGROUP_CPU_MAX", tmp_path / "absent")
    monkeypatch.setattr(page_workers.os, "sched_getaffinity", lambda pid: {0})
    assert page_workers.worker_count() == 0
    monkeypatch.setattr(page_workers.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert page_workers.worker_count() == page_workers.MAX_WORKERS


def test_worker_count_follows_a_container_cpu_quota(monkeypatch, tmp_path):
    monkeypatch.setattr(page_workers.os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(page_workers, "CGROUP_CPU_MAX", tmp_path / "cpu.max")
    (tmp_path / "cpu.max").write_text("100000 100000\n")  # --cpus 1
    assert page_workers.worker_count() == 0
    (tmp_path / "cpu.max").write_text("250000 100000\n")  # --cpus 2.5
    assert page_workers.worker_count() == 3
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert page_workers.worker_count() == page_workers.MAX_WORKERS


def test_a_value_longer_than_the_csv_module_default_limit_is_delivered(workers):
    """The csv module refuses fields over 131,072 characters unless told otherwise; each worker is a fresh process."""
    long_text = "x" * 200_000 + '"quoted"\n' + "y" * 131_073
    data = csv_bytes([HEADER, ["a01", long_text, "true", "1", "1", "", "", ""], *rows(3)])
    results = list(workers.lines([io.BytesIO(data)], shaper(), lambda: (b"", b"")))
    assert sum(count for count, _ in results) == 4
    first = orjson.loads(b"".join(lines for _, lines in results).split(b"\n")[0])
    assert first["Text__c"] == long_text

"""Latency profiles: the waits and the org's concurrency limits apply, and the default profile adds nothing.

Every timing assertion is a lower bound (a call takes at least the configured time) or an order of events; none
asserts that something is fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import requests
from salesforce_emulator import oauth
from salesforce_emulator.latency import PROFILES
from salesforce_emulator.testing import Emulator

Api = Callable[..., requests.Response]
QUERY = "SELECT Id, Name FROM Account"


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_default_profile_adds_nothing(emulator: Emulator) -> None:
    assert emulator.admin.latency() == {"profile": "default", **vars(PROFILES["default"])}
    assert not emulator.org.latency.active


def test_production_profile_by_name(emulator_factory: Callable[..., Emulator]) -> None:
    org = emulator_factory(records=2, profile="production")
    settings = org.admin.latency()
    assert settings["profile"] == "production"
    assert settings["round_trip_seconds"] == pytest.approx(0.1)
    assert settings["max_long_running_requests"] == 10
    assert settings["max_bulk_query_jobs"] == 25


def test_bad_settings_name_the_setting(emulator: Emulator) -> None:
    for body, text in [
        ({"round_trip": 1}, "round_trip"),
        ({"round_trip_seconds": -1}, "round_trip_seconds"),
        ({"profile": "staging"}, "staging"),
    ]:
        answer = emulator.admin.http.put(emulator.admin.base + "/latency", json=body, timeout=30)
        assert answer.status_code == 400
        assert text in answer.json()["error"]
    assert emulator.admin.latency()["profile"] == "default"


def test_round_trip_delays_every_salesforce_call(emulator: Emulator, api_for: Callable[[Emulator], Api]) -> None:
    emulator.admin.latency(round_trip_seconds=0.3)
    _, login = timed(emulator.access_token)
    assert login >= 0.3
    api = api_for(emulator)
    response, elapsed = timed(lambda: api("GET", "/limits"))
    assert response.status_code == 200
    assert elapsed >= 0.3


def test_rest_query_time_grows_with_the_records_on_the_page(
    emulator: Emulator, api_for: Callable[[Emulator], Api]
) -> None:
    api = api_for(emulator)
    emulator.admin.latency(query_seconds_per_record=0.05)
    finished: list[str] = []

    def run(name: str, soql: str) -> None:
        response = api("GET", "/query", params={"q": soql})
        assert response.status_code == 200
        finished.append(name)

    big = threading.Thread(target=run, args=("20 records", QUERY))
    small = threading.Thread(target=run, args=("1 record", QUERY + " LIMIT 1"))
    big.start()
    small.start()
    big.join()
    small.join()
    assert finished == ["1 record", "20 records"]  # sent together, the larger page takes longer

    page, elapsed = timed(lambda: api("GET", "/query", params={"q": QUERY}))
    assert len(page.json()["records"]) == 20
    assert elapsed >= 20 * 0.05


def test_bodies_are_sent_at_the_configured_bandwidth(emulator: Emulator, api_for: Callable[[Emulator], Api]) -> None:
    api = api_for(emulator)
    size = len(api("GET", "/sobjects/Account/describe").content)
    emulator.admin.latency(download_bytes_per_second=size / 0.5)
    response, elapsed = timed(lambda: api("GET", "/sobjects/Account/describe"))
    assert len(response.content) == size
    assert elapsed >= 0.5


def test_long_running_requests_past_the_limit_are_refused(
    emulator: Emulator, api_for: Callable[[Emulator], Api]
) -> None:
    api = api_for(emulator)
    emulator.admin.latency(round_trip_seconds=3, long_running_seconds=0.2, max_long_running_requests=2)
    answers: list[int] = []
    slow = [threading.Thread(target=lambda: answers.append(api("GET", "/limits").status_code)) for _ in range(2)]
    for thread in slow:
        thread.start()
    deadline = time.monotonic() + 2
    while emulator.org.latency.running < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # both now running for longer than long_running_seconds

    refused = api("GET", "/limits")

    assert refused.status_code == 403
    assert refused.json() == [
        {
            "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    for thread in slow:
        thread.join()
    assert answers == [200, 200]
    emulator.admin.latency(round_trip_seconds=0)
    assert api("GET", "/limits").status_code == 200  # the long ones ended: room again


def _create_job(api: Api, soql: str = QUERY) -> requests.Response:
    return api("POST", "/jobs/query", json={"operation": "query", "query": soql})


def test_bulk_query_jobs_take_their_start_delay_and_row_rate(
    emulator: Emulator, api_for: Callable[[Emulator], Api]
) -> None:
    api = api_for(emulator)
    emulator.admin.latency(bulk_start_seconds=0.4, bulk_rows_per_second=25)  # 20 Accounts: 0.8 s of processing
    started = time.monotonic()
    job = _create_job(api).json()
    states = [job["state"]]
    while states[-1] != "JobComplete":
        time.sleep(0.05)
        states.append(api("GET", f"/jobs/query/{job['id']}").json()["state"])
    elapsed = time.monotonic() - started

    assert elapsed >= 0.4 + 20 / 25
    order = ["UploadComplete", "InProgress", "JobComplete"]
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)
    assert "InProgress" in states
    rows = api("GET", f"/jobs/query/{job['id']}/results").text.splitlines()
    assert len(rows) == 21


def test_bulk_query_jobs_past_the_limit_are_refused_until_one_ends(
    emulator: Emulator, api_for: Callable[[Emulator], Api]
) -> None:
    api = api_for(emulator)
    emulator.admin.latency(bulk_start_seconds=30, max_bulk_query_jobs=2)
    first, second = _create_job(api), _create_job(api)
    assert (first.status_code, second.status_code) == (200, 200)

    refused = _create_job(api)

    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    aborted = api("PATCH", f"/jobs/query/{first.json()['id']}", json={"state": "Aborted"})
    assert aborted.status_code == 200
    assert _create_job(api).status_code == 200


def test_through_the_proxy_the_profile_applies_to_the_login_too(emulator_factory: Callable[..., Emulator]) -> None:
    org = emulator_factory(records=2, proxy=True, profile="production")
    form = {"grant_type": "client_credentials", "client_id": oauth.CLIENT_ID, "client_secret": oauth.CLIENT_SECRET}
    http = requests.Session()
    http.trust_env = False
    http.proxies = {"https": org.proxy_url or ""}
    http.verify = org.ca_file or True
    answer, elapsed = timed(lambda: http.post("https://login.salesforce.com/services/oauth2/token", data=form))
    assert answer.status_code == 200
    assert elapsed >= PROFILES["production"].round_trip_seconds


def _ingest_job(api: Api, rows: int) -> str:
    job = api("POST", "/jobs/ingest", json={"object": "Account", "operation": "insert", "lineEnding": "LF"}).json()
    csv = "Name\n" + "".join(f"Paced {i}\n" for i in range(rows))
    uploaded = api("PUT", f"/jobs/ingest/{job['id']}/batches", data=csv, headers={"Content-Type": "text/csv"})
    assert uploaded.status_code == 201
    assert api("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).status_code == 200
    return job["id"]


def test_bulk_ingest_jobs_take_their_start_delay_and_row_rate(
    emulator: Emulator, api_for: Callable[[Emulator], Api]
) -> None:
    api = api_for(emulator)
    emulator.admin.latency(ingest_start_seconds=0.3, ingest_rows_per_second=20_000)  # 25,000 rows: 1.25 s
    started = time.monotonic()
    job_id = _ingest_job(api, 25_000)
    seen: list[tuple[str, int]] = []
    while not seen or seen[-1][0] != "JobComplete":
        time.sleep(0.05)
        info = api("GET", f"/jobs/ingest/{job_id}").json()
        seen.append((info["state"], info["numberRecordsProcessed"]))
    elapsed = time.monotonic() - started

    assert elapsed >= 0.3 + 25_000 / 20_000
    assert seen[-1] == ("JobComplete", 25_000)
    in_progress = [count for state, count in seen if state == "InProgress"]
    # The count grows while the job is held, in whole internal batches of 10,000 records.
    assert in_progress == sorted(in_progress)
    assert {0, 10_000, 20_000} <= set(in_progress)
    assert all(count % 10_000 == 0 for count in in_progress)


def test_ingest_jobs_run_in_parallel_each_at_its_own_rate(
    emulator: Emulator, api_for: Callable[[Emulator], Api]
) -> None:
    api = api_for(emulator)
    emulator.admin.latency(ingest_rows_per_second=500)  # 1,000 rows: each job held 2 s
    jobs = [_ingest_job(api, 1_000) for _ in range(3)]
    states: list[list[str]] = []
    while not states or any(state != "JobComplete" for state in states[-1]):
        time.sleep(0.05)
        states.append([api("GET", f"/jobs/ingest/{job_id}").json()["state"] for job_id in jobs])
    assert ["InProgress"] * 3 in states  # all three processed at once, not one after another


def test_collections_calls_take_their_time_per_record(emulator: Emulator, api_for: Callable[[Emulator], Api]) -> None:
    api = api_for(emulator)
    emulator.admin.latency(collections_seconds_per_record=0.01)
    records = [{"attributes": {"type": "Account"}, "Name": f"Timed {i}"} for i in range(100)]
    answer, elapsed = timed(lambda: api("POST", "/composite/sobjects", json={"allOrNone": False, "records": records}))
    assert answer.status_code == 200
    assert len(answer.json()) == 100
    assert elapsed >= 100 * 0.01
    upsert = [{"attributes": {"type": "X__c"}, "External_Id__c": f"T-{i}", "Name": "t"} for i in range(50)]
    answer, elapsed = timed(
        lambda: api("PATCH", "/composite/sobjects/X__c/External_Id__c", json={"allOrNone": False, "records": upsert})
    )
    assert answer.status_code == 200
    assert elapsed >= 50 * 0.01

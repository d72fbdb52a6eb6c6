"""The client against the emulated org on 127.0.0.1: every auth flow, REST reads and writes, faults, Bulk."""

from __future__ import annotations

import io
import time

import pytest
from salesforce_api import BulkClient, RestClient, auth, connect
from salesforce_api.bulk import DownloadBudget, FetchedAhead, IngestJob, csv_bytes
from salesforce_api.errors import AuthenticationError, NotFoundError, QuotaExceededError, TransientError
from salesforce_api.http import SalesforceSession

FLOWS = ["username_password", "refresh_token", "client_credentials", "jwt_bearer"]


def fast(session: SalesforceSession) -> SalesforceSession:
    session.backoff_base, session.backoff_max = 0.001, 0.002
    return session


@pytest.mark.parametrize("flow", FLOWS)
def test_every_auth_flow_logs_in_and_reads(emulator, flow):
    session = connect(emulator.credentials(flow))
    rest = RestClient(session)
    names = {s["name"] for s in rest.describe_global()["sobjects"]}
    assert {"Account", "Contact", "X__c"} <= names
    assert session.instance_url == emulator.url
    assert session.usage is not None and session.usage.used >= 1
    assert session.calls == 1


@pytest.mark.parametrize(
    ("flow", "key", "setting"),
    [
        ("username_password", "password", "credentials.password"),
        ("username_password", "client_id", "credentials.client_id"),
        ("username_password", "client_secret", "credentials.client_secret"),
        ("refresh_token", "refresh_token", "credentials.refresh_token"),
        ("client_credentials", "client_secret", "credentials.client_secret"),
    ],
)
def test_wrong_credentials_name_the_setting_and_hide_the_secret(emulator, flow, key, setting):
    credentials = {**emulator.credentials(flow), key: "WRONG-SECRET-VALUE"}
    with pytest.raises(AuthenticationError) as caught:
        RestClient(connect(credentials)).limits()
    assert caught.value.setting == setting
    message = str(caught.value)
    assert setting in message or setting.split(".")[1] in message
    assert "WRONG-SECRET-VALUE" not in message
    for secret in emulator.credentials(flow).values():
        if secret not in (flow, emulator.url, credentials.get("username"), credentials.get("client_id")):
            assert str(secret) not in message


def test_jwt_signed_with_another_key_is_refused(emulator):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    credentials = {**emulator.credentials("jwt_bearer"), "private_key": other.decode()}
    with pytest.raises(AuthenticationError) as caught:
        RestClient(connect(credentials)).limits()
    assert "PRIVATE KEY" not in str(caught.value)


def test_describe_and_describe_many_cost_one_call_per_25(emulator):
    session = connect(emulator.credentials())
    rest = RestClient(session)
    account = rest.describe("Account")
    assert account["name"] == "Account" and any(f["name"] == "Id" for f in account["fields"])
    with pytest.raises(NotFoundError):
        rest.describe("NoSuchObject__c")
    emulator.admin.reset_calls()
    out = dict(rest.describe_many(["Account", "Contact", "X__c", "NoSuchObject__c"]))
    assert out["X__c"]["name"] == "X__c"
    assert isinstance(out["NoSuchObject__c"], NotFoundError)
    assert emulator.admin.calls()["total"] == 1


def test_query_pages_through_every_record_in_order(emulator_factory):
    org = emulator_factory(records=45, rest_page_size=10)
    rest = RestClient(connect(org.credentials()))
    pages = list(rest.query_pages("SELECT Id, Name, Owner.Name FROM Account ORDER BY Id"))
    assert len(pages) == 5
    assert {p.total_size for p in pages} == {45}
    records = [r for p in pages for r in p.records]
    ids = [r["Id"] for r in records]
    assert ids == sorted(ids) and len(set(ids)) == 45
    assert all("attributes" not in r for r in records)
    assert all(r["Owner"] is None or "attributes" not in r["Owner"] for r in records)
    assert rest.count("FROM Account") == 45


def test_query_all_includes_deleted_records(emulator):
    rest = RestClient(connect(emulator.credentials()))
    victim = next(rest.query("SELECT Id FROM Contact LIMIT 1"))["Id"]
    rest.delete_one("Contact", victim)
    live = {r["Id"] for r in rest.query("SELECT Id FROM Contact")}
    everything = {r["Id"]: r for r in rest.query("SELECT Id, IsDeleted FROM Contact", include_deleted=True)}
    assert victim not in live
    assert everything[victim]["IsDeleted"] is True
    assert rest.count("FROM Contact", include_deleted=True) == len(everything) == rest.count("FROM Contact") + 1


def test_collections_create_update_upsert_delete(emulator):
    rest = RestClient(connect(emulator.credentials()))
    created = rest.create("Account", [{"Name": "One"}, {"Name": "Two"}, {"NoSuchField__c": 1}])
    assert [r.success for r in created] == [True, True, False]
    assert created[2].errors[0].status_code == "INVALID_FIELD"
    ids = [r.id for r in created[:2]]
    updated = rest.update("Account", [{"Id": ids[0], "Name": "Uno"}, {"Id": ids[1], "Name": "Dos"}])
    assert all(r.success for r in updated)
    assert rest.get_one("Account", ids[0], ["Name"])["Name"] == "Uno"
    upserted = rest.upsert("X__c", "External_Id__c", [{"External_Id__c": "E-1", "Name": "first"}])
    assert upserted[0].success and upserted[0].created is True
    again = rest.upsert("X__c", "External_Id__c", [{"External_Id__c": "E-1", "Name": "second"}])
    assert again[0].success and again[0].created is False and again[0].id == upserted[0].id
    deleted = rest.delete(ids)
    assert all(r.success for r in deleted)
    remaining = {r["Id"] for r in rest.query("SELECT Id FROM Account")}
    assert not remaining & set(ids)


def test_single_record_calls(emulator):
    rest = RestClient(connect(emulator.credentials()))
    result = rest.insert_one("Account", {"Name": "Solo"})
    assert result.success and result.id
    rest.update_one("Account", result.id, {"Name": "Solo 2"})
    assert rest.get_one("Account", result.id)["Name"] == "Solo 2"
    first = rest.upsert_one("X__c", "External_Id__c", "E-9", {"Name": "x"})
    assert first.created is True
    assert rest.upsert_one("X__c", "External_Id__c", "E-9", {"Name": "y"}).created is False
    rest.delete_one("Account", result.id)
    with pytest.raises(NotFoundError):
        rest.get_one("Account", result.id)


def test_expired_session_is_refreshed_once(emulator):
    session = connect(emulator.credentials())
    rest = RestClient(session)
    rest.limits()
    emulator.admin.add_fault(path="/limits", kind="expire_session", count=1)
    assert "DailyApiRequests" in rest.limits()


def test_server_errors_and_resets_are_retried(emulator):
    rest = RestClient(fast(connect(emulator.credentials())))
    emulator.admin.add_fault(path="/query", kind="status", status=503, count=2)
    assert len(list(rest.query("SELECT Id FROM Account"))) == 20
    emulator.admin.add_fault(path="/query", kind="reset", count=1)
    assert len(list(rest.query("SELECT Id FROM Account"))) == 20


@pytest.mark.parametrize("flow", FLOWS)
def test_a_reset_or_a_slow_answer_at_login_is_retried(emulator, flow, monkeypatch):
    """Before, a connection reset or a read timeout at the token endpoint was a config error ("cannot be reached")."""
    monkeypatch.setattr(auth, "TOKEN_TIMEOUT", (5, 0.5))
    emulator.admin.add_fault(kind="reset", token_endpoint=True, count=2)
    emulator.admin.add_fault(kind="slow", delay=1.5, token_endpoint=True, count=1)
    rest = RestClient(fast(connect(emulator.credentials(flow))))
    assert "DailyApiRequests" in rest.limits()
    assert emulator.admin.faults() == []  # all three were met, and passed


def test_a_reset_at_the_re_login_after_session_expiry_is_retried(emulator):
    rest = RestClient(fast(connect(emulator.credentials())))
    rest.limits()
    emulator.admin.add_fault(path="/limits", kind="expire_session", count=1)
    emulator.admin.add_fault(kind="reset", token_endpoint=True, count=2)
    assert "DailyApiRequests" in rest.limits()
    assert emulator.admin.faults() == []


def test_login_failing_in_transit_every_time_is_transient_not_config(emulator):
    emulator.admin.add_fault(kind="reset", token_endpoint=True)
    with pytest.raises(TransientError, match="failed in transit"):
        RestClient(fast(connect(emulator.credentials()))).limits()


def test_daily_limit_and_budget(emulator):
    session = connect(emulator.credentials())
    rest = RestClient(session)
    emulator.admin.configure(daily_api_limit=100, api_usage=60)
    rest.limits()
    assert session.usage.limit == 100 and session.usage.used >= 60
    session.budget_percent = 50
    with pytest.raises(QuotaExceededError) as caught:
        rest.limits()
    assert caught.value.budget
    session.budget_percent = None
    emulator.admin.add_fault(path="/limits", kind="request_limit", count=1)
    with pytest.raises(QuotaExceededError) as caught:
        rest.limits()
    assert not caught.value.budget


def test_deleted_resource_reports_deleted_records(emulator):
    from datetime import UTC, datetime, timedelta

    rest = RestClient(connect(emulator.credentials()))
    victim = next(rest.query("SELECT Id FROM Account LIMIT 1"))["Id"]
    rest.delete_one("Account", victim)
    now = datetime.now(UTC)
    answer = rest.deleted("Account", now - timedelta(days=1), now + timedelta(minutes=1))
    assert victim in {item["id"] for item in answer["deletedRecords"]}


def test_bulk_query_streams_every_row(emulator_factory):
    org = emulator_factory(records=120)
    session = connect(org.credentials())
    bulk = BulkClient(session, poll_interval=0.01, poll_max=0.05)
    result = bulk.query("SELECT Id, Name, AnnualRevenue FROM Account", max_records=50)
    rows = list(result.rows())
    assert len(rows) == 120 and len({r["Id"] for r in rows}) == 120
    assert set(rows[0]) == {"Id", "Name", "AnnualRevenue"}
    rest_ids = {r["Id"] for r in RestClient(session).query("SELECT Id FROM Account")}
    assert {r["Id"] for r in rows} == rest_ids


def ingest(bulk: BulkClient, operation: str, rows: list[list[str]]) -> IngestJob:
    """One X__c job of (Name, External_Id__c) rows, finished."""
    part = io.BytesIO(csv_bytes([["Name", "External_Id__c"], *rows]))
    external_id = "External_Id__c" if operation == "upsert" else None
    return bulk.wait_ingest(bulk.start_ingest("X__c", operation, part, external_id_field=external_id))


def test_bulk_ingest_reports_successes_and_failures(emulator):
    session = connect(emulator.credentials())
    bulk = BulkClient(session, poll_interval=0.01, poll_max=0.05)
    rows = [["Bulk one", "B-1"], ["Bulk, two\nlines", "B-2"], ["", "B-3"]]
    job = ingest(bulk, "upsert", rows)
    assert job.state == "JobComplete"
    ok = list(job.successful_results())
    failed = list(job.failed_results())
    assert len(ok) + len(failed) == 3
    assert all(r["sf__Id"] for r in ok)
    names = {r["Name"] for r in ok}
    assert "Bulk, two\nlines" in names


def test_bulk_result_page_cut_short_is_fetched_again(emulator_factory):
    org = emulator_factory(records=60)
    bulk = BulkClient(fast(connect(org.credentials())), poll_interval=0.01, poll_max=0.05)
    result = bulk.query("SELECT Id, Name FROM Account", max_records=25)
    org.admin.add_fault(path="/results", kind="truncate", count=1)
    rows = list(result.rows())
    assert len(rows) == 60 and len({r["Id"] for r in rows}) == 60


def test_bulk_ingest_results_cut_short_are_fetched_again(emulator):
    # Regression: successfulResults/failedResults broke off with a raw urllib3 ProtocolError instead of a refetch.
    bulk = BulkClient(fast(connect(emulator.credentials())), poll_interval=0.01, poll_max=0.05)
    rows = [[f"Cut {i}", f"CUT-{i}"] for i in range(300)]
    job = ingest(bulk, "upsert", rows)
    emulator.admin.add_fault(path="/successfulResults", kind="truncate", count=2)
    ok = list(job.successful_results())
    assert sorted(r["External_Id__c"] for r in ok) == sorted(f"CUT-{i}" for i in range(300))


def test_bulk_ingest_survives_lost_answers_to_create_and_close(emulator):
    # Regression: a close whose answer was lost was retried and failed with INVALIDJOBSTATE (already closed), and a
    # lost answer to the job creation failed the ingest as an ambiguous write although an empty job writes nothing.
    bulk = BulkClient(fast(connect(emulator.credentials())), poll_interval=0.01, poll_max=0.05)
    emulator.admin.add_fault(path="/jobs/ingest$", method="POST", kind="reset", count=1)
    emulator.admin.add_fault(path="/jobs/ingest/[^/]+$", method="PATCH", kind="reset", count=1)
    job = ingest(bulk, "upsert", [["Lost", "LOST-1"]])
    assert job.state == "JobComplete" and job.records_processed == 1
    assert [r["External_Id__c"] for r in job.successful_results()] == ["LOST-1"]


def test_bulk_ingest_survives_a_lost_answer_to_the_upload(emulator):
    # Regression: the retried PUT of a stored upload was refused ("Found multiple contents for job") and failed the
    # write, although the data had landed.
    bulk = BulkClient(fast(connect(emulator.credentials())), poll_interval=0.01, poll_max=0.05)
    emulator.admin.add_fault(path="/batches$", method="PUT", kind="reset", count=1)
    job = ingest(bulk, "insert", [["Put", "PUT-1"], ["Put", "PUT-2"]])
    assert job.state == "JobComplete" and job.records_processed == 2
    assert sorted(r["External_Id__c"] for r in emulator.admin.records("X__c") if r["Name"] == "Put") == [
        "PUT-1",
        "PUT-2",
    ]
    assert emulator.admin.faults() == [] or all(f.get("count", 0) == 0 for f in emulator.admin.faults())


def test_failed_bulk_job_raises(emulator):
    from salesforce_api import BulkJobError

    bulk = BulkClient(connect(emulator.credentials()), poll_interval=0.01, poll_max=0.05)
    emulator.admin.add_fault(path="/jobs/query", kind="bulk_job_failed", count=1)
    with pytest.raises(BulkJobError) as caught:
        bulk.query("SELECT Id FROM Account")
    assert caught.value.job_id and caught.value.error_message


def test_query_timeout_propagates(emulator):
    from salesforce_api import QueryTimeoutError

    rest = RestClient(connect(emulator.credentials()))
    emulator.admin.add_fault(path="/query", kind="query_timeout", count=1)
    with pytest.raises(QueryTimeoutError):
        list(rest.query("SELECT Id FROM Account"))


CONTROL_CHARACTERS = [chr(c) for c in range(32)] + ["\x7f", "\r\n", "\n\r", "\r\r"]


def test_every_control_character_round_trips_through_bulk(emulator):
    """Each control character (a bare CR among them, which the csv module leaves unquoted unless told) inside a value
    goes up in an ingest job and comes back the same through a Bulk query."""
    bulk = BulkClient(connect(emulator.credentials()), poll_interval=0.01, poll_max=0.05)
    sent = {f"CC-{i}": f"a{char}b{char}" for i, char in enumerate(CONTROL_CHARACTERS)}
    sent["CC-cr-only"] = "\r"
    part = io.BytesIO(csv_bytes([["External_Id__c", "Long_Text__c"], *sent.items()]))
    job = bulk.wait_ingest(bulk.start_ingest("X__c", "upsert", part, external_id_field="External_Id__c"))
    assert (job.state, job.records_processed, job.records_failed) == ("JobComplete", len(sent), 0)
    rows = bulk.query("SELECT External_Id__c, Long_Text__c FROM X__c WHERE External_Id__c LIKE 'CC-%'").rows()
    back = {r["External_Id__c"]: r["Long_Text__c"] for r in rows}
    assert back == sent


def test_csv_bytes_quotes_a_bare_carriage_return():
    assert csv_bytes([["a\rb", "c"], ["d", "e"]]) == b'"a\rb","c"\nd,e\n'
    assert csv_bytes(iter([["x\ny", "z"]])) == b'"x\ny",z\n'


def test_jobs_fetched_ahead_download_within_their_budget_and_the_one_read_never_waits(emulator_factory):
    """Two jobs fetched ahead under a budget of one byte: each downloads at most one page, then waits for room; the
    job being read downloads on regardless, and reading it frees the room the other needs. Every row, once."""
    org = emulator_factory(records=120)
    org.admin.bulk(query_page_size=10)  # 12 pages per job
    session = connect(org.credentials())
    bulk = BulkClient(session, poll_interval=0.01, poll_max=0.05)
    budget = DownloadBudget(limit=1)
    jobs = [
        FetchedAhead(bulk, bulk.submit_query(f"SELECT Id FROM Account ORDER BY Id LIMIT {n}"), budget=budget)
        for n in (120, 60)
    ]
    deadline = time.monotonic() + 30
    while sum(job._pages.qsize() for job in jobs) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # time enough to download the rest, were it not for the budget
    # A job downloads a page only while the budget has room: the first page held stops the other job too, unless it
    # had looked before that page was held.
    queued = [job._pages.qsize() for job in jobs]
    assert 1 <= sum(queued) and max(queued) == 1
    first = [row["Id"] for row in jobs[0].result().rows()]
    second = [row["Id"] for row in jobs[1].result().rows()]
    assert len(first) == len(set(first)) == 120 and second == first[:60]
    assert budget._held == 0
    for job in jobs:
        job.close()


def test_closing_a_job_fetched_ahead_drops_its_pages_and_frees_the_budget(emulator_factory):
    org = emulator_factory(records=60)
    org.admin.bulk(query_page_size=10)
    session = connect(org.credentials())
    bulk = BulkClient(session, poll_interval=0.01, poll_max=0.05)
    budget = DownloadBudget()
    job = FetchedAhead(bulk, bulk.submit_query("SELECT Id FROM Account"), budget=budget)
    pages = job.result().page_files()
    next(pages)  # one page read, the others downloading
    pages.close()
    job.close()
    time.sleep(0.5)  # the download stops at its next page
    assert budget._held == 0 and job._pages.empty()


def test_threads_sharing_a_session_whose_token_expires_log_in_again_once(emulator):
    """Several threads meet the expired session at once: one logs in again, the others use its token; the call
    counter counts every call."""
    import threading

    session = connect(emulator.credentials())
    rest = RestClient(session)
    rest.limits()
    logins = []
    login = session.authenticator.login
    session.authenticator.login = lambda http: logins.append(1) or login(http)
    emulator.admin.latency(round_trip_seconds=0.2)  # the calls overlap
    emulator.admin.add_fault(path="/limits", kind="expire_session", count=6)
    barrier = threading.Barrier(6)
    answers = []

    def work():
        barrier.wait()
        answers.append("DailyApiRequests" in rest.limits())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 6
    assert len(logins) == 1
    assert session.calls == 1 + 6 + 6  # the first call, six refused, six again

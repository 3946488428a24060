"""The ingestion path end to end: agent API → Kinesis (moto) → consumer → PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from infra_cdk.local.pki import LocalCA
from infra_cdk.local.resources import REGION, Resources
from shared.crypto.data_keys import DataKeyStore, EsdkKeyWrapper
from shared.crypto.fields import FieldCipher, FieldDecryptionError, associated_data
from shared.dynamo.consent import ConsentStatus
from shared.dynamo.devices import DeviceRegistry
from tests.conftest import ALL_CATEGORIES, Agent, enroll, set_consent
from tests.support.activity import make_events
from tests.support.kinesis import lambda_event, read_stream

if TYPE_CHECKING:
    import psycopg

pytestmark = pytest.mark.integration

RECOMPUTE_HOURLY = """
SELECT tenant_id, employee_id, date_trunc('hour', ts, 'UTC') AS hour, type,
       coalesce(app, '') AS app, coalesce(domain, '') AS domain,
       count(*) AS event_count, sum(duration_ms) AS duration_ms,
       coalesce(sum(key_count), 0) AS key_count, coalesce(sum(mouse_count), 0) AS mouse_count
FROM activity_events GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""
ROLLUP = """
SELECT tenant_id, employee_id, hour, type, app, domain, event_count, duration_ms, key_count, mouse_count
FROM activity_hourly ORDER BY 1, 2, 3, 4, 5, 6
"""


def count_events(db: psycopg.Connection) -> int:
    return int(db.execute("SELECT count(*) FROM activity_events").fetchone()[0])


def test_accepted_events_are_stored_once_even_when_posted_and_delivered_three_times(
    agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    # Given a batch of 300 realistic events
    body = {"events": make_events(300)}
    # When the agent posts it three times and the stream delivers everything three times
    for _ in range(3):
        status, result = post_events(agent, body)
        assert status == 202
        assert result == {"accepted": 300, "rejected": []}
    outcome = deliver(times=3)
    # Then every event is stored exactly once and nothing is reported failed
    assert outcome == {"batchItemFailures": []}
    assert count_events(db) == 300
    ids = {r[0] for r in db.execute("SELECT event_id::text FROM activity_events").fetchall()}
    assert ids == {e["event_id"] for e in body["events"]}
    # And the identity columns come from the registry, not the body
    owners = db.execute("SELECT DISTINCT tenant_id, employee_id, device_id FROM activity_events").fetchall()
    assert owners == [(agent.tenant_id, agent.employee_id, agent.device.device_id)]


def test_rollups_equal_a_recomputation_from_raw_rows_after_redelivery(
    aws_resources: Resources, ca: LocalCA, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    # Given two employees of one tenant posting overlapping hours of activity
    first = enroll(ca, aws_resources.devices_table, tenant_id="t-rollup")
    second = enroll(ca, aws_resources.devices_table, tenant_id="t-rollup")
    for a in (first, second):
        set_consent(aws_resources.consent_table, a, ConsentStatus.ACTIVE, ALL_CATEGORIES)
    start = datetime.now(UTC) - timedelta(hours=5)
    post_events(first, {"events": make_events(700, start=start, seed=1)})
    post_events(second, {"events": make_events(500, start=start, seed=2)})
    # When the stream delivers twice, and then a batch overlapping half of it arrives again
    deliver(times=2)
    post_events(first, {"events": make_events(700, start=start, seed=1)[:350] + make_events(50, seed=3)})
    deliver()
    # Then the hourly rollup equals the same aggregation computed from the raw rows
    assert count_events(db) == 1250
    assert db.execute(ROLLUP).fetchall() == db.execute(RECOMPUTE_HOURLY).fetchall()


def test_no_consent_is_403_and_nothing_goes_on_the_stream(
    aws_resources: Resources, ca: LocalCA, post_events: Any
) -> None:
    # Given an enrolled device whose employee never consented, and one who withdrew
    never = enroll(ca, aws_resources.devices_table)
    withdrawn = enroll(ca, aws_resources.devices_table)
    set_consent(aws_resources.consent_table, withdrawn, ConsentStatus.WITHDRAWN)
    for a in (never, withdrawn):
        # When it posts events
        status, body = post_events(a, {"events": make_events(5)})
        # Then it is told to stop collecting
        assert status == 403
        assert body["error"]["code"] == "consent_required"
        assert body["error"]["request_id"]
    assert read_stream(aws_resources.stream_name) == []


def test_withdrawal_is_honoured_within_the_consent_cache_ttl(
    aws_resources: Resources, agent: Agent, post_events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an agent that has posted successfully (so its consent is cached)
    assert post_events(agent, {"events": make_events(3)})[0] == 202
    # When the employee withdraws and the cache's few seconds pass
    set_consent(aws_resources.consent_table, agent, ConsentStatus.WITHDRAWN)
    from functions.ingest_api import handler

    cache = handler.deps().consent._cache
    monkeypatch.setattr(cache, "_clock", lambda: 1e12)
    # Then its next post is refused
    status, body = post_events(agent, {"events": make_events(3, seed=9)})
    assert (status, body["error"]["code"]) == (403, "consent_required")


def test_events_outside_the_consented_categories_are_rejected_alone(
    aws_resources: Resources, agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    # Given consent for apps and input counts only
    set_consent(aws_resources.consent_table, agent, ConsentStatus.ACTIVE, {"apps", "input_counts"})
    events = make_events(20)
    # When the agent posts events, some with window titles and URLs
    status, body = post_events(agent, {"events": events})
    # Then exactly those events are rejected, with the category named
    needs_more = [i for i, e in enumerate(events) if "window_title" in e or "url" in e]
    assert status == 202
    assert [r["index"] for r in body["rejected"]] == needs_more
    assert {r["code"] for r in body["rejected"]} == {"category_not_consented"}
    assert body["accepted"] == 20 - len(needs_more)
    deliver()
    assert count_events(db) == 20 - len(needs_more)
    assert db.execute("SELECT count(*) FROM activity_events WHERE domain IS NOT NULL").fetchone()[0] == 0


def test_revoked_unknown_and_expired_devices_are_403(
    aws_resources: Resources, agent: Agent, ca: LocalCA, post_events: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = DeviceRegistry(boto3.client("dynamodb", region_name=REGION), aws_resources.devices_table)
    stranger = Agent(agent.tenant_id, agent.employee_id, agent.device, ca.issue("not-registered"))
    other_ca = LocalCA("Some Other CA")
    forged = Agent(agent.tenant_id, agent.employee_id, agent.device, other_ca.issue("device-x"))
    expired = enroll(ca, aws_resources.devices_table)
    expired.cert = ca.issue(
        "old",
        not_before=datetime.now(UTC) - timedelta(days=400),
        not_after=datetime.now(UTC) - timedelta(days=1),
    )
    # Given an unknown certificate, one of another CA, and an expired one
    for who in (stranger, forged, expired):
        status, body = post_events(who, {"events": make_events(2)})
        assert (status, body["error"]["code"]) == (403, "device_not_authorized")
    # When the enrolled device is revoked
    assert post_events(agent, {"events": make_events(2)})[0] == 202
    registry.revoke(agent.device)
    # Then its very next request is refused
    status, body = post_events(agent, {"events": make_events(2, seed=4)})
    assert (status, body["error"]["code"]) == (403, "device_not_authorized")
    # And every refusal was counted for the authorisation-failure alarm
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert sum(sum(m.get("AuthorizationFailures", [])) for m in emf) == 4


def test_unknown_fields_and_keystroke_content_are_rejected(agent: Agent, post_events: Any) -> None:
    events = make_events(4)
    events[1]["keystrokes"] = "hunter2"
    events[2]["screenshot"] = "iVBORw0KGgo="
    status, body = post_events(agent, {"events": events})
    assert status == 202
    assert body["accepted"] == 2
    assert [(r["index"], r["code"], r["event_id"]) for r in body["rejected"]] == [
        (1, "invalid_event", events[1]["event_id"]),
        (2, "invalid_event", events[2]["event_id"]),
    ]
    assert "keystrokes" in body["rejected"][0]["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"events": [', 400, "invalid_json"),
        ("not json at all", 400, "invalid_json"),
        ("[]", 422, "validation_error"),
        ('{"events": []}', 422, "validation_error"),
        ('{"events": [], "tenant_id": "other"}', 422, "validation_error"),
        ('{"events": "nope"}', 422, "validation_error"),
    ],
)
def test_malformed_bodies_get_clear_errors(
    agent: Agent, post_events: Any, body: str, status: int, code: str
) -> None:
    got_status, got = post_events(agent, body, raw=True)
    assert (got_status, got["error"]["code"]) == (status, code)
    assert set(got["error"]) >= {"code", "message", "request_id"}


def test_oversized_and_overlong_batches_are_refused(agent: Agent, post_events: Any) -> None:
    big = make_events(900)
    for e in big:
        e["window_title"] = "x" * 1024
    status, body = post_events(agent, {"events": big})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    status, body = post_events(agent, {"events": make_events(1001)})
    assert (status, body["error"]["code"]) == (422, "validation_error")


def test_timestamps_too_far_in_the_future_or_past_are_rejected(agent: Agent, post_events: Any) -> None:
    events = make_events(3)
    events[0]["ts"] = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    events[2]["ts"] = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    status, body = post_events(agent, {"events": events})
    assert status == 202
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (0, "timestamp_in_future"),
        (2, "timestamp_too_old"),
    ]


def test_one_poison_record_fails_alone_and_the_others_are_committed(
    agent: Agent, post_events: Any, deliver: Any, aws_resources: Resources, db: psycopg.Connection
) -> None:
    # Given two good records on the stream and a poison one between them
    post_events(agent, {"events": make_events(10, seed=1)})
    post_events(agent, {"events": make_events(10, seed=2)})
    good = [bytes(r["Data"]) for r in read_stream(aws_resources.stream_name)]
    poison = json.loads(good[0])
    poison["events"][0]["keystrokes"] = "secret"
    event = lambda_event([good[0], json.dumps(poison).encode(), good[1]])
    # When the consumer gets the batch
    result = deliver(event=event)
    # Then only the poison record is reported, and the others are stored
    assert result == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]
    }
    assert count_events(db) == 20


def test_postgres_down_reports_the_whole_batch_and_writes_nothing(
    agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_events(agent, {"events": make_events(50)})
    # Given a database that cannot be reached
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_S", "1")
    result = deliver()
    # Then every record is reported failed (Lambda will retry the batch) and nothing is half-written
    assert len(result["batchItemFailures"]) == 1
    assert count_events(db) == 0
    assert db.execute("SELECT count(*) FROM activity_hourly").fetchone()[0] == 0


def test_a_failing_transaction_leaves_no_partial_rows(
    agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    # Given the rollup table refuses writes midway through the transaction
    post_events(agent, {"events": make_events(40)})
    db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$"
    )
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON activity_hourly FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    try:
        result = deliver()
    finally:
        db.execute("DROP TRIGGER refuse ON activity_hourly")
        db.execute("DROP FUNCTION refuse()")
    # Then the batch is reported failed and no event row survived the rollback
    assert len(result["batchItemFailures"]) == 1
    assert count_events(db) == 0
    # And a redelivery once the database is healthy stores everything exactly once
    assert deliver() == {"batchItemFailures": []}
    assert count_events(db) == 40


def test_window_titles_and_urls_are_encrypted_and_bound_to_their_row(
    agent: Agent,
    post_events: Any,
    deliver: Any,
    db: psycopg.Connection,
    aws_resources: Resources,
    ca: LocalCA,
) -> None:
    events = make_events(10)
    post_events(agent, {"events": events})
    other = enroll(ca, aws_resources.devices_table, tenant_id=agent.tenant_id)
    set_consent(aws_resources.consent_table, other, ConsentStatus.ACTIVE, ALL_CATEGORIES)
    post_events(other, {"events": make_events(10, seed=11)})
    deliver()
    rows = db.execute(
        "SELECT event_id::text, employee_id, window_title_enc, url_enc, domain FROM activity_events "
        "WHERE employee_id = %s AND window_title_enc IS NOT NULL",
        (agent.employee_id,),
    ).fetchall()
    assert rows
    # No plaintext title is stored
    titles = {e["window_title"] for e in events if "window_title" in e}
    for _, _, enc, _, _ in rows:
        assert not any(t.encode() in bytes(enc) for t in titles)
    keys = DataKeyStore(
        boto3.client("dynamodb", region_name=REGION),
        aws_resources.data_keys_table,
        EsdkKeyWrapper(aws_resources.kms_key_arn),
    )
    mine = FieldCipher(keys.key_for(agent.tenant_id, agent.employee_id))
    theirs = FieldCipher(keys.key_for(other.tenant_id, other.employee_id))
    event_id, _, enc, _, _ = rows[0]
    expected = next(e["window_title"] for e in events if e["event_id"] == event_id)
    aad = associated_data(agent.tenant_id, agent.employee_id, event_id, "window_title")
    # The owner's key decrypts it in its own row
    assert mine.decrypt(bytes(enc), aad) == expected
    # Copied to another employee's row it does not decrypt, with their key or with the owner's
    other_row = str(uuid.uuid4())
    with pytest.raises(FieldDecryptionError):
        theirs.decrypt(
            bytes(enc), associated_data(other.tenant_id, other.employee_id, other_row, "window_title")
        )
    with pytest.raises(FieldDecryptionError):
        mine.decrypt(
            bytes(enc), associated_data(other.tenant_id, other.employee_id, other_row, "window_title")
        )
    # And the domain is kept in clear for analytics, the full URL only encrypted
    domains = {
        d for (d,) in db.execute("SELECT DISTINCT domain FROM activity_events WHERE domain IS NOT NULL")
    }
    assert domains <= {"github.com", "docs.python.org", "news.ycombinator.com", "mail.example.com"}


def test_events_for_a_withdrawn_employee_are_not_stored_by_the_consumer(
    aws_resources: Resources, agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    # Given events accepted just before the employee withdrew
    post_events(agent, {"events": make_events(10)})
    set_consent(aws_resources.consent_table, agent, ConsentStatus.WITHDRAWN)
    # When the consumer gets them
    assert deliver() == {"batchItemFailures": []}
    # Then they are dropped, not stored behind the purge's back
    assert count_events(db) == 0


def test_activity_stored_is_published_with_what_was_inserted(
    agent: Agent, post_events: Any, deliver: Any, aws_resources: Resources
) -> None:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="activity-stored")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="stored",
        EventBusName=aws_resources.bus_name,
        EventPattern=json.dumps({"detail-type": ["ActivityStored"]}),
    )
    events.put_targets(
        Rule="stored", EventBusName=aws_resources.bus_name, Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    post_events(agent, {"events": make_events(25)})
    deliver(times=2)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    details = [json.loads(m["Body"])["detail"] for m in messages]
    # One summary for the first delivery; the redelivery inserted nothing and published nothing
    assert len(details) == 1
    assert details[0]["tenant_id"] == agent.tenant_id
    assert details[0]["inserted"] == 25
    assert details[0]["employees"][0]["employee_id"] == agent.employee_id


def test_agent_config_reports_what_the_device_may_collect(
    aws_resources: Resources, agent: Agent, handlers: None
) -> None:
    from functions.ingest_api import handler
    from infra_cdk.local.apigw import FakeLambdaContext, rest_event

    set_consent(aws_resources.consent_table, agent, ConsentStatus.ACTIVE, {"apps", "input_counts"})
    resp = handler.lambda_handler(
        rest_event("GET", "/v1/agent/config", cert_pem=agent.cert.cert_pem), FakeLambdaContext()
    )
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"]) == {
        "employee_id": agent.employee_id,
        "consent": {"status": "active", "policy_version": "2026-01", "categories": ["apps", "input_counts"]},
        "upload_interval_s": 60,
        "max_batch": 1000,
    }
    no_cert = handler.lambda_handler(rest_event("GET", "/v1/agent/config"), FakeLambdaContext())
    assert no_cert["statusCode"] == 403
    unknown = handler.lambda_handler(
        rest_event("GET", "/v1/nothing", cert_pem=agent.cert.cert_pem), FakeLambdaContext()
    )
    assert (unknown["statusCode"], json.loads(unknown["body"])["error"]["code"]) == (404, "not_found")


def test_awkward_text_is_stored_byte_for_byte(
    agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    # Given app names and versions with tabs, newlines, backslashes, quotes and non-Latin text
    awkward = ["tab\there", "new\nline", "back\\slash", "\\N", 'quote"s', "Ελληνικά 日本語 🚀", "cr\rlf"]
    events = make_events(len(awkward))
    for e, name in zip(events, awkward, strict=True):
        e["type"], e["app"], e["agent_version"] = "app_focus", name, name[:64]
    # When they are ingested and stored
    assert post_events(agent, {"events": events})[1]["accepted"] == len(awkward)
    assert deliver() == {"batchItemFailures": []}
    # Then each comes back exactly as sent (the COPY encoding escapes what it must)
    stored = dict(db.execute("SELECT event_id::text, app FROM activity_events").fetchall())
    assert stored == {e["event_id"]: e["app"] for e in events}
    apps = {a for (a,) in db.execute("SELECT app FROM activity_hourly")}
    assert apps == set(awkward)


def test_nul_characters_reject_the_event_and_never_poison_the_batch(agent: Agent, post_events: Any) -> None:
    events = make_events(3)
    events[1]["type"], events[1]["app"] = "app_focus", "evil\u0000app"
    status, body = post_events(agent, {"events": events})
    assert status == 202
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, "invalid_event")]


def test_concurrent_consumers_store_a_shared_batch_once(
    agent: Agent, post_events: Any, aws_resources: Resources, db: psycopg.Connection, pg_url: str
) -> None:
    import threading

    from shared.db.events import EventWriter
    from shared.db.pool import make_pool
    from shared.settings import DbSettings

    # Given two consumers (as after a shard rebalance) holding the same records
    post_events(agent, {"events": make_events(600)})
    records = [bytes(r["Data"]) for r in read_stream(aws_resources.stream_name)]
    from functions.ingest_stream import logic
    from shared.crypto.data_keys import DataKeyStore, EsdkKeyWrapper
    from shared.dynamo.consent import ConsentStore

    ddb = boto3.client("dynamodb", region_name=REGION)
    subjects = logic.BatchSubjects(
        ConsentStore(ddb, aws_resources.consent_table),
        DataKeyStore(ddb, aws_resources.data_keys_table, EsdkKeyWrapper(aws_resources.kms_key_arn)),
    )
    rows = [row for r in records for row in logic.to_rows(logic.decode(r), subjects).rows]
    pool = make_pool(DbSettings(database_url=pg_url), max_size=4)
    results: list[int] = []

    def consume() -> None:
        with pool.connection() as conn:
            results.append(sum(s.inserted for s in EventWriter().store(conn, rows)))

    # When both write it at the same moment
    threads = [threading.Thread(target=consume) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.close()
    # Then the rows are stored once, counted once, and the rollup matches the raw rows
    assert sorted(results) == [0, 600]
    assert count_events(db) == 600
    assert db.execute(ROLLUP).fetchall() == db.execute(RECOMPUTE_HOURLY).fetchall()


def test_stored_events_leave_one_audit_entry_per_employee_and_batch(
    aws_resources: Resources, ca: LocalCA, post_events: Any, deliver: Any, db: psycopg.Connection
) -> None:
    from shared.audit.recorder import find_pseudonym

    # Given two employees of one tenant posting in the same stream batch
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    agents = [enroll(ca, aws_resources.devices_table, tenant_id=tenant) for _ in range(2)]
    for a in agents:
        set_consent(aws_resources.consent_table, a, ConsentStatus.ACTIVE, ALL_CATEGORIES)
        post_events(a, {"events": make_events(30, seed=hash(a.employee_id) % 1000)})
    # When the batch is delivered twice
    deliver(times=2)
    # Then the storing left exactly one entry per employee (the redelivery stored nothing new)
    rows = db.execute(
        "SELECT actor_type, actor_id, action, subject_ref FROM audit_log WHERE tenant_id = %s ORDER BY seq",
        (tenant,),
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("system", "ingest_stream", "activity.events.store")] * 2
    refs = {find_pseudonym(db, tenant, a.employee_id) for a in agents}
    assert {r[3] for r in rows} == refs


def test_a_batch_whose_audit_entry_cannot_be_written_stores_nothing(
    agent: Agent, post_events: Any, deliver: Any, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.audit.recorder import AuditRecorder
    from shared.errors import AuditUnavailable

    def broken(self: Any, conn: Any, entries: Any) -> Any:
        raise AuditUnavailable()

    monkeypatch.setattr(AuditRecorder, "record_many", broken)
    post_events(agent, {"events": make_events(20)})
    result = deliver()
    assert len(result["batchItemFailures"]) == 1
    assert count_events(db) == 0

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from ghcapture.monitor.dashboard import SESSION_COOKIE, DashboardOptions, create_app, session_value
from ghcapture.monitor.thresholds import Thresholds
from ghcapture.store.database import open_database, open_existing_database
from monitor_support import NOW, add_event, add_job, add_repository, known_store

HOSTILE = '<script>alert("x")</script>'
PAGES = [
    ("/", "/index.json"),
    ("/rate-limits", "/rate-limits.json"),
    ("/cost", "/cost.json"),
    ("/repositories", "/repositories.json"),
    ("/repositories/acme/widgets", "/repositories/acme/widgets.json"),
    ("/jobs", "/jobs.json"),
    ("/workers", "/workers.json"),
]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path}/m.db")
    known_store(engine)
    return engine


def test_every_page_and_its_json_twin_answer(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW))

    for path, twin in PAGES:
        page, data = client.get(path), client.get(twin)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        assert data.status_code == 200 and data.headers["content-type"] == "application/json", twin
    overview = client.get("/index.json").json()["overview"]
    assert overview["windows"][0]["total"] == 6
    assert overview["stuck"] == []  # the running job's heartbeat is 5 min old, within the 30 min threshold
    stricter = DashboardOptions(thresholds=Thresholds(stuck_after=timedelta(minutes=4)))
    strict = TestClient(create_app(engine, clock=lambda: NOW, options=stricter)).get("/index.json").json()
    assert [(s["id"], s["silent_seconds"]) for s in strict["overview"]["stuck"]] == [("job-running", 300.0)]
    assert client.get("/jobs.json?lane=bulk").json()["matching"] == 3
    assert "large backfill" in client.get("/jobs?lane=bulk").text


def test_a_fragment_is_the_page_content_alone(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW))

    whole = client.get("/jobs").text
    fragment = client.get("/jobs", headers={"X-Ghcapture-Fragment": "1"}).text

    assert "<html" in whole and 'id="page"' in whole
    assert "<html" not in fragment and 'id="job-list"' in fragment and fragment.strip() in whole


def test_no_page_writes_to_the_database(engine: Engine) -> None:
    reader = open_existing_database(engine.url.render_as_string(hide_password=False))
    statements: list[str] = []
    event.listen(reader, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client = TestClient(create_app(reader, clock=lambda: NOW))

    for path, twin in PAGES:
        client.get(path)
        client.get(twin)
    client.get("/jobs/job-running")

    # A plain BEGIN takes no lock; BEGIN IMMEDIATE (a writer's) would hold workers back.
    reads = ("SELECT", "PRAGMA")
    assert statements and all(s.lstrip().upper().startswith(reads) or s == "BEGIN" for s in statements)


def test_a_job_page_takes_the_short_id_the_cli_takes(engine: Engine) -> None:
    job_id = add_job(engine, id="839ea141-5b7a-4e0e-9b9e-7d2f1c8a0b11", params={"days": 7, "max_items": 50})
    add_job(engine, id="839ea1ff-0000-4000-8000-000000000000")
    client = TestClient(create_app(engine, clock=lambda: NOW))

    page = client.get("/jobs/839ea141")
    data = client.get("/jobs/839ea141.json").json()

    assert page.status_code == 200 and job_id in page.text and "max_items" in page.text
    assert data["job"]["id"] == job_id and data["job"]["params"] == {"days": 7, "max_items": 50}
    assert client.get("/jobs/839ea1").status_code == 400  # two jobs start so
    assert client.get("/jobs/839").status_code == 400  # too short to look up
    assert client.get("/jobs/deadbeef").status_code == 404


def test_hostile_repository_and_error_strings_are_escaped(engine: Engine) -> None:
    add_repository(engine, f"evil/{HOSTILE}")
    job_id = add_job(
        engine, repository=f"evil/{HOSTILE}", status="failed", error=HOSTILE, run_url="javascript:alert(1)"
    )
    add_event(engine, job_id, "failed", HOSTILE)
    client = TestClient(create_app(engine, clock=lambda: NOW))

    everywhere = [client.get(path) for path, _ in PAGES]
    showing = [client.get(path) for path in ("/", "/jobs", "/repositories", f"/jobs/{job_id}")]
    showing.append(client.get(f"/repositories/evil/{HOSTILE}"))
    for page in everywhere + showing:
        assert page.status_code == 200
        assert HOSTILE not in page.text
        assert 'href="javascript:' not in page.text
    for page in showing:
        assert "&lt;script&gt;" in page.text


def test_job_page_lists_its_events_and_unknown_ids_are_404(engine: Engine) -> None:
    job_id = add_job(engine, route_reason="small and recent")
    add_event(engine, job_id, "started", "picked up by worker-7")
    client = TestClient(create_app(engine, clock=lambda: NOW))

    page = client.get(f"/jobs/{job_id}")
    missing = client.get("/jobs/no-such-job")

    assert page.status_code == 200
    assert "picked up by worker-7" in page.text and "small and recent" in page.text
    assert missing.status_code == 404


def test_metrics_and_snapshot_endpoints(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW))

    metrics = client.get("/metrics")
    snapshot = client.get("/api/snapshot").json()

    assert metrics.headers["content-type"].startswith("text/plain; version=")
    assert 'ghcapture_jobs{lane="bulk",status="completed"} 3.0' in metrics.text.splitlines()
    assert snapshot["spend"]["points"] == 645
    assert snapshot["running"][0]["heartbeat_age_s"] == 300.0
    assert {r["full_name"]: r["missing"] for r in snapshot["repositories"]} == {
        "acme/gadgets": 0,
        "acme/widgets": 2,
    }


TOKEN = "a-dashboard-token-of-some-length"


def test_with_a_token_every_request_but_healthz_needs_it(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW, token=TOKEN))
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    for path in ("/", "/jobs.json", "/jobs/job-running", "/metrics", "/api/snapshot", "/workers"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401, path
        assert client.get(path, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401, path
        assert client.get(path, headers=bearer).status_code == 200, path
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/static/dashboard.css").status_code == 200
    form = client.get("/jobs", headers={"Accept": "text/html"})
    assert form.status_code == 401 and 'name="token"' in form.text and 'value="/jobs"' in form.text


def test_the_sign_in_form_sets_a_locked_down_cookie_that_is_not_the_token(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW, token=TOKEN), follow_redirects=False)

    wrong = client.post("/login", data={"token": "guess", "next": "/jobs"})
    right = client.post("/login", data={"token": TOKEN, "next": "/jobs"})
    away = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"})

    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert right.status_code == 303 and right.headers["location"] == "/jobs"
    assert away.headers["location"] == "/"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={session_value(TOKEN)};") and TOKEN not in cookie
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=strict"))
    # The test client speaks plain HTTP, over which a Secure cookie is not sent back: send it by hand.
    signed_in = client.get("/jobs", headers={"Cookie": f"{SESSION_COOKIE}={session_value(TOKEN)}"})
    assert signed_in.status_code == 200
    forged = {"Cookie": f"{SESSION_COOKIE}={session_value('other')}"}
    assert client.get("/jobs", headers=forged).status_code == 401


def test_no_token_no_gate(engine: Engine) -> None:
    assert TestClient(create_app(engine, clock=lambda: NOW)).get("/jobs").status_code == 200


def test_every_answer_forbids_foreign_scripts_and_framing(engine: Engine) -> None:
    client = TestClient(create_app(engine, clock=lambda: NOW, token=TOKEN))

    for answer in (
        client.get("/"),
        client.get("/healthz"),
        client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}),
    ):
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"

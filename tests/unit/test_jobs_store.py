"""JobStore on both dialects: transitions with events, claims that only one caller wins, the reaper's
limits, retry and cancel; and the small parsers of the job system."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from ghcapture.config import Settings
from ghcapture.errors import ConfigError, InputError
from ghcapture.jobs.router import Route
from ghcapture.jobs.schedules import cron_for, parse_every
from ghcapture.jobs.settings import budget_name, default_system_database_url, load_job_settings
from ghcapture.jobs.store import (
    BUSY,
    CONTINUED,
    GONE,
    STARTED,
    JobStateError,
    JobStore,
    UnknownJob,
    jobs_table,
)
from ghcapture.store.tables import utc_now

ROUTE = Route("realtime", "local", "realtime: test")


def _beat_at(store: JobStore, job_id: str, seconds_ago: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id)
            .values(heartbeat_at=utc_now() - timedelta(seconds=seconds_ago))
        )


def test_a_job_runs_through_its_states_with_events(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    job = store.create(kind="prs", repository="acme/w", route=ROUTE, params={"days": 1})
    assert (job.status, job.attempts, job.params) == ("pending", 0, {"days": 1})
    assert store.start(job.id)
    assert not store.start(job.id), "a running job cannot be started twice"
    store.progress(job.id, items_total=10, items_done=4)
    assert store.complete(job.id, message="done")
    done = store.get(job.id, with_events=True)
    assert (done.status, done.attempts, done.items_done, done.items_total) == ("completed", 1, 4, 10)
    assert done.completed_at is not None and done.started_at is not None
    assert [e.type for e in done.events] == ["created", "started", "completed"]
    assert "realtime: test" in (done.events[0].message or "")


def test_claims_admit_one_winner(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    job = store.create(kind="prs", repository="acme/w", route=ROUTE)
    assert store.claim_workflow(job.id, "wf-1", expected=None)
    assert not store.claim_workflow(job.id, "wf-2", expected=None), "the second enqueuer loses"
    assert store.claim_run(job.id, workflow_id="wf-2") == GONE
    assert store.claim_run(job.id, workflow_id="wf-1") == STARTED
    assert store.claim_run(job.id, workflow_id="wf-1") == CONTINUED
    other = store.create(kind="prs", repository="acme/w", route=ROUTE)
    store.claim_workflow(other.id, "wf-3", expected=None)
    assert store.claim_run(other.id, workflow_id="wf-3", exclusive=True) == BUSY
    different_kind = store.create(kind="files", repository="acme/w", route=ROUTE)
    store.claim_workflow(different_kind.id, "wf-4", expected=None)
    assert store.claim_run(different_kind.id, workflow_id="wf-4", exclusive=True) == STARTED


def test_reaper_fails_silent_jobs_and_retries_while_attempts_remain(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    silent = store.create(kind="prs", repository="acme/a", route=ROUTE, max_attempts=2)
    alive = store.create(kind="prs", repository="acme/b", route=ROUTE)
    last = store.create(kind="prs", repository="acme/c", route=ROUTE, max_attempts=1)
    for job in (silent, alive, last):
        store.start(job.id)
    _beat_at(store, silent.id, 121)
    _beat_at(store, alive.id, 119)
    _beat_at(store, last.id, 500)
    reaped = {r.job.id: r for r in store.reap_stuck({"local": 120})}
    assert set(reaped) == {silent.id, last.id}
    assert reaped[silent.id].retried and store.get(silent.id).status == "queued"
    assert not reaped[last.id].retried and store.get(last.id).status == "failed"
    assert "no heartbeat for 121 s (limit 120 s for local)" in (store.get(silent.id).error or "")
    assert store.get(alive.id).status == "running"
    assert store.reap_stuck({"local": 120}) == [], "a reaped job is not reaped again"


def test_retry_and_cancel(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    job = store.create(kind="prs", repository="acme/w", route=ROUTE, max_attempts=1)
    store.start(job.id)
    assert not store.fail(job.id, "GitHub said no", retry=True), "no attempts left"
    assert store.get(job.id).status == "failed"
    again = store.retry(job.id)
    assert (again.status, again.error, again.max_attempts) == ("queued", None, 2)
    cancelled = store.cancel(job.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(JobStateError):
        store.cancel(job.id)
    assert store.find(job.id[:6]).id == job.id
    with pytest.raises(UnknownJob):
        store.get("nope")
    with pytest.raises(InputError):
        store.list(status="sleeping")


def test_release_gives_the_attempt_back(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    job = store.create(kind="prs", repository="acme/w", route=ROUTE)
    store.claim_workflow(job.id, "wf", expected=None)
    store.claim_run(job.id, workflow_id="wf")
    assert store.release(job.id, "wf", "stopping")
    released = store.get(job.id)
    assert (released.status, released.attempts, released.local_workflow_id) == ("queued", 0, None)


def test_every_parses_to_cron() -> None:
    assert parse_every("6h") == 21600 and cron_for(21600) == "0 0 */6 * * *"
    assert parse_every("15m") == 900 and cron_for(900) == "0 */15 * * * *"
    assert parse_every("30s") == 30 and cron_for(30) == "*/30 * * * * *"
    assert parse_every("1d") == 86400 and cron_for(86400) == "0 0 0 */1 * *"
    for bad in ("7h", "0m", "soon", "90m"):
        with pytest.raises(InputError):
            parse_every(bad)


def test_job_settings() -> None:
    settings = Settings(github_token="ghp_secret", database_url="sqlite:////data/x.db")
    jobs = load_job_settings(settings, {"GHCAPTURE_REALTIME_MAX_ITEMS": "10"})
    assert jobs.router.realtime_max_items == 10
    assert jobs.system_database_url == "sqlite:////data/x-jobs.db"
    assert "ghp_secret" not in jobs.budget_name and jobs.budget_name == budget_name(settings)
    assert default_system_database_url("postgresql+psycopg://u:p@h/db") == "postgresql://u:p@h/db"
    on_postgres = load_job_settings(Settings(database_url="postgresql://u:hunter2@h/db"), {})
    assert on_postgres.system_database_url == "postgresql://u:hunter2@h/db"
    assert "hunter2" not in repr(on_postgres)
    with pytest.raises(ConfigError):
        load_job_settings(settings, {"GHCAPTURE_TOKEN_CONCURRENCY": "many"})


def test_a_worker_beat_is_recorded_then_its_stop(store_engine: Engine) -> None:
    from ghcapture.monitor.workers import worker_beats

    store = JobStore(store_engine)
    store.worker_beat("box-1-abc", host="box", pid=1, listens=True, holding={"j2", "j1"})
    with store_engine.connect() as connection:
        [first] = worker_beats(connection)
    store.worker_beat("box-1-abc", host="box", pid=1, listens=True, holding=set())
    store.worker_stopped("box-1-abc")
    with store_engine.connect() as connection:
        [last] = worker_beats(connection)

    assert first.running == ("j1", "j2") and first.stopped_at is None
    assert last.running == () and last.stopped_at is not None and last.heartbeat_at >= first.heartbeat_at
    assert last.started_at == first.started_at

"""JobProgress on both dialects: matrix chunks of one job reporting at once add up their items and spend;
a lone reporter sets the job's items done."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from sqlalchemy import Engine

from ghcapture.jobs.progress import JobProgress
from ghcapture.jobs.router import Route
from ghcapture.jobs.store import JobStore

BULK_ROUTE = Route("bulk", "github_actions", "bulk: test")
STEPS = 20


def _chunk(engine: Engine, job_id: str, barrier: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        reporter = JobProgress(engine, job_id, settle=False, shared=True)
        barrier.wait()
        reporter.start("acme/big", None)
        for done in range(1, STEPS + 1):
            barrier.wait()  # both chunks report each step at the same moment
            reporter.advance(done, points=done * 2, requests=done, budget={})
        barrier.wait()
        reporter.finish(
            SimpleNamespace(pull_requests=STEPS + 5, points_used=STEPS * 2 + 1, requests_made=STEPS)
        )
    except BaseException as exc:  # surfaced by the test thread, which owns the assertions
        errors.append(exc)
        barrier.abort()


def test_parallel_chunks_of_one_job_add_up_their_items_and_spend(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    job = store.create(kind="prs", repository="acme/big", route=BULK_ROUTE, params={"days": 365})
    barrier = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_chunk, args=(store_engine, job.id, barrier, errors)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    done = store.get(job.id)
    assert done.status == "running", "a chunk does not settle its job"
    assert done.items_done == 2 * (STEPS + 5)
    assert (done.points_used, done.requests_made) == (2 * (STEPS * 2 + 1), 2 * STEPS)


def test_a_lone_reporter_sets_the_items_done(store_engine: Engine) -> None:
    store = JobStore(store_engine)
    job = store.create(kind="prs", repository="acme/w", route=BULK_ROUTE, params={"days": 1})
    reporter = JobProgress(store_engine, job.id, settle=False)
    reporter.start("acme/w", None)
    reporter.advance(7, points=1, requests=1, budget={})
    reporter.advance(9, points=2, requests=2, budget={})
    reporter.finish(SimpleNamespace(pull_requests=9, points_used=2, requests_made=2))

    assert store.get(job.id).items_done == 9

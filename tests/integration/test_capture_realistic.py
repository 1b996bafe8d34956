"""The capture against the realistic profile (GitHub's server time on a compressed clock) and against the
faults GitHub serves that the fast profile never did: 429 without retry-after, GraphQL's RATE_LIMIT body,
a deep-page 422, a rename mid-run, a connection closed after the headers."""

from __future__ import annotations

from sqlalchemy import select

from capture_support import compare, requests_during_waits, run_capture
from ghcapture.github.ratelimit import RateLimitMonitor
from ghcapture.simulator.app import SimulatorConfig
from ghcapture.simulator.limits import FaultPlan
from ghcapture.store.database import open_database
from ghcapture.store.tables import repositories


def test_a_capture_on_the_realistic_profile_adapts_its_pages_and_is_complete(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 400}, config=SimulatorConfig.realistic(0.01, seed=2))
    engine = open_database(sqlite_url)

    run_capture(server, engine, "acme/widgets")

    stats = server.simulator.stats
    # Pages of 100 PRs with their files take GitHub over 10 s: they time out and the page shrinks.
    assert stats.faults["timeout"] >= 1
    assert stats.server_ms > 0
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    assert requests_during_waits(server.simulator.request_log) == 0


def test_429_without_retry_after_waits_the_minute_then_completes(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 120})
    server.simulator.config.faults.queue("secondary-429", "graphql", count=1)
    server.simulator.config.faults.queue("secondary-429", "rest", count=1)
    engine = open_database(sqlite_url)
    # GitHub's minute is shortened for the test, as on a compressed clock; the rule stays the client's.
    monitor = RateLimitMonitor(secondary_base_wait=1.2)

    run_capture(server, engine, "acme/widgets", monitor=monitor)

    assert server.simulator.stats.faults["secondary-429"] == 2
    assert monitor.waits >= 2 and monitor.waited_seconds >= 2.4
    assert server.simulator.stats.limits["secondary_during_wait"] == 0
    assert compare(server, engine, "acme/widgets").equal


def test_a_graphql_rate_limit_body_waits_for_the_reset(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 120})
    server.simulator.config.faults.queue("graphql-rate-limit", "graphql", count=1)
    engine = open_database(sqlite_url)

    run_capture(server, engine, "acme/widgets")

    assert server.simulator.stats.limits["primary_graphql_injected"] == 1
    assert server.simulator.stats.limits["primary_graphql"] == 0  # nothing was sent before the reset
    assert compare(server, engine, "acme/widgets").equal


def test_a_deep_page_422_on_the_review_comment_listing_resumes_from_the_last_update(
    make_simulator, sqlite_url
):
    server = make_simulator({"acme/widgets": 150})
    server.simulator.config.faults.queue("deep-page", "rest", count=2)
    engine = open_database(sqlite_url)

    run_capture(server, engine, "acme/widgets")

    assert server.simulator.stats.faults["deep-page"] == 2
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()


def test_a_repository_renamed_mid_capture_ends_complete_under_its_new_name(make_simulator, sqlite_url):
    server = make_simulator({"acme/widgets": 150})
    server.simulator.config.faults.queue("moved", "rest", count=1)
    engine = open_database(sqlite_url)

    run_capture(server, engine, "acme/widgets")

    assert server.simulator.stats.faults["moved"] == 1
    renamed = server.simulator.world.repository("acme", "widgets-moved")
    assert renamed is not None and renamed.name == "widgets-moved"
    check = compare(server, engine, "acme/widgets-moved")
    assert check.equal, check.summary()
    with engine.connect() as conn:
        assert conn.execute(select(repositories.c.github_id)).scalars().all() == [renamed.id]
    # After the first 301 the client asks for the repository where it now is, not via a redirect each time.
    redirects = [entry for entry in server.simulator.request_log if entry[2] == 301]
    assert server.simulator.stats.endpoints and len(redirects) <= 2


def test_faults_of_every_new_kind_mixed_do_not_change_the_result(make_simulator, sqlite_url):
    kinds = ("headers-only", "reset", "502", "504", "graphql-rate-limit", "deep-page", "secondary")
    faults = FaultPlan(rate=0.3, kinds=kinds, seed=5)
    server = make_simulator({"acme/widgets": 150}, config=SimulatorConfig(faults=faults))
    engine = open_database(sqlite_url)

    run_capture(server, engine, "acme/widgets")

    assert sum(server.simulator.stats.faults.values()) >= 3
    check = compare(server, engine, "acme/widgets")
    assert check.equal, check.summary()
    assert requests_during_waits(server.simulator.request_log) == 0

"""The dashboard in real Chromium over a seeded database: the counts, the charts, a job page from the list,
a page that updates itself, and GitHub's text shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from browser.conftest import served
from ghcapture.monitor.dashboard import DashboardOptions, create_app
from ghcapture.store.database import open_database
from ghcapture.store.tables import pull_requests
from monitor_support import NOW, add_event, add_job, add_repository, add_sample, add_worker

HOSTILE_TITLE = "<script>window.__pwned = 1</script>Fix <b>parsing</b>"
FIRST_JOB = "0badc0de-0000-4000-8000-000000000001"


def seed(engine: Engine) -> None:
    """In the last 24 h: 4 bulk jobs completed (10 PRs each, an hour long, ended 2 h ago), 2 realtime ones
    completed (5 PRs each, 10 min, ended 40 min ago), 1 failed, 1 running but silent for 40 min (stuck),
    2 pending. Three days ago: 1 more bulk job completed. Rate-limit readings and a worker beside."""
    repo_id = add_repository(engine, "acme/widgets", prs=2, github_total=4, synced=NOW - timedelta(hours=2))
    with engine.begin() as connection:
        connection.execute(
            update(pull_requests).where(pull_requests.c.repository_id == repo_id).values(title=HOSTILE_TITLE)
        )
    for i in range(4):
        add_job(
            engine,
            id=FIRST_JOB if i == 0 else None,
            lane="bulk",
            processor="github_actions",
            created_at=NOW - timedelta(hours=3),
            started_at=NOW - timedelta(hours=3),
            completed_at=NOW - timedelta(hours=2),
            items_done=10,
            billable_ms=60_000,
            cost_usd=0.006,
            route_reason="large backfill",
            run_url="https://github.com/acme/jobs/actions/runs/1",
        )
    for _ in range(2):
        add_job(
            engine,
            lane="realtime",
            processor="local",
            created_at=NOW - timedelta(minutes=50),
            started_at=NOW - timedelta(minutes=50),
            completed_at=NOW - timedelta(minutes=40),
            items_done=5,
        )
    add_job(
        engine,
        lane="realtime",
        processor="local",
        status="failed",
        error="boom",
        created_at=NOW - timedelta(minutes=35),
        completed_at=NOW - timedelta(minutes=30),
    )
    add_job(
        engine,
        lane="realtime",
        processor="local",
        status="running",
        created_at=NOW - timedelta(minutes=50),
        started_at=NOW - timedelta(minutes=50),
        heartbeat_at=NOW - timedelta(minutes=40),
    )
    for _ in range(2):
        add_job(
            engine,
            lane="realtime",
            processor="local",
            status="pending",
            created_at=NOW - timedelta(minutes=5),
        )
    add_job(
        engine,
        lane="bulk",
        processor="github_actions",
        created_at=NOW - timedelta(days=3),
        started_at=NOW - timedelta(days=3),
        completed_at=NOW - timedelta(days=3) + timedelta(hours=1),
    )
    # A GraphQL budget read every 20 min, drained through each hour; a core budget nearly spent; a worker.
    for minutes in range(0, 24 * 60, 20):
        left = 5000 - 1000 * (minutes % 60 // 20)
        add_sample(
            engine, "app-installation-42", "graphql", remaining=left, at=NOW - timedelta(minutes=minutes)
        )
    add_sample(engine, "app-installation-42", "core", remaining=120, at=NOW - timedelta(minutes=2))
    add_worker(engine, "box-4242-a1b2c3", beat=NOW - timedelta(seconds=3), running=[FIRST_JOB])
    add_event(
        engine, FIRST_JOB, "created", "manual prs of acme/widgets; large backfill", NOW - timedelta(hours=3)
    )
    add_event(engine, FIRST_JOB, "completed", "40 pull requests", NOW - timedelta(hours=2))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('dashboard')}/seeded.db")
    seed(engine)
    return engine


@pytest.fixture(scope="module")
def base_url(database: Engine) -> Iterator[str]:
    app = create_app(database, clock=lambda: NOW, options=DashboardOptions(refresh_seconds=1.0))
    with served(app) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def cell(page: Any, window: str, lane: str, status: str) -> str:
    selector = f'#jobs-by-lane tr[data-window="{window}"][data-lane="{lane}"] td[data-status="{status}"]'
    return str(page.text_content(selector)).strip()


def test_overview_shows_the_seeded_counts_and_draws_its_charts(
    page: Any, base_url: str, screenshots: Path
) -> None:
    page.goto(base_url + "/")

    assert page.text_content("#jobs-24h .value") == "10"
    assert page.text_content("#success-24h .value") == "85.7%"  # 6 completed of 7 that ended
    assert page.text_content("#prs-per-hour .value") == "2.1"  # (4 x 10 + 2 x 5) / 24
    assert page.text_content("#backlog .value") == "2"
    assert page.text_content("#stuck .value") == "1"
    assert cell(page, "24 h", "bulk", "completed") == "4"
    assert cell(page, "24 h", "realtime", "completed") == "2"
    assert cell(page, "7 d", "all", "completed") == "7"
    charts = page.query_selector_all("svg.chart")
    assert len(charts) == 3
    throughput = [float(bar.get_attribute("height")) for bar in charts[0].query_selector_all("rect.bar")]
    assert len(throughput) == 24 and sum(1 for h in throughput if h > 0) == 2  # 10:00 and 11:00
    box = charts[0].bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 50  # drawn, at a readable size
    page.screenshot(path=str(screenshots / "overview.png"), full_page=True)
    page.set_viewport_size({"width": 3840, "height": 2160})
    page.screenshot(path=str(screenshots / "overview-wall.png"))


def test_a_job_page_opens_from_the_list_by_its_short_id(page: Any, base_url: str, screenshots: Path) -> None:
    page.goto(base_url + "/jobs?lane=bulk&status=completed")
    link = page.locator(f'tr[data-job="{FIRST_JOB}"] a').first
    assert link.text_content() == FIRST_JOB[:8]
    page.screenshot(path=str(screenshots / "jobs.png"), full_page=True)

    link.click()
    page.wait_for_url(f"**/jobs/{FIRST_JOB[:8]}")

    assert FIRST_JOB in str(page.text_content("h1"))
    assert "large backfill" in str(page.text_content("#job"))
    assert page.locator("#events li").count() == 2
    assert (
        page.get_attribute("#job a[href*='actions/runs']", "href")
        == "https://github.com/acme/jobs/actions/runs/1"
    )
    page.screenshot(path=str(screenshots / "job.png"), full_page=True)


def test_the_open_page_updates_itself_when_a_job_is_added(page: Any, base_url: str, database: Engine) -> None:
    page.goto(base_url + "/jobs")
    page.evaluate("window.__same_document = true")
    new_job = "feedbeef-0000-4000-8000-000000000002"

    add_job(
        database,
        id=new_job,
        repository="acme/newcomer",
        lane="realtime",
        processor="local",
        status="queued",
        created_at=NOW,
    )

    page.wait_for_selector(f'tr[data-job="{new_job}"]', timeout=10_000)
    assert page.evaluate("window.__same_document") is True  # swapped in place, not reloaded


def test_a_pull_request_title_with_a_script_shows_as_text(
    page: Any, base_url: str, screenshots: Path
) -> None:
    page.goto(base_url + "/repositories")
    page.click('a[href="/repositories/acme/widgets"]')
    page.wait_for_selector("#pull-requests td.title")

    titles = page.locator("#pull-requests td.title").all_text_contents()
    assert titles == [HOSTILE_TITLE, HOSTILE_TITLE]
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#pull-requests b").count() == 0
    page.screenshot(path=str(screenshots / "repository.png"), full_page=True)


def test_the_rate_limits_page_shows_each_budget_and_its_day(
    page: Any, base_url: str, screenshots: Path
) -> None:
    page.goto(base_url + "/rate-limits")

    rows = page.locator("#budgets tr[data-budget]")
    assert rows.count() == 2
    assert page.text_content('#budgets tr[data-resource="core"] td.n.error') == "120"  # below the reserve
    assert page.locator("svg.chart").count() == 2
    page.screenshot(path=str(screenshots / "rate-limits.png"), full_page=True)


@pytest.mark.parametrize("path", ["/cost", "/workers", "/repositories"])
def test_every_other_page_renders(page: Any, base_url: str, screenshots: Path, path: str) -> None:
    response = page.goto(base_url + path)

    assert response is not None and response.status == 200
    assert page.locator("main#page h1").count() == 1
    page.screenshot(path=str(screenshots / f"{path.strip('/')}.png"), full_page=True)

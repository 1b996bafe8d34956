"""HybridRouter: each rule, its boundaries, the override, and where bulk work runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ghcapture.config import Settings
from ghcapture.errors import InputError
from ghcapture.jobs.router import CaptureRequest, HybridRouter, RepositoryFacts, RouterConfig
from ghcapture.jobs.settings import load_job_settings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FRESH = RepositoryFacts(github_pr_total=200, watermark=NOW - timedelta(hours=2))
ACTIONS = RouterConfig(
    actions_repository="acme/ghcapture-jobs", actions_database_url="postgresql://u:p@db.example.com/ghcapture"
)

CASES = [
    # (request, facts, lane, words in the reason)
    (CaptureRequest("acme/w", days=1), FRESH, "realtime", "realtime: the last 1 day"),
    (CaptureRequest("acme/w", days=2), FRESH, "bulk", "2 days requested, over the 1-day realtime limit"),
    (
        CaptureRequest("acme/big", days=365),
        FRESH,
        "bulk",
        "365 days requested, over the 1-day realtime limit",
    ),
    (CaptureRequest("acme/w", since=NOW - timedelta(hours=24)), FRESH, "realtime", "changes since"),
    (CaptureRequest("acme/w", since=NOW - timedelta(hours=24, seconds=1)), FRESH, "bulk", "24 h old"),
    (CaptureRequest("acme/w", pr_numbers=tuple(range(1, 51))), FRESH, "realtime", "50 pull requests"),
    (
        CaptureRequest("acme/w", pr_numbers=tuple(range(1, 52))),
        FRESH,
        "bulk",
        "51 pull requests requested, over the 50-item realtime limit",
    ),
    (CaptureRequest("acme/w", days=1, max_items=51), FRESH, "bulk", "over the 50-item realtime limit"),
    (CaptureRequest("acme/w", days=1, trigger="scheduled"), FRESH, "bulk", "a scheduled trigger"),
    (CaptureRequest("acme/w", days=1, trigger="background"), FRESH, "bulk", "a background trigger"),
    (CaptureRequest("acme/w", days=1, trigger="automatic"), FRESH, "realtime", "realtime"),
    (
        CaptureRequest("acme/w", days=1),
        RepositoryFacts(github_pr_total=1000),
        "realtime",
        "1,000 pull requests",
    ),
    (
        CaptureRequest("acme/w", days=1),
        RepositoryFacts(github_pr_total=1001),
        "bulk",
        "acme/w has 1,001 pull requests on GitHub, over the 1,000 realtime limit",
    ),
    # A short list of PRs of a large repository stays realtime: the batch rule bounds it.
    (
        CaptureRequest("acme/w", pr_numbers=(12, 15, 99)),
        RepositoryFacts(github_pr_total=50_000),
        "realtime",
        "3 pull requests",
    ),
    (CaptureRequest("acme/w"), RepositoryFacts(github_pr_total=10), "bulk", "all history requested"),
    (CaptureRequest("acme/w"), FRESH, "realtime", "changes since the last capture"),
    (
        CaptureRequest("acme/w"),
        RepositoryFacts(10, watermark=NOW - timedelta(days=3)),
        "bulk",
        "changes since the last capture",
    ),
]


@pytest.mark.parametrize(("request_", "facts", "lane", "words"), CASES)
def test_route_table(request_: CaptureRequest, facts: RepositoryFacts, lane: str, words: str) -> None:
    route = HybridRouter().route(request_, facts, now=NOW)
    assert route.lane == lane, route.reason
    assert route.reason.startswith(f"{lane}: ")
    assert words in route.reason
    assert route.processor == "local"


def test_every_rule_that_applies_is_named() -> None:
    route = HybridRouter().route(
        CaptureRequest("acme/big", days=365, trigger="scheduled"),
        RepositoryFacts(github_pr_total=5000),
        now=NOW,
    )
    assert "365 days" in route.reason and "scheduled" in route.reason and "5,000" in route.reason


def test_thresholds_are_configurable() -> None:
    router = HybridRouter(RouterConfig(realtime_max_days=7, realtime_max_items=10, realtime_max_repo_prs=100))
    small = RepositoryFacts(github_pr_total=100)
    assert router.route(CaptureRequest("acme/w", days=7), small, now=NOW).lane == "realtime"
    assert (
        "over the 7-day realtime limit"
        in router.route(CaptureRequest("acme/w", days=8), small, now=NOW).reason
    )
    assert (
        router.route(CaptureRequest("acme/w", pr_numbers=tuple(range(1, 12))), small, now=NOW).lane == "bulk"
    )
    assert router.route(CaptureRequest("acme/w", days=1), RepositoryFacts(101), now=NOW).lane == "bulk"


def test_manual_lane_override() -> None:
    router = HybridRouter()
    forced = router.route(CaptureRequest("acme/w", days=365, lane="realtime"), FRESH, now=NOW)
    assert forced.lane == "realtime" and "chosen with --lane" in forced.reason and "365 days" in forced.reason
    bulk = router.route(CaptureRequest("acme/w", days=1, lane="bulk"), FRESH, now=NOW)
    assert bulk.lane == "bulk" and "chosen with --lane" in bulk.reason
    with pytest.raises(InputError):
        CaptureRequest("acme/w", lane="fast")


def test_bulk_goes_to_actions_only_when_configured() -> None:
    request = CaptureRequest("acme/big", days=365)
    assert HybridRouter(ACTIONS).route(request, FRESH, now=NOW).processor == "github_actions"
    assert "acme/ghcapture-jobs" in HybridRouter(ACTIONS).route(request, FRESH, now=NOW).reason
    assert HybridRouter(ACTIONS).route(CaptureRequest("acme/w", days=1), FRESH, now=NOW).processor == "local"
    gaps = {
        RouterConfig(): "GHCAPTURE_ACTIONS_REPOSITORY is not set",
        RouterConfig(actions_repository="a/b"): "GHCAPTURE_ACTIONS_DATABASE_URL is not set",
        RouterConfig(actions_repository="a/b", actions_database_url="sqlite:///x.db"): "local SQLite file",
        RouterConfig(actions_repository="a/b", actions_database_url="postgresql://127.0.0.1/x"): "localhost",
        RouterConfig(
            actions_repository="a/b",
            actions_database_url="postgresql://localhost/x",
            github_api_url="https://api.github.com",
        ): "localhost",
        # Runners of a local simulator reach localhost, but never a SQLite file.
        RouterConfig(
            actions_repository="a/b",
            actions_database_url="sqlite:///x.db",
            github_api_url="http://127.0.0.1:8000",
        ): "local SQLite file",
    }
    for config, words in gaps.items():
        route = HybridRouter(config).route(request, FRESH, now=NOW)
        assert (route.lane, route.processor) == ("bulk", "local")
        assert "runs on the local engine's bulk queue because" in route.reason and words in route.reason


@pytest.mark.parametrize(
    "database_url, api_url",
    [
        ("postgresql://u:p@127.0.0.1:5432/x", "http://127.0.0.1:8123"),
        ("postgresql://localhost/x", "http://localhost:8000/api/v3"),
        ("postgresql://db.example.com/x", "http://127.0.0.1:8123"),
    ],
)
def test_a_local_simulator_reaches_a_database_on_localhost(database_url: str, api_url: str) -> None:
    config = RouterConfig(actions_repository="a/b", actions_database_url=database_url, github_api_url=api_url)
    route = HybridRouter(config).route(CaptureRequest("acme/big", days=365), FRESH, now=NOW)
    assert (route.lane, route.processor) == ("bulk", "github_actions"), route.reason


def test_job_settings_tell_the_router_where_github_is() -> None:
    env = {
        "GHCAPTURE_ACTIONS_REPOSITORY": "a/b",
        "GHCAPTURE_ACTIONS_DATABASE_URL": "postgresql://localhost/x",
    }
    local = load_job_settings(Settings(github_api_url="http://127.0.0.1:8123"), env)
    remote = load_job_settings(Settings(), env)
    assert local.router.bulk_lane_gap() is None
    assert "localhost" in (remote.router.bulk_lane_gap() or "")


def test_reason_never_holds_the_database_password() -> None:
    route = HybridRouter(ACTIONS).route(CaptureRequest("acme/big", days=365), FRESH, now=NOW)
    assert "u:p" not in route.reason and "db.example.com" not in route.reason

"""The shipped Grafana dashboard is valid JSON whose every query names only metrics /metrics exports."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ghcapture.monitor.exposition import metrics_response
from ghcapture.store.database import open_database
from monitor_support import NOW, add_job, add_sample, add_worker, known_store

DASHBOARD = Path(__file__).resolve().parents[2] / "contrib" / "grafana" / "ghcapture.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_names(tmp_path: Path) -> set[str]:
    engine = open_database(f"sqlite:///{tmp_path}/g.db")
    known_store(engine)
    add_job(engine, status="completed", started_at=NOW - timedelta(minutes=5), completed_at=NOW)
    add_sample(engine, "token-a", "core", remaining=10, at=NOW)
    add_worker(engine, "w", beat=NOW)
    body, _ = metrics_response(engine, clock=lambda: NOW)
    names = set()
    for family in text_string_to_metric_families(body.decode()):
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def test_every_panel_queries_only_exported_metrics(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names(tmp_path)

    used = set()
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["type"] and set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
            used.update(re.findall(r"\bghcapture_[a-z0-9_]+", target["expr"]))
    assert used - exported == set()
    # The dashboard covers the budgets, queues, durations, spend and completeness, not a corner of them.
    for family in (
        "ghcapture_rate_limit_remaining",
        "ghcapture_queue_waiting_jobs",
        "ghcapture_job_duration_seconds_bucket",
        "ghcapture_graphql_points_total",
        "ghcapture_repository_github_pull_requests",
    ):
        assert family in used
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])

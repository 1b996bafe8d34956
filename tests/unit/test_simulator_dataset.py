"""Loading recorded GitHub payloads: renamed repositories, missing node ids, deleted forks, bad files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures_simulator import REAL_PAYLOADS
from ghcapture.errors import InputError
from ghcapture.simulator.dataset import dump_repository, load_dataset, read_dataset
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import legacy_node_id
from ghcapture.simulator.server import SimulatorServer
from ghcapture.simulator.world import World


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return read_dataset(REAL_PAYLOADS)


@pytest.fixture
def world(recorded: dict[str, Any]) -> World:
    world = World()
    load_dataset(json.loads(json.dumps(recorded)), world)
    return world


def recorded_prs(recorded: dict[str, Any]) -> list[dict[str, Any]]:
    return [pr for repo in recorded["repositories"] for pr in repo["pull_requests"]]


def test_all_51_recorded_pull_requests_load(recorded: dict[str, Any], world: World) -> None:
    records = recorded_prs(recorded)
    held = {pr.id: pr for repo in world.unique_repositories for pr in repo.pull_requests}

    assert len(records) == 51
    assert {r["id"] for r in records} == set(held)
    # One PR was recorded twice, under the repository's old and new names: it is held once.
    assert len(held) == 50
    for record in records:
        assert held[record["id"]].number == record["number"]
        assert held[record["id"]].title == record["title"]


def test_a_renamed_repository_is_one_repository_under_both_names(world: World) -> None:
    old = world.repository("jacquev6", "PyGithub")
    new = world.repository("PyGithub", "PyGithub")

    assert old is not None and old is new
    assert new.id == 3544490
    assert new.full_name == "PyGithub/PyGithub"
    assert len(world.unique_repositories) == 11
    numbers = [pr.number for pr in new.pull_requests]
    assert numbers == sorted(set(numbers)) and 31 in numbers


def test_pull_requests_without_node_id_get_githubs_legacy_ids(recorded: dict[str, Any], world: World) -> None:
    missing = [r for r in recorded_prs(recorded) if "node_id" not in r]
    held = {pr.id: pr for repo in world.unique_repositories for pr in repo.pull_requests}

    assert len(missing) == 40
    for record in missing:
        node_id = held[record["id"]].node_id
        if "node_id" in (held[record["id"]].raw or {}):
            continue  # the same PR was recorded again later, with its node id
        assert node_id == legacy_node_id("PullRequest", record["id"])
        assert world.node(node_id) is held[record["id"]]
    node_ids = [pr.node_id for pr in held.values()]
    assert all(node_ids) and len(set(node_ids)) == len(node_ids)


def test_derived_ids_have_githubs_legacy_format(recorded: dict[str, Any]) -> None:
    # Records that carry a legacy node id show GitHub's format; derived ids must be indistinguishable.
    legacy = [r for r in recorded_prs(recorded) if r.get("node_id", "").startswith("MDExOlB1bGxSZXF1ZXN0")]
    users = [r["user"] for r in recorded_prs(recorded) if r["user"].get("node_id", "").startswith("MDQ6")]

    assert legacy and users
    assert all(legacy_node_id("PullRequest", r["id"]) == r["node_id"] for r in legacy)
    assert all(legacy_node_id("User", u["id"]) == u["node_id"] for u in users)
    assert legacy_node_id("User", 10137) == "MDQ6VXNlcjEwMTM3"


def client_for(make_simulator: Callable[..., SimulatorServer], world: World) -> httpx.Client:
    server = make_simulator(world=world)
    return httpx.Client(base_url=server.url)


def test_deleted_forks_have_a_null_head_repo_over_rest(
    recorded: dict[str, Any], world: World, make_simulator: Callable[..., SimulatorServer]
) -> None:
    deleted = [
        (r["base"]["repo"]["full_name"], r["number"])
        for r in recorded_prs(recorded)
        if r["head"].get("repo", "absent") is None
    ]
    client = client_for(make_simulator, world)

    assert len(deleted) == 2
    for full_name, number in deleted:
        single = client.get(f"/repos/{full_name}/pulls/{number}").json()
        assert single["head"]["repo"] is None
        assert single["head"]["user"] is None
        listed = client.get(f"/repos/{full_name}/pulls", params={"state": "all", "per_page": 100}).json()
        assert [p["head"]["repo"] for p in listed if p["number"] == number] == [None]


def test_recorded_fields_are_served_as_recorded(
    recorded: dict[str, Any], world: World, make_simulator: Callable[..., SimulatorServer]
) -> None:
    client = client_for(make_simulator, world)
    record = next(r for r in recorded_prs(recorded) if r["user"]["login"] == "dependabot[bot]")

    served = client.get(f"/repos/PyGithub/PyGithub/pulls/{record['number']}")

    body = served.json()
    assert served.status_code == 200
    assert body["user"]["type"] == "Bot" and body["user"]["login"] == "dependabot[bot]"
    assert body["body"] == record["body"] and body["created_at"] == record["created_at"]
    assert body["url"].startswith(str(client.base_url))  # recorded api.github.com links lead back here


def test_dump_is_the_dataset_format_and_loads_back_the_same() -> None:
    repo = generate_repository("acme", "widgets", 25, seed=5)
    dumped = dump_repository(repo, "https://api.github.com")
    again = World()

    (loaded,) = load_dataset({"repositories": [dumped]}, again)

    assert [pr.id for pr in loaded.pull_requests] == [pr.id for pr in repo.pull_requests]
    for ours, theirs in zip(repo.pull_requests, loaded.pull_requests, strict=True):
        for kind in ("reviews", "review_comments", "issue_comments", "commits"):
            assert [x.node_id for x in getattr(ours, kind)] == [x.node_id for x in getattr(theirs, kind)]
        assert [f.filename for f in ours.files] == [f.filename for f in theirs.files]
    assert dump_repository(loaded, "https://api.github.com") == dumped


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"repos": []}', "'repositories' list"), (None, "dataset")],
)
def test_a_bad_dataset_is_one_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "data.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(InputError, match=message):
        read_dataset(path)


def test_a_malformed_entry_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="acme/broken"):
        load_dataset(
            {"repositories": [{"owner": "acme", "name": "broken", "pull_requests": [{"number": 1}]}]}, World()
        )

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
from ghcapture.simulator.model import legacy_node_id, visible_reviews
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
        # The dump is what a capture sees: nobody's pending review.
        assert [r.node_id for r in visible_reviews(ours, None)] == [r.node_id for r in theirs.reviews]
        for kind in ("review_comments", "issue_comments", "commits"):
            assert [x.node_id for x in getattr(ours, kind)] == [x.node_id for x in getattr(theirs, kind)]
        assert [f.filename for f in ours.files] == [f.filename for f in theirs.files]
    assert dump_repository(loaded, "https://api.github.com") == dumped


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"repos": []}', "'repositories' list"), (None, "dataset")],
    ids=["not-json", "no-repositories", "no-file"],
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


def _pr(**fields: Any) -> dict[str, Any]:
    return {"id": 1, "number": 1, "created_at": "2024-01-01T00:00:00Z", **fields}


def _repo(*prs: dict[str, Any], **fields: Any) -> bytes:
    return json.dumps(
        {"repositories": [{"owner": "acme", "name": "widgets", "pull_requests": list(prs), **fields}]}
    ).encode()


BAD_DATASETS: list[tuple[str, bytes, str]] = [
    ("not-utf8", b'{"repositories": [{"owner": "caf\xe9"}]}', "not UTF-8 (byte 0xe9 at offset 32)"),
    (
        "deeply-nested",
        b"[" * 100_000 + b"]" * 100_000,
        "[0][0][0][0][0][0][0][0]...: nested deeper than 64 levels",
    ),
    (
        "nested-under-a-field",
        b'{"repositories": [{"owner": "a", "name": "b", "pull_requests": [{"body": '
        + b"[" * 200
        + b"]" * 200
        + b"}]}]}",
        "repositories[0].pull_requests[0].body[0][0][0]...: nested deeper than 64 levels",
    ),
    ("top-level-list", b"[]", "expected an object with a 'repositories' list, got a list"),
    ("repositories-not-a-list", b'{"repositories": {}}', "repositories: expected a list, got an object"),
    (
        "pull-requests-not-a-list",
        _repo(pull_requests={"1": {}}),
        "repositories[0].pull_requests: expected a list, got an object",
    ),
    (
        "integer-owner",
        json.dumps({"repositories": [{"owner": 5, "name": "widgets"}]}).encode(),
        "repositories[0].owner: expected a string, got 5",
    ),
    (
        "owner-with-a-slash",
        json.dumps({"repositories": [{"owner": "a/b", "name": "widgets"}]}).encode(),
        "repositories[0].owner: expected a name without '/' or spaces, got \"a/b\"",
    ),
    (
        "number-in-words",
        _repo(_pr(), _pr(number=2), _pr(number=3), _pr(number="one")),
        'repositories[0].pull_requests[3].number: expected a positive integer, got "one"',
    ),
    (
        "nan",
        b'{"repositories": [{"owner": "a", "name": "b", "pull_requests": [{"id": NaN}]}]}',
        "repositories[0].pull_requests[0].id: expected a finite number, got NaN",
    ),
    (
        "infinity",
        b'{"repositories": [{"owner": "a", "name": "b", "pull_requests": [{"id": 1, "additions": 1e999}]}]}',
        "repositories[0].pull_requests[0].additions: expected a finite number, got Infinity",
    ),
    (
        "id-beyond-64-bits",
        _repo(_pr(id=10**40)),
        "repositories[0].pull_requests[0].id: expected a number within 64 bits, got a 41-digit number",
    ),
    (
        "number-beyond-32-bits",
        _repo(_pr(number=2**31)),
        "repositories[0].pull_requests[0].number: expected a positive integer within 32 bits, got 2147483648",
    ),
    ("zero-id", _repo(_pr(id=0)), "repositories[0].pull_requests[0].id: expected a positive integer, got 0"),
    (
        "boolean-id",
        _repo(_pr(id=True)),
        "repositories[0].pull_requests[0].id: expected a positive integer, got true",
    ),
    ("missing-id", _repo({"number": 1}), "repositories[0].pull_requests[0].id: missing"),
    (
        "title-not-a-string",
        _repo(_pr(title=7)),
        "repositories[0].pull_requests[0].title: expected a string, got 7",
    ),
    (
        "bad-time",
        _repo(_pr(created_at="yesterday")),
        'repositories[0].pull_requests[0].created_at: expected an ISO 8601 time, got "yesterday"',
    ),
    (
        "reviews-null",
        _repo(_pr(reviews=None)),
        "repositories[0].pull_requests[0].reviews: expected a list, got null",
    ),
    (
        "review-state",
        _repo(_pr(reviews=[{"id": 5, "state": "LGTM"}])),
        "repositories[0].pull_requests[0].reviews[0].state: expected one of APPROVED, CHANGES_REQUESTED,",
    ),
    (
        "author-id-a-string",
        _repo(_pr(user={"id": "12", "login": "octocat"})),
        'repositories[0].pull_requests[0].user.id: expected a positive integer, got "12"',
    ),
    (
        "file-without-name",
        _repo(_pr(files=[{"status": "added"}])),
        "repositories[0].pull_requests[0].files[0].filename: missing",
    ),
    (
        "unpaired-surrogate",
        b'{"repositories": [{"owner": "a", "name": "b", "pull_requests": [{"title": "\\ud800"}]}]}',
        "repositories[0].pull_requests[0].title: expected Unicode text, got an unpaired surrogate",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [c[1:] for c in BAD_DATASETS], ids=[c[0] for c in BAD_DATASETS]
)
def test_a_bad_dataset_is_one_line_naming_the_file_and_the_place(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)

    with pytest.raises(InputError) as caught:
        read_dataset(path)

    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"dataset {path}: {message}"), text


def test_the_real_payloads_and_a_generated_dump_pass_validation(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    dumped = dump_repository(generate_repository("acme", "widgets", 40, seed=2), "https://api.github.com")
    path.write_text(json.dumps({"repositories": [dumped]}))

    assert read_dataset(path)["repositories"][0]["pull_requests"] == dumped["pull_requests"]
    assert len(read_dataset(REAL_PAYLOADS)["repositories"]) == 12


def test_rest_counts_under_the_list_names_are_taken_as_no_list(tmp_path: Path) -> None:
    # A REST pull object says `"commits": 3, "review_comments": 2`: counts, not the lists.
    path = tmp_path / "rest.json"
    path.write_bytes(_repo(_pr(commits=3, review_comments=2)))

    (repo,) = load_dataset(read_dataset(path), World())

    assert repo.pull_requests[0].commits_count == 3 and repo.pull_requests[0].commits == []


def test_simulate_prints_the_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "x.json"
    path.write_bytes(_repo(_pr(), _pr(number=2), _pr(number=3), _pr(number="one")))

    result = subprocess.run(
        [sys.executable, "-m", "ghcapture", "simulate", "--dataset", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"ghcapture: error: dataset {path}: repositories[0].pull_requests[3].number: "
        'expected a positive integer, got "one"'
    ]

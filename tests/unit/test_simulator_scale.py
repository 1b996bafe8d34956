"""The simulator at scale: the ground truth is streamed a pull request at a time, and listings are ordered
once per change of the repository, so that a page is a slice."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from ghcapture.simulator import dataset
from ghcapture.simulator.dataset import dump_repository, stream_truth
from ghcapture.simulator.generator import generate_repository
from ghcapture.simulator.model import PullRequest, RepeatedText, held_text
from ghcapture.simulator.server import SimulatorServer

API = "http://127.0.0.1:1"


def test_streamed_truth_is_the_dumped_repository_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = generate_repository("acme", "widgets", 25, seed=3)
    monkeypatch.setattr(dataset, "TRUTH_CHUNK", 2_000)
    pieces = list(stream_truth(repo, API))
    assert len(pieces) > 5  # a piece per few pull requests, not one body
    expected = json.dumps({"repositories": [dump_repository(repo, API)]}, ensure_ascii=False)
    assert "".join(pieces) == expected


def test_streamed_truth_of_an_empty_repository_is_valid_json() -> None:
    repo = generate_repository("acme", "empty", 0, seed=3)
    assert json.loads("".join(stream_truth(repo, API))) == {"repositories": [dump_repository(repo, API)]}


def test_truth_endpoint_streams_what_the_simulator_holds(
    make_simulator: Callable[..., SimulatorServer],
) -> None:
    server = make_simulator({"acme/widgets": 30})
    repo = server.simulator.world.repositories["acme/widgets"]
    answer = httpx.get(server.url + "/_simulator/truth/acme/widgets", timeout=60)
    assert answer.status_code == 200
    assert answer.json() == {"repositories": [dump_repository(repo, server.url)]}
    assert httpx.get(server.url + "/_simulator/truth/acme/nothing", timeout=60).status_code == 404


def by_updated(prs: list[PullRequest]) -> list[int]:
    return [p.number for p in sorted(prs, key=lambda p: (p.updated_at, p.number))]


def test_an_order_is_kept_until_the_repository_changes() -> None:
    repo = generate_repository("acme", "widgets", 40, seed=5)
    first = repo.ordered("updated")
    assert [p.number for p in first] == by_updated(repo.pull_requests)
    assert repo.ordered("updated") is first  # served again without sorting
    newest = max(p.updated_at for p in repo.pull_requests)
    oldest = first[0]
    oldest.updated_at = newest.replace(year=newest.year + 1)
    repo.version += 1
    again = repo.ordered("updated")
    assert again is not first and again[-1] is oldest
    assert [p.number for p in again] == by_updated(repo.pull_requests)
    assert repo.ordered("updated", descending=True) == again[::-1]
    open_only = repo.ordered("created", where=("open", lambda p: p.state == "open"))
    assert open_only == [p for p in repo.ordered("created") if p.state == "open"]


def test_rest_pages_by_update_time_follow_an_evolve(make_simulator: Callable[..., SimulatorServer]) -> None:
    server = make_simulator({"acme/widgets": 45})
    repo = server.simulator.world.repositories["acme/widgets"]
    headers = {"Authorization": "Bearer t"}

    def listed() -> list[int]:
        numbers: list[int] = []
        for page in (1, 2, 3):
            answer = httpx.get(
                server.url + "/repos/acme/widgets/pulls",
                params={"state": "all", "sort": "updated", "direction": "desc", "per_page": 20, "page": page},
                headers=headers,
                timeout=60,
            )
            numbers += [pr["number"] for pr in answer.json()]
        return numbers

    before = listed()
    assert before == by_updated(repo.pull_requests)[::-1]
    evolved = httpx.post(server.url + "/_simulator/evolve/acme/widgets", json={"changed": 10}, timeout=60)
    assert evolved.status_code == 200
    after = listed()
    assert after != before  # the changed pull requests moved to the front
    assert after == by_updated(repo.pull_requests)[::-1]


def test_a_long_body_is_stored_as_its_paragraph_and_read_as_the_text() -> None:
    repo = generate_repository("acme", "widgets", 400, seed=1)
    long = [p for p in repo.pull_requests if p.body is not None and len(p.body) >= 20_000]
    assert long, "the generator writes a long body now and then"
    pr = long[0]
    stored = held_text(pr, "body")
    assert isinstance(stored, RepeatedText)
    assert len(stored.paragraph) < 1_000 and type(pr.body) is str
    assert pr.body == (stored.paragraph * stored.repeats)[: stored.length]
    pr.body += " (edited)"  # an edit stores the whole new text
    assert pr.body.endswith(" (edited)") and len(pr.body) == stored.length + len(" (edited)")
    served = json.loads(json.dumps(dump_repository(repo, API)))["pull_requests"]
    assert [p["body"] for p in served if p["number"] == pr.number] == [pr.body]


def test_rounded_times_of_a_pull_request_are_whole_seconds() -> None:
    repo = generate_repository("acme", "widgets", 60, seed=2)
    times = [c.committed_at for p in repo.pull_requests for c in p.commits]
    times += [p.updated_at for p in repo.pull_requests]
    assert times and all(t.microsecond == 0 for t in times)

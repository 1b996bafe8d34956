"""The simulator and the capture at scale: for each size, a simulator on the fast profile with one generated
repository of that many pull requests runs in its own process; printed are the time it took to generate and
serve, its resident memory (from /proc) once ready, the time of a few pages served (REST and GraphQL, by
update time), and, up to --capture-up-to, the growth of its peak memory while the ground truth is streamed
and a full capture into SQLite: wall time, budget units per PR and the simulator's memory after it.

    python bench/scale.py [--sizes 10000,100000] [--million] [--capture-up-to 100000] [--seed 1]

--million adds a 1,000,000-PR repository (generation, memory and a few pages; no truth, no capture).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ghcapture.simulator.server import free_port

PAGE_QUERY = """query($cursor: String) { repository(owner: "acme", name: "big") {
  pullRequests(first: 100, after: $cursor, orderBy: {field: UPDATED_AT, direction: ASC}) {
    pageInfo { endCursor hasNextPage } nodes { number updatedAt } } } }"""


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the simulator exited early ({process.returncode})")
        try:
            httpx.get(url + "/_simulator/stats", timeout=5).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit("the simulator did not start")


def stream_truth(url: str, pid: int) -> tuple[int, float, int]:
    """Reads the ground truth as a stream: bytes, seconds and the growth of the simulator's peak (KB)."""
    before = memory_kb(pid)["VmHWM"]
    started, size = time.monotonic(), 0
    with httpx.stream("GET", url + "/_simulator/truth/acme/big", timeout=3600) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_bytes():
            size += len(chunk)
    return size, time.monotonic() - started, memory_kb(pid)["VmHWM"] - before


def pages(url: str, headers: dict[str, str], count: int = 5) -> tuple[float, float]:
    """Seconds per page: REST pulls by update time, GraphQL pullRequests by update time."""
    started = time.monotonic()
    for page in range(1, count + 1):
        httpx.get(
            url + "/repos/acme/big/pulls",
            params={"state": "all", "sort": "updated", "direction": "asc", "per_page": 100, "page": page},
            headers=headers,
            timeout=600,
        ).raise_for_status()
    rest = (time.monotonic() - started) / count
    started, cursor = time.monotonic(), None
    for _ in range(count):
        answer = httpx.post(
            url + "/graphql",
            json={"query": PAGE_QUERY, "variables": {"cursor": cursor}},
            headers=headers,
            timeout=600,
        )
        answer.raise_for_status()
        cursor = answer.json()["data"]["repository"]["pullRequests"]["pageInfo"]["endCursor"]
    return rest, (time.monotonic() - started) / count


def capture(url: str, prs: int, workdir: Path) -> tuple[float, float]:
    """A full capture in its own process into a fresh SQLite file: wall time and units per PR."""
    env = {
        **os.environ,
        "GITHUB_TOKEN": "bench-token",
        "GITHUB_API_URL": url,
        "GITHUB_GRAPHQL_URL": url + "/graphql",
        "GHCAPTURE_DATABASE_URL": f"sqlite:///{workdir / f'scale-{prs}.db'}",
    }
    before = httpx.get(url + "/_simulator/stats").json()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ghcapture", "capture", "prs", "acme/big", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"capture failed: {done.stderr.strip().splitlines()[-1:]}")
    after = httpx.get(url + "/_simulator/stats").json()
    units = sum(after[k] - before[k] for k in ("graphql_points", "rest_requests_charged"))
    return elapsed, units / prs


def measure(prs: int, args: argparse.Namespace, workdir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ghcapture", "simulate", "--port", str(port), "--seed", str(args.seed)]
    command += ["--profile", "fast", "--repo", f"acme/big:{prs}"]
    started = time.monotonic()
    simulator = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, simulator, seconds=max(120.0, prs / 50))
        ready = time.monotonic() - started
        memory = memory_kb(simulator.pid)
        print(f"{prs:>9,} PRs: generated and serving in {ready:.0f} s")
        print(
            f"           resident {memory['VmRSS'] / 1024:,.0f} MB ({memory['VmRSS'] * 1024 / prs:,.0f} B/PR)"
        )
        headers = {"Authorization": "Bearer bench-token"}
        rest, graphql = pages(url, headers)
        print(f"           a page of 100 by update time: REST {rest:.3f} s, GraphQL {graphql:.3f} s")
        if prs <= args.capture_up_to:
            size, seconds, growth = stream_truth(url, simulator.pid)
            print(
                f"           ground truth streamed: {size / 1e6:,.0f} MB in {seconds:.0f} s, "
                f"simulator peak grew {growth / 1024:,.0f} MB"
            )
            elapsed, units = capture(url, prs, workdir)
            after = memory_kb(simulator.pid)
            print(
                f"           capture: {elapsed:.0f} s, {units:.4f} units/PR; simulator resident after "
                f"{after['VmRSS'] / 1024:,.0f} MB, peak {after['VmHWM'] / 1024:,.0f} MB"
            )
    finally:
        simulator.terminate()
        simulator.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of pull requests")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 PRs (no truth, no capture)")
    parser.add_argument(
        "--capture-up-to", type=int, default=100_000, help="stream the truth and capture only up to this size"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.million:
        sizes.append(1_000_000)
    with tempfile.TemporaryDirectory(prefix="ghcapture-scale-") as scratch:
        for prs in sizes:
            measure(prs, args, Path(scratch))


if __name__ == "__main__":
    main()

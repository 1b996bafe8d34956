"""Capture a 10,000-PR generated repository from a simulator running in its own process, and print:
completeness against the simulator's ground truth, budget units per PR (GraphQL points + REST requests, from
the simulator's own counters), wall time, the capture process's peak memory, and the cost of an incremental
re-run after 1% of the pull requests changed.

    python bench/capture.py [--prs 10000] [--database sqlite:///bench.db | postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ghcapture.capture.verify import compare_repository
from ghcapture.simulator.server import free_port
from ghcapture.store.database import open_database


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the simulator exited early")
        try:
            httpx.get(url + "/_simulator/stats", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the simulator did not start")


def capture(env: dict[str, str]) -> tuple[dict[str, object], float, int]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ghcapture", "capture", "prs", "acme/widgets", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"capture failed: {proc.stderr.strip().splitlines()[-1:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(proc.stdout), elapsed, peak_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default=None, help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ghcapture-bench-"))
    database = args.database or f"sqlite:///{workdir}/bench.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ghcapture",
            "simulate",
            "--port",
            str(port),
            "--seed",
            str(args.seed),
            "--repo",
            f"acme/widgets:{args.prs}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(url, simulator)
        env = {
            **os.environ,
            "GITHUB_TOKEN": "bench-token",
            "GITHUB_API_URL": url,
            "GITHUB_GRAPHQL_URL": url + "/graphql",
            "GHCAPTURE_DATABASE_URL": database,
        }
        first, elapsed, peak_kb = capture(env)
        stats = httpx.get(url + "/_simulator/stats").json()
        units = stats["graphql_points"] + stats["rest_requests_charged"]
        print(f"pull requests captured      {first['pull_requests']}")
        print(f"wall time, first capture    {elapsed:.1f} s (simulator in its own process)")
        print(f"peak memory of the capture  {peak_kb / 1024:.0f} MB")
        print(f"GraphQL points              {stats['graphql_points']}")
        print(f"REST requests               {stats['rest_requests_charged']}")
        print(
            f"budget units per PR         {units / args.prs:.4f}  (HTTP requests: {stats['requests_total']})"
        )
        changed = max(1, args.prs // 100)
        httpx.post(
            url + "/_simulator/evolve/acme/widgets", json={"changed": changed}, timeout=60
        ).raise_for_status()
        before = units
        second, elapsed2, _ = capture(env)
        stats = httpx.get(url + "/_simulator/stats").json()
        units2 = stats["graphql_points"] + stats["rest_requests_charged"] - before
        print(
            f"incremental re-run          {second['pull_requests']} PRs changed ({changed} touched), "
            f"{units2} units = {100 * units2 / units:.2f}% of the first run, {elapsed2:.1f} s"
        )
        truth = httpx.get(url + "/_simulator/truth/acme/widgets", timeout=600).json()["repositories"][0]
        check = compare_repository(open_database(database), truth)
        print(f"ground truth                {check.summary()}")
        print(f"duplicates                  {sum(check.unexpected.values())}")
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


if __name__ == "__main__":
    main()

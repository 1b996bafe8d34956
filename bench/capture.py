"""Capture a 10,000-PR generated repository from a simulator running in its own process, on the realistic
profile (GitHub's server time on a compressed clock) and on the fast one, and print side by side:
completeness against the simulator's ground truth, budget units per PR (GraphQL points + REST requests, from
the simulator's own counters), wall time here and the time the same capture would take against GitHub, the
capture process's peak memory, and the cost of an incremental re-run after 1% of the pull requests changed;
then the cost of a refresh where nothing changed, of a refresh after about 1% of the pull requests changed
by every kind of change (edits, deletions, dismissals, state changes, force-pushes, renamed and deleted
accounts), what `ghcapture verify` finds then, and the cost per PR of scoped captures (`--max-items 100`,
`--pr-numbers` of 50 PRs, `--days 7`, each into a fresh database) beside the full capture's.

    python bench/capture.py [--prs 10000] [--profile both|realistic|fast] [--time-scale 0.05]
                            [--database sqlite:///bench.db | postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from ghcapture.capture.verify import compare_repository
from ghcapture.simulator.evolve import COUNTED_KINDS
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


def _run_capture(env: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[str, str, int, float, int]:
    """In a small process of its own: runs the capture, returns its output, exit code, time and peak KB.

    A child's peak memory starts at its parent's at the fork, so the capture is started from this small
    process rather than from the benchmark, which holds the ground truth of earlier runs."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ghcapture", "capture", "prs", "acme/widgets", "--json", *extra],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc.stdout, proc.stderr, proc.returncode, elapsed, peak_kb


def capture(
    launcher: ProcessPoolExecutor, env: dict[str, str], *extra: str
) -> tuple[dict[str, object], float, int]:
    """Runs `ghcapture capture prs` as its own process: its summary, wall time and peak memory (KB)."""
    stdout, stderr, code, elapsed, peak_kb = launcher.submit(_run_capture, env, extra).result()
    if code != 0:
        raise SystemExit(f"capture failed: {stderr.strip().splitlines()[-1:]}")
    return json.loads(stdout), elapsed, peak_kb


def run_profile(args: argparse.Namespace, profile: str) -> dict[str, str]:
    """One full capture and one incremental re-run on a fresh simulator and database; its figures."""
    workdir = Path(tempfile.mkdtemp(prefix="ghcapture-bench-"))
    database = args.database or f"sqlite:///{workdir}/bench.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ghcapture", "simulate", "--port", str(port), "--seed", str(args.seed)]
    command += ["--repo", f"acme/widgets:{args.prs}", "--profile", profile]
    command += ["--time-scale", str(args.time_scale)]
    simulator = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scale = args.time_scale if profile == "realistic" else 1.0
    out: dict[str, str] = {}
    launcher = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        wait_for(url, simulator)
        env = {
            **os.environ,
            "GITHUB_TOKEN": "bench-token",
            "GITHUB_API_URL": url,
            "GITHUB_GRAPHQL_URL": url + "/graphql",
            "GHCAPTURE_DATABASE_URL": database,
        }
        first, elapsed, peak_kb = capture(launcher, env)
        stats = httpx.get(url + "/_simulator/stats").json()
        units = stats["graphql_points"] + stats["rest_requests_charged"]
        server_s = stats["server_seconds"]
        out["pull requests captured"] = str(first["pull_requests"])
        out["wall time here"] = f"{elapsed:.1f} s"
        if profile == "realistic":
            # Server time was slept at the time scale; against GitHub it lasts its full length.
            out["time against GitHub"] = f"{(elapsed - server_s * scale + server_s) / 60:.1f} min"
            out["GitHub server time"] = f"{server_s:.0f} s"
        else:
            out["time against GitHub"] = "-"
            out["GitHub server time"] = "0 s"
        out["peak memory of the capture"] = f"{peak_kb / 1024:.0f} MB"
        out["GraphQL points"] = str(stats["graphql_points"])
        out["REST requests charged"] = str(stats["rest_requests_charged"])
        out["HTTP requests"] = str(stats["requests_total"])
        out["timeouts (502/504)"] = str(stats["faults"].get("timeout", 0))
        out["budget units per PR"] = f"{units / args.prs:.4f}"
        changed = max(1, args.prs // 100)
        httpx.post(
            url + "/_simulator/evolve/acme/widgets", json={"changed": changed}, timeout=60
        ).raise_for_status()
        before = units
        second, elapsed2, _ = capture(launcher, env)
        stats = httpx.get(url + "/_simulator/stats").json()
        units2 = stats["graphql_points"] + stats["rest_requests_charged"] - before
        out["incremental re-run"] = (
            f"{second['pull_requests']} PRs, {units2} units ({100 * units2 / units:.2f}%), {elapsed2:.1f} s"
        )
        truth = httpx.get(url + "/_simulator/truth/acme/widgets", timeout=600).json()["repositories"][0]
        check = compare_repository(open_database(database), truth)
        out["ground truth"] = "equal" if check.equal else check.summary()
        out["duplicates"] = str(sum(check.unexpected.values()))
        out.update(changing_world(args, launcher, env, url, units))
        out.update(scoped(args, launcher, env, workdir, url, units))
    finally:
        launcher.shutdown()
        simulator.terminate()
        simulator.wait(timeout=30)
    return out


def spent(url: str, before: dict[str, int]) -> dict[str, int]:
    stats = httpx.get(url + "/_simulator/stats").json()
    return {
        "points": stats["graphql_points"] - before.get("points", 0),
        "rest": stats["rest_requests_charged"] - before.get("rest", 0),
        "not_modified": stats["not_modified"] - before.get("not_modified", 0),
    }


def changing_world(
    args: argparse.Namespace, launcher: ProcessPoolExecutor, env: dict[str, str], url: str, units: int
) -> dict[str, str]:
    """A refresh where nothing changed; every kind of change on about 1% of the PRs, a refresh, and what
    `ghcapture verify` finds then."""
    out: dict[str, str] = {}
    before = spent(url, {})
    capture(launcher, env)
    idle = spent(url, before)
    out["refresh, nothing changed"] = (
        f"{idle['points']} points + {idle['rest']} REST ({idle['not_modified']} answered 304, free)"
    )
    per_kind = max(1, round(args.prs / 100 / len(CHANGE_KINDS)))
    answer = httpx.post(
        url + "/_simulator/evolve/acme/widgets",
        json={**dict.fromkeys(CHANGE_KINDS, per_kind), "seed": args.seed},
        timeout=120,
    )
    answer.raise_for_status()
    made = sum(len(v) for k, v in answer.json().items() if k in CHANGE_KINDS and isinstance(v, list))
    before = spent(url, {})
    second, _elapsed, _ = capture(launcher, env)
    changed = spent(url, before)
    out[f"refresh after {made} changes, {len(CHANGE_KINDS)} kinds"] = (
        f"{changed['points']} points + {changed['rest']} REST = {changed['points'] + changed['rest']} units"
        f" ({100 * (changed['points'] + changed['rest']) / units:.1f}% of the full capture)"
    )
    truth = httpx.get(url + "/_simulator/truth/acme/widgets", timeout=600).json()["repositories"][0]
    check = compare_repository(open_database(env["GHCAPTURE_DATABASE_URL"]), truth)
    out["ground truth after changes"] = "equal" if check.equal else check.summary()[:60]
    verify = subprocess.run(
        [sys.executable, "-m", "ghcapture", "verify", "acme/widgets", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    found = json.loads(verify.stdout) if verify.stdout.strip() else {}
    out["ghcapture verify"] = (
        f"{len(found.get('differences', []))} differences, {len(found.get('truncated', []))} truncated, "
        f"{found.get('points_used', '?')} points"
        if found
        else f"failed: {verify.stderr.strip()[-80:]}"
    )
    return out


def scoped(
    args: argparse.Namespace,
    launcher: ProcessPoolExecutor,
    env: dict[str, str],
    workdir: Path,
    url: str,
    units: int,
) -> dict[str, str]:
    """Budget units per PR of scoped captures, each into a fresh database, beside the full capture's."""
    out = {"full capture, units per PR": f"{units / args.prs:.4f}"}
    step = max(1, args.prs // 50)
    numbers = ",".join(str(n) for n in range(1, args.prs + 1, step)[:50])
    for label, extra in (
        ("--max-items 100", ("--max-items", "100")),
        ("--pr-numbers (50 PRs)", ("--pr-numbers", numbers)),
        ("--days 7", ("--days", "7")),
    ):
        fresh = {**env, "GHCAPTURE_DATABASE_URL": f"sqlite:///{workdir}/{label.split()[0][2:]}.db"}
        before = spent(url, {})
        summary, _elapsed, _ = capture(launcher, fresh, *extra)
        cost = spent(url, before)
        prs = int(str(summary["pull_requests"])) or 1
        total = cost["points"] + cost["rest"]
        out[f"{label}, units per PR"] = f"{total / prs:.4f} ({prs} PRs, {total} units)"
    return out


# Every kind of change the simulator's evolve makes, but the repository's rename.
CHANGE_KINDS = COUNTED_KINDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default=None, help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument(
        "--profile", choices=["realistic", "fast", "both"], default="both", help="simulator profile(s) to run"
    )
    parser.add_argument(
        "--time-scale", type=float, default=0.05, help="realistic profile: real seconds per GitHub second"
    )
    args = parser.parse_args()
    profiles = ["realistic", "fast"] if args.profile == "both" else [args.profile]
    if args.database and len(profiles) > 1:
        raise SystemExit("--database needs a single --profile (each profile starts from an empty database)")
    results = {profile: run_profile(args, profile) for profile in profiles}
    clock = f"realistic (clock x{1 / args.time_scale:g})"
    names = [clock if p == "realistic" else p for p in profiles]
    width = max(len(v) for r in results.values() for v in r.values()) + 2
    print(f"{args.prs} PRs, seed {args.seed}".ljust(44) + "".join(n.ljust(width) for n in names))
    for key in results[profiles[0]]:
        print(key.ljust(44) + "".join(results[p][key].ljust(width) for p in profiles))


if __name__ == "__main__":
    main()

"""Start-up time of the ghcapture command: for each command, the time spent importing modules (the sum of
`python -X importtime`'s self times) and the wall time of the whole run, best of several runs.

`sync --detach` runs against a migrated SQLite file in a temporary directory: it only records a job.

Example: python bench/startup.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["--help"],
    ["--version"],
    ["sync", "--help"],
    ["sync", "acme/widgets", "--detach"],
    ["capture", "--help"],
]


def import_seconds(stderr: str) -> float:
    """The sum of the self times `-X importtime` printed (microseconds), in seconds."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            total += int(line.split("|")[0].split(":")[1])
    return total / 1e6


def run(args: list[str], env: dict[str, str], *, importtime: bool) -> tuple[float, str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "ghcapture", *args]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ghcapture {' '.join(args)} failed ({done.returncode}): {done.stderr[-500:]}")
    return wall, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command; the best is shown")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # no ghcapture.toml of the current directory is read
        env = dict(os.environ)
        env["GHCAPTURE_DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'ghcapture.db'}"
        run(["db", "upgrade"], env, importtime=False)
        print(f"{'command':<34} {'imports (s)':>12} {'wall (s)':>10}")
        for args in COMMANDS:
            imports = min(import_seconds(run(args, env, importtime=True)[1]) for _ in range(options.runs))
            wall = min(run(args, env, importtime=False)[0] for _ in range(options.runs))
            print(f"{'ghcapture ' + ' '.join(args):<34} {imports:>12.3f} {wall:>10.3f}")


if __name__ == "__main__":
    main()

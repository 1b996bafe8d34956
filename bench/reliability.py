"""The reliability matrix: captures against the realistic simulator (GitHub's server time on a compressed
clock) under every fault kind alone and under mixes of all kinds at 10% and 30%, over several seeds, and a
table of what came of each: completeness against the ground truth, duplicate rows, client retries, time
lost waiting (the client's own RateLimitMonitor), and the overhead in requests and budget units against a
clean run of the same repository, with the outcome.

    python bench/reliability.py [--prs 400] [--seeds 1,2,3] [--rates 0.1,0.3] [--count 4] [--time-scale 0.002]

The scenarios are the reliability tests' own (tests/reliability/scenarios.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reliability import scenarios  # noqa: E402
from reliability.scenarios import (  # noqa: E402
    PERMANENT_KINDS,
    SINGLE_KINDS,
    Outcome,
    Scenario,
    run_scenario,
)

HEADER = ("faults", "PRs", "seed", "complete", "dupes", "retries", "waited s", "+requests", "+units",
          "served", "outcome")


def run(scenario: Scenario) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        return run_scenario(scenario, f"sqlite:///{tmp}/reliability.db")


def row(outcome: Outcome, clean: Outcome) -> tuple[str, ...]:
    s = outcome.scenario
    served = sum(n for kind, n in outcome.faults.items() if kind != "timeout")
    if outcome.equal:
        complete = "equal"
    elif outcome.error:
        complete = f"partial ({outcome.stored_prs}/{s.prs} PRs kept)"
    else:
        complete = outcome.differences[:60]
    result = "completed" if outcome.error is None else "stopped: " + outcome.error.split(":")[0]
    if outcome.early_requests:
        result += f" ({outcome.early_requests} requests during a wait)"
    return (
        s.label,
        str(s.prs),
        str(s.seed),
        complete,
        str(outcome.duplicate_count),
        str(outcome.retries),
        f"{outcome.waited_seconds:.2f}",
        f"{outcome.requests - clean.requests:+d}",
        f"{outcome.units - clean.units:+d}",
        str(served),
        result,
    )


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)) + " |"
    print(line)
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--prs", type=int, default=400)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--rates", default="0.1,0.3")
    parser.add_argument("--count", type=int, default=4, help="faults queued per kind when alone")
    parser.add_argument("--time-scale", type=float, default=scenarios.TIME_SCALE)
    args = parser.parse_args()
    scenarios.TIME_SCALE = args.time_scale
    logging.disable(logging.WARNING)  # the capture's warnings about each fault; the table says it all
    seeds = [int(s) for s in args.seeds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    started = time.monotonic()
    clean: dict[int, Outcome] = {seed: run(Scenario(kinds=(), prs=args.prs, seed=seed)) for seed in seeds}
    rows = []
    for kind in (*SINGLE_KINDS, *PERMANENT_KINDS):
        outcome = run(Scenario(kinds=(kind,), count=args.count, prs=args.prs, seed=seeds[0]))
        rows.append(row(outcome, clean[seeds[0]]))
    mix = SINGLE_KINDS[:-1]  # every kind the random draw serves (the rename only on request)
    for rate in rates:
        for seed in seeds:
            rows.append(row(run(Scenario(kinds=mix, rate=rate, prs=args.prs, seed=seed)), clean[seed]))
    print(
        f"{args.prs} generated PRs, realistic profile at time scale {args.time_scale} (GitHub's hour in "
        f"{3600 * args.time_scale:.1f} s); clean run (seed {seeds[0]}): {clean[seeds[0]].requests} requests, "
        f"{clean[seeds[0]].units} units, {clean[seeds[0]].seconds:.1f} s"
    )
    print()
    print_table(rows)
    print()
    print(f"{len(rows) + len(clean)} captures in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

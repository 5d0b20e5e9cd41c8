"""Load spreading, measured: UrbanPulse advice against no advice and naive advice.

Runs the demo morning peak (``urbanpulse simulate spreading``) in one process and prints
the three policies side by side at each compliance rate; the no-advice run is the
baseline. Run by hand: ``python bench/spreading.py [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
import time

from rich.console import Console

from urbanpulse.advise.simulation import check_targets, simulate_spreading
from urbanpulse.cli.advise import build_rich_table
from urbanpulse.twin.scenario import build_demo_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--group-size", type=int, default=40)
    args = parser.parse_args()
    started = time.perf_counter()
    scenario = build_demo_scenario(seed=args.seed)
    table, _ = simulate_spreading(scenario, group_size=args.group_size, seed=args.seed)
    Console().print(build_rich_table(table, scenario))
    seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"targets": check_targets(table), "seconds": seconds}))


if __name__ == "__main__":
    main()

"""The `bench` target: run every benchmark in bench/, one after the other, and print their reports.

    .venv/bin/python bench/run_all.py            # the documented settings (fan-in alone: 36 min)
    .venv/bin/python bench/run_all.py --quick    # every benchmark, briefly (2 min 17 s here)
    .venv/bin/python bench/run_all.py --only fan_in cold_start

Each benchmark is a separate process that starts (and stops) its own Redis, simulator and
portals on 127.0.0.1; a benchmark that fails is reported and the others still run. The exit
status is 1 when any failed. CI does not run this.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (full arguments, --quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "fan_in": ([], ["--seconds", "10", "--pollers", "1", "10", "--repeat", "1"]),
    "throughput": ([], ["--seconds", "3", "--rounds", "1"]),
    "poll_cost": ([], ["--repeat", "1"]),
    "big_world": ([], ["--stacks", "2000", "--requests", "20", "--repeat", "1"]),
    "cold_start": ([], ["--repeat", "1"]),
    "sim_scale": ([], ["--stacks", "2000", "--repeat", "3"]),
    "first_row": ([], ["--runs", "3", "--stacks", "50"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, to check that all work")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    failed = []
    for name in args.only or list(BENCHMARKS):
        full, quick = BENCHMARKS[name]
        command = [sys.executable, str(HERE / f"{name}.py"), *(quick if args.quick else full)]
        print(f"\n## {name}: {' '.join(command[1:])}\n", flush=True)
        started = time.monotonic()
        code = subprocess.run(command, check=False).returncode
        print(f"\n({name}: exit {code}, {time.monotonic() - started:.0f} s)", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs the M/M/c validation model in mitid-sim (Rust, release) and in SimPy on the same
parameters and prints both wall times and the ratio.

    python3 benches/simpy/compare.py --horizon-hours 20000

Each engine times its own run (model only: no process start-up, no compilation); the Rust
example is built first with `cargo build --release -p mitid-sim --example mmc`. Both engines'
figures are printed too, so one can see they simulate the same queue (their random numbers
differ, so the figures agree within sampling noise, not exactly).
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def model_args(a):
    return [
        "--servers", str(a.servers),
        "--arrival-rate-per-hour", str(a.arrival_rate_per_hour),
        "--service-minutes", str(a.service_minutes),
        "--horizon-hours", str(a.horizon_hours),
        "--warmup-hours", str(a.warmup_hours),
        "--seed", str(a.seed),
    ]


def run_json(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv):
    p = argparse.ArgumentParser(description="mitid-sim vs SimPy on the M/M/c model")
    p.add_argument("--servers", type=int, default=5)
    p.add_argument("--arrival-rate-per-hour", type=float, default=40.0)
    p.add_argument("--service-minutes", type=float, default=6.0)
    p.add_argument("--horizon-hours", type=float, default=20000.0)
    p.add_argument("--warmup-hours", type=float, default=1000.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3, help="runs per engine; the fastest counts")
    a = p.parse_args(argv)

    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "mitid-sim", "--example", "mmc"],
                   cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    rust_bin = os.path.join(target, "release", "examples", "mmc")

    rust_runs = [run_json([rust_bin] + model_args(a), ROOT) for _ in range(a.repeat)]
    simpy_runs = [run_json([sys.executable, os.path.join(HERE, "mmc_simpy.py")] + model_args(a), ROOT)
                  for _ in range(a.repeat)]
    rust = min(rust_runs, key=lambda r: r["wall_seconds"])
    simpy = min(simpy_runs, key=lambda r: r["wall_seconds"])
    ratio = simpy["wall_seconds"] / rust["wall_seconds"]
    print(json.dumps({"parameters": vars(a), "mitid_sim": rust, "simpy": simpy,
                      "speedup_simpy_over_rust": ratio}, indent=2, sort_keys=True))
    print(f"mitid-sim {rust['wall_seconds']:.3f} s, SimPy {simpy['wall_seconds']:.3f} s, "
          f"ratio {ratio:.1f}x (target: at least 100x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

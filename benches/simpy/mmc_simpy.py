#!/usr/bin/env python3
"""The M/M/c validation model of mitid-sim (sim/src/queue_model.rs) written in SimPy 4.1.1.

Same model, same measurements: Poisson arrivals, exponential service, c servers, FCFS; customers
arriving in [warmup, horizon) are measured; arrivals stop at the horizon and the run continues
until every measured customer has been served. Prints one JSON line with the figures and the
wall time, like `cargo run --release -p mitid-sim --example mmc`.

    python3 benches/simpy/mmc_simpy.py --servers 5 --arrival-rate-per-hour 40 \
        --service-minutes 6 --horizon-hours 20000 --warmup-hours 1000 --seed 1
"""

import argparse
import json
import random
import sys
import time

import simpy


def run(servers, arrival_rate_per_hour, service_minutes, horizon_hours, warmup_hours, seed):
    # Work in minutes, like the summary.
    horizon = horizon_hours * 60.0
    warmup = warmup_hours * 60.0
    mean_gap = 60.0 / arrival_rate_per_hour
    arrivals_rng = random.Random(seed)
    service_rng = random.Random(seed + 1)

    env = simpy.Environment()
    counter = simpy.Resource(env, capacity=servers)
    stats = {"arrivals": 0, "served": 0, "waited": 0, "total_wait": 0.0, "busy_time": 0.0}

    def customer(env, measured):
        arrived = env.now
        if measured and len(counter.users) >= servers:
            stats["waited"] += 1
        with counter.request() as req:
            yield req
            if measured:
                stats["served"] += 1
                stats["total_wait"] += env.now - arrived
            service = service_rng.expovariate(1.0 / service_minutes)
            start = env.now
            yield env.timeout(service)
            # Busy time inside [warmup, horizon] for the utilisation figure.
            lo = max(start, warmup)
            hi = min(env.now, horizon)
            if hi > lo:
                stats["busy_time"] += hi - lo

    def source(env):
        while True:
            yield env.timeout(arrivals_rng.expovariate(1.0 / mean_gap))
            if env.now >= horizon:
                return
            measured = env.now >= warmup
            if measured:
                stats["arrivals"] += 1
            env.process(customer(env, measured))

    env.process(source(env))
    env.run()
    n = stats["arrivals"]
    return {
        "engine": "simpy",
        "model": f"M/M/{servers}",
        "arrivals": n,
        "served": stats["served"],
        "mean_wait_minutes": stats["total_wait"] / n if n else 0.0,
        "p_wait": stats["waited"] / n if n else 0.0,
        "utilization": stats["busy_time"] / (servers * (horizon - warmup)),
    }


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", type=int, default=5)
    p.add_argument("--arrival-rate-per-hour", type=float, default=40.0)
    p.add_argument("--service-minutes", type=float, default=6.0)
    p.add_argument("--horizon-hours", type=float, default=20000.0)
    p.add_argument("--warmup-hours", type=float, default=1000.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    if a.servers < 1 or a.arrival_rate_per_hour <= 0 or a.service_minutes <= 0:
        p.error("servers, arrival rate and service time must be positive")
    if a.arrival_rate_per_hour * a.service_minutes / 60.0 >= a.servers:
        p.error("offered load must be below the number of servers")
    if not 0 <= a.warmup_hours < a.horizon_hours:
        p.error("warmup must be in [0, horizon)")
    started = time.perf_counter()
    out = run(a.servers, a.arrival_rate_per_hour, a.service_minutes, a.horizon_hours,
              a.warmup_hours, a.seed)
    out["wall_seconds"] = time.perf_counter() - started
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])

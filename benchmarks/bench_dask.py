#!/usr/bin/env python3
"""The same graphs on the default ThreadExecutor and on a DaskExecutor (2-worker LocalCluster).

1. Containers: 64 independent ``python_add`` nodes, ``max_workers`` 8 on both sides (the
   cluster has 2 workers x 4 threads, each worker its own warm container on the same engine).
   Rounds alternate which side goes first; medians; the ratio dask / threads of wall time.
2. Dask's cost per in-process node: a fan of independent ``x + 1`` nodes, with ``max_workers``
   = the cluster's threads (8) and = 4 x that (32), and a chain (each node waits for the one
   before), on both sides; ``(dask - threads) / nodes`` in ms. Targets (issue 25): the fan at
   ``max_workers`` = the cluster's threads <= 1 ms per node (nodes waiting for a slot share a
   slot's task, a bundle), the chain <= 3 ms per step (nodes in a line run as one task, a
   chain: no round trip to the client between two steps).

A measurement, not a test: exit code 0 whether or not the target is met. Needs the Docker
Engine with ``containerdag/add_subtract:latest`` and the ``dask`` extra. Run:

    .venv/bin/python benchmarks/bench_dask.py [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time

from distributed import Client, LocalCluster

from containerdag_widgets import Graph, Registry, process
from containerdag_widgets.executors import DaskExecutor

TARGET_MS = 1.0  # per node of the fan at max_workers = the cluster's threads
CHAIN_TARGET_MS = 3.0  # per step of the chain


@process(outputs={"z": 1.0})
def inc(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}


def fan(process_name: str, n: int) -> Graph:
    inputs = {"python_add": lambda i: {"x": float(i), "y": 1.0}, "inc": lambda i: {"x": i}}
    return Graph.from_spec({f"n{i:03d}": {"process": process_name,
                                          "inputs": inputs[process_name](float(i))}
                            for i in range(n)})


def chain(n: int) -> Graph:
    spec = {"n000": {"process": "inc", "inputs": {"x": 0.0}}}
    for i in range(1, n):
        spec[f"n{i:03d}"] = {"process": "inc", "inputs": {"x": (f"n{i - 1:03d}", "z")}}
    return Graph.from_spec(spec)


def timed(graph: Graph, registry: Registry, **options) -> float:
    began = time.perf_counter()
    result = graph.run(registry, cache=False, **options)  # every node runs, none reused
    elapsed = time.perf_counter() - began
    if not result.ok:
        raise SystemExit(f"a run failed:\n{result.table()}")
    return elapsed


def compare(graph: Graph, registry: Registry, executor: DaskExecutor, rounds: int,
            max_workers: int) -> tuple[float, float]:
    """Median seconds on threads and on Dask, rounds alternating which goes first."""
    threads, dask = [], []
    timed(graph, registry, max_workers=max_workers)  # warm-up: containers, pools, imports
    timed(graph, registry, max_workers=max_workers, executor=executor)
    for r in range(rounds):
        sides = [(threads, {}), (dask, {"executor": executor})]
        for times, extra in (sides if r % 2 == 0 else sides[::-1]):
            times.append(timed(graph, registry, max_workers=max_workers, **extra))
    return statistics.median(threads), statistics.median(dask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--container-nodes", type=int, default=64)
    parser.add_argument("--python-nodes", type=int, default=400)
    parser.add_argument("--chain-nodes", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()

    with LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster, set_as_default=False) as client, \
            Registry.from_docker(images=["containerdag/add_subtract:latest"]) as registry, \
            DaskExecutor(client) as executor:
        registry.add(inc)
        slots = executor.slots
        c_threads, c_dask = compare(fan("python_add", args.container_nodes), registry,
                                    executor, args.rounds, 8)
        f_threads, f_dask = compare(fan("inc", args.python_nodes), registry, executor,
                                    args.rounds, slots)
        w_threads, w_dask = compare(fan("inc", args.python_nodes), registry, executor,
                                    args.rounds, 4 * slots)
        ch_threads, ch_dask = compare(chain(args.chain_nodes), registry, executor,
                                      args.rounds, slots)

    fan_ms = (f_dask - f_threads) / args.python_nodes * 1000
    wide_ms = (w_dask - w_threads) / args.python_nodes * 1000
    chain_ms = (ch_dask - ch_threads) / args.chain_nodes * 1000
    report = {
        "containers": {"nodes": args.container_nodes, "max_workers": 8,
                       "threads_s": c_threads, "dask_s": c_dask, "ratio": c_dask / c_threads,
                       "threads_nodes_per_s": args.container_nodes / c_threads,
                       "dask_nodes_per_s": args.container_nodes / c_dask},
        "python_fan": {"nodes": args.python_nodes, "max_workers": slots,
                       "threads_s": f_threads, "dask_s": f_dask, "overhead_ms": fan_ms},
        "python_fan_wide": {"nodes": args.python_nodes, "max_workers": 4 * slots,
                            "threads_s": w_threads, "dask_s": w_dask, "overhead_ms": wide_ms},
        "python_chain": {"nodes": args.chain_nodes, "threads_s": ch_threads,
                         "dask_s": ch_dask, "overhead_ms": chain_ms},
        "target_ms": TARGET_MS, "target_met": fan_ms <= TARGET_MS,
        "chain_target_ms": CHAIN_TARGET_MS, "chain_target_met": chain_ms <= CHAIN_TARGET_MS,
        "rounds": args.rounds,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    c = report["containers"]
    print(f"{args.container_nodes} container nodes (python_add), max_workers 8, "
          f"medians of {args.rounds} rounds:")
    print(f"  ThreadExecutor       {c_threads:7.3f} s  ({c['threads_nodes_per_s']:.1f} nodes/s)")
    print(f"  DaskExecutor (2x4)   {c_dask:7.3f} s  ({c['dask_nodes_per_s']:.1f} nodes/s)")
    print(f"  ratio dask / threads {c['ratio']:7.2f}")
    print("in-process nodes (x + 1), Dask's cost per node over the ThreadExecutor:")
    for mw, t_s, d_s, ms in ((slots, f_threads, f_dask, fan_ms),
                             (4 * slots, w_threads, w_dask, wide_ms)):
        target = (f"target <= {TARGET_MS:g} ms: {'MET' if ms <= TARGET_MS else 'MISSED'}"
                  if mw == slots else "no target")
        print(f"  fan of {args.python_nodes} (max_workers {mw}): {t_s:.3f} s vs {d_s:.3f} s "
              f"-> {ms:.2f} ms per node ({target})")
    met = "MET" if chain_ms <= CHAIN_TARGET_MS else "MISSED"
    print(f"  chain of {args.chain_nodes}: {ch_threads:.3f} s vs {ch_dask:.3f} s -> "
          f"{chain_ms:.2f} ms per step (target <= {CHAIN_TARGET_MS:g} ms: {met})")


if __name__ == "__main__":
    main()

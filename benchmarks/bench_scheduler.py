#!/usr/bin/env python3
"""The scheduler's own cost for in-process nodes, against dask's synchronous scheduler.

Both run the same 1,000-node chain and 1,000-node fan of a tiny ``@process`` function
(``x + 1``), in the same run, interleaved; medians of several rounds; dask's threaded
scheduler too. The toolkit is measured with its default executor (a quick in-process call runs
in the scheduler's thread, a slow one in a pool thread) and with ``ThreadExecutor(inline=True)``
(every in-process call in the scheduler's thread). Targets (issue 25): a chain at most 1.5x
dask's synchronous scheduler per node, a fan at most dask's threaded one. Also: validating
and ordering a 10,000-node graph. Runs use ``cache=False``: the cache has its own benchmark
(bench_cache.py). dask is needed only here (the ``dask`` extra), not by the
package.

Each figure is given twice: wall-clock time, and the CPU time of this process (all its
threads; for the validate, of the measuring thread). On a machine loaded by other work the
wall-clock figures mostly measure the wait for a core; the CPU figures are what a quiet
machine would show (the scheduler's work is single-threaded Python).

A measurement, not a test: exit code 0 whether or not a target is met. Run:

    .venv/bin/python benchmarks/bench_scheduler.py [--rounds 7] [--nodes 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from dask.local import get_sync
from dask.threaded import get as get_threaded

from containerdag_widgets import Graph, Registry, process
from containerdag_widgets.run.execution import ThreadExecutor


@process(outputs={"z": 1.0})
def inc(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}


def chain_spec(n: int) -> dict:
    spec = {"n0": {"process": "inc", "inputs": {"x": 0.0}}}
    for i in range(1, n):
        spec[f"n{i}"] = {"process": "inc", "inputs": {"x": (f"n{i - 1}", "z")}}
    return spec


def fan_spec(n: int) -> dict:
    return {f"n{i}": {"process": "inc", "inputs": {"x": float(i)}} for i in range(n)}


def dask_graph(spec: dict) -> dict:
    """The same graph for dask: one task per node calling the same function."""
    def call(x: float) -> dict:
        return inc.fn(x)

    def call_on(upstream: dict, port: str) -> dict:
        return inc.fn(upstream[port])

    dsk: dict = {}
    for name, node in spec.items():
        x = node["inputs"]["x"]
        dsk[name] = (call_on, x[0], x[1]) if isinstance(x, tuple) else (call, x)
    return dsk


def median_time(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median seconds of ``fn()``: wall clock, and the calling thread's CPU."""
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=1000)
    args = parser.parse_args()
    registry = Registry([inc])
    inline = ThreadExecutor(inline=True)
    n = args.nodes
    print(f"{n}-node graphs of a tiny @process, medians of {args.rounds} rounds (us per node)")
    for shape, spec in (("chain", chain_spec(n)), ("fan", fan_spec(n))):
        graph, dsk = Graph.from_spec(spec), dask_graph(spec)
        keys = list(spec)
        runs = {"sync": lambda d=dsk, k=keys: get_sync(d, k),
                "threaded": lambda d=dsk, k=keys: get_threaded(d, k, num_workers=4),
                "default": lambda g=graph: g.run(registry, max_workers=4, cache=False),
                "inline": lambda g=graph: g.run(registry, executor=inline, cache=False)}
        took: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        for r in range(args.rounds):  # interleaved, the order rotating: drift hits all alike
            order = list(runs)[r % len(runs):] + list(runs)[:r % len(runs)]
            for name in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                runs[name]()
                took[name].append((time.perf_counter() - start) / n * 1e6)
                cpu[name].append((time.process_time() - start_cpu) / n * 1e6)
        target = ("default / dask sync <= 1.5" if shape == "chain"
                  else "default / dask threaded <= 1.0")
        for clock, times in (("wall", took), ("cpu", cpu)):
            us = {k: statistics.median(v) for k, v in times.items()}
            ratio = us["default"] / (us["sync"] if shape == "chain" else us["threaded"])
            met = ratio <= (1.5 if shape == "chain" else 1.0)
            print(f"  {shape:5} {clock:4}  dask sync {us['sync']:6.1f}  dask threaded "
                  f"{us['threaded']:6.1f}  toolkit default {us['default']:6.1f}  inline=True "
                  f"{us['inline']:6.1f}   {target}: {ratio:4.2f} {'MET' if met else 'NOT MET'}")
    big = Graph.from_spec(fan_spec(10 * n))
    wall, cpu_s = median_time(lambda: big.validate(registry), args.rounds)
    print(f"{10 * n}-node validate + order: {wall * 1e3:.1f} ms wall, {cpu_s * 1e3:.1f} ms CPU "
          "(target <= 50 ms)")


if __name__ == "__main__":
    main()

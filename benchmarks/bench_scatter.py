#!/usr/bin/env python3
"""A scattered node against the same calls as separate nodes, in the same run (issue 23).

1. Overhead: one node scattered over 500 inputs of a container process (``python_add``,
   answered by its keep-loaded server, so the toolkit's own cost dominates) against 500
   separate nodes of the same process; ``cache=False``; rounds alternate; medians of the wall
   time per element. Target: scatter / separate nodes <= 1.2.
2. Cached re-run: the same, every element reused from the cache (what adding one sample to a
   folder costs the other 499).
3. The widget: building a ``GraphWidget`` of the scattered graph after its run (one box with
   500 elements' counts), against the 500-node graph's; and the scattered one's absolute time
   (target: under a second).

A measurement, not a test: exit code 0 whether or not a target is met, 1 only on an error.

    .venv/bin/python benchmarks/bench_scatter.py [--elements 500] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time

IMAGES = ["containerdag/add_subtract:latest"]


def graphs(n: int):
    from containerdag_widgets import Graph

    xs = [float(i) for i in range(n)]
    scattered = Graph.from_spec({"add": {"process": "python_add",
                                         "inputs": {"x": xs, "y": 1.0}, "scatter": ["x"]}})
    separate = Graph.from_spec({f"add {i}": {"process": "python_add",
                                             "inputs": {"x": x, "y": 1.0}}
                                for i, x in enumerate(xs)})
    return scattered, separate


def timed(graph, registry, **options) -> float:
    start = time.perf_counter()
    result = graph.run(registry, max_workers=8, **options)
    took = time.perf_counter() - start
    if not result.ok:
        raise AssertionError(result.table()[:2000])
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import os

    os.environ["CONTAINERDAG_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-scatter-")
    from containerdag_widgets import GraphWidget, Registry

    n = args.elements
    scattered, separate = graphs(n)
    figures: dict[str, dict[str, float]] = {"run": {}, "cached": {}, "widget": {}}
    with Registry.from_docker(images=IMAGES) as registry:
        timed(scattered, registry, cache=False)  # warm: the container and its server
        timed(separate, registry, cache=False)
        runs: dict[str, list[float]] = {"scatter": [], "nodes": []}
        for r in range(args.rounds):
            order = [("scatter", scattered), ("nodes", separate)]
            for name, graph in order if r % 2 == 0 else order[::-1]:
                runs[name].append(timed(graph, registry, cache=False) / n * 1000)
        figures["run"] = {k: statistics.median(v) for k, v in runs.items()}
        timed(scattered, registry)  # fill the cache
        timed(separate, registry)
        cached: dict[str, list[float]] = {"scatter": [], "nodes": []}
        for _ in range(args.rounds):
            cached["scatter"].append(timed(scattered, registry) / n * 1000)
            cached["nodes"].append(timed(separate, registry) / n * 1000)
        figures["cached"] = {k: statistics.median(v) for k, v in cached.items()}
        for name, graph in (("scatter", scattered), ("nodes", separate)):
            builds = []
            for _ in range(3):
                start = time.perf_counter()
                widget = GraphWidget(graph, registry)
                widget.run(timeout=600)
                builds.append(time.perf_counter() - start)
                widget.close()
            figures["widget"][name] = statistics.median(builds) * 1000
    ratio = figures["run"]["scatter"] / figures["run"]["nodes"]
    targets = [
        {"what": "per-element run time, scatter / separate nodes", "ratio": ratio,
         "target": "<= 1.2", "met": ratio <= 1.2},
        {"what": "widget of the scattered graph, built and run from the cache (ms)",
         "value": figures["widget"]["scatter"], "target": "< 1000",
         "met": figures["widget"]["scatter"] < 1000},
    ]
    if args.json:
        print(json.dumps({"figures": figures, "targets": targets}, indent=2))
        return 0
    print(f"bench_scatter: {platform.machine()}, Python {platform.python_version()}; "
          f"{n} elements, medians of {args.rounds} rounds, max_workers=8")
    print(f"  run, ms per element: scatter {figures['run']['scatter']:.3f}, "
          f"separate nodes {figures['run']['nodes']:.3f}")
    print(f"  cached re-run, ms per element: scatter {figures['cached']['scatter']:.3f}, "
          f"separate nodes {figures['cached']['nodes']:.3f}")
    print(f"  widget built and run from the cache, ms: scatter {figures['widget']['scatter']:.0f},"
          f" separate nodes {figures['widget']['nodes']:.0f}")
    for t in targets:
        shown = f"{t['ratio']:.3f}" if "ratio" in t else f"{t['value']:.0f}"
        print(f"  {t['what']}: {shown} (target {t['target']}): {'MET' if t['met'] else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

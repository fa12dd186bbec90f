#!/usr/bin/env python3
"""What the result cache costs and saves, measured against baselines in the same run.

1. A cached container node: a one-node python_add graph run from the cache, against the same
   graph run with ``cache=False`` (an exec in the warm container). Medians, interleaved.
2. A fully cached 1,000-node in-process graph against the same graph uncached: the added
   cost per node (target <= 100 us).
3. A 200-node container graph (leaves feeding sums): after one leaf literal changes, how many
   nodes ran (target: exactly 1, the leaf and nothing it did not change), counted by the
   engine's exec_start events.

A measurement, not a test: exit code 0 whether or not a target is met. Needs the Docker
Engine and the example images (``./scripts/setup.sh``). Run:

    .venv/bin/python benchmarks/bench_cache.py [--samples 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import docker

from containerdag_widgets import Graph, Registry, process

IMAGE = "containerdag/add_subtract:latest"


@process(outputs={"z": 1.0})
def inc(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def container_node(reg: Registry, samples: int) -> None:
    graph = Graph.from_spec({"a": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}}})
    graph.run(reg)  # warm container, stored result
    cached, fresh = [], []
    for _ in range(samples):
        cached.append(timed(lambda: graph.run(reg)))
        fresh.append(timed(lambda: graph.run(reg, cache=False)))
    c, f = statistics.median(cached), statistics.median(fresh)
    print(f"1. one container node: cached {c * 1e3:.2f} ms, exec {f * 1e3:.2f} ms "
          f"(ratio {c / f:.3f}; target <= 1 ms)")


def in_process(samples: int) -> None:
    reg = Registry([inc])
    spec = {"n0": {"process": "inc", "inputs": {"x": 0.0}}}
    spec.update({f"n{i}": {"process": "inc", "inputs": {"x": (f"n{i - 1}", "z")}}
                 for i in range(1, 1000)})
    graph = Graph.from_spec(spec)
    graph.run(reg)
    cached, fresh = [], []
    for _ in range(max(3, samples // 5)):
        cached.append(timed(lambda: graph.run(reg)))
        fresh.append(timed(lambda: graph.run(reg, cache=False)))
    c, f = statistics.median(cached), statistics.median(fresh)
    print(f"2. 1,000 in-process nodes: cached {c * 1e3:.1f} ms, uncached {f * 1e3:.1f} ms; "
          f"the cache adds {(c - f) / 1000 * 1e6:.1f} us per node (target <= 100 us)")


def one_leaf(reg: Registry, client: docker.DockerClient) -> None:
    spec = {f"leaf {i}": {"process": "python_add", "inputs": {"x": float(i), "y": 1.0}}
            for i in range(100)}
    spec.update({f"sum {i}": {"process": "python_add",
                              "inputs": {"x": (f"leaf {i}", "z"), "y": (f"leaf {i + 1}", "z")}}
                 for i in range(99)})
    spec["total"] = {"process": "python_add", "inputs": {"x": ("sum 0", "z"), "y": 0.0}}
    graph = Graph.from_spec(spec)
    graph.run(reg, max_workers=8)
    # A leaf literal changed to a value no node had: it runs, and what it feeds runs only if
    # its output changed. leaf 99 feeds sum 98 (which nothing reads further).
    graph.set_input("leaf 99", "y", 1000.5)
    since = time.time()
    result = graph.run(reg, max_workers=8)
    time.sleep(0.6)
    ours = {c["Id"] for c in client.api.containers(
        filters={"label": f"containerdag.session={reg.session}"})}
    execs = sum(1 for e in client.events(since=since, until=time.time(), decode=True,
                                         filters={"type": "container", "event": "exec_start"})
                if e.get("id") in ours)
    ran = [n for n, s in result.status.items() if s == "done"]
    print(f"3. {len(graph)}-node container graph, one leaf literal changed: {len(ran)} node(s) "
          f"ran ({', '.join(ran)}), {execs} exec(s) on the engine (target: the leaf, and only "
          "the nodes its new output reaches: here leaf 99 and sum 98)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    os.environ["CONTAINERDAG_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-cache-")
    client = docker.from_env()
    with Registry.from_docker(images=[IMAGE]) as reg:
        container_node(reg, args.samples)
        in_process(args.samples)
        one_leaf(reg, client)


if __name__ == "__main__":
    main()

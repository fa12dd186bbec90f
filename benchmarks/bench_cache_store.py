#!/usr/bin/env python3
"""What a cache lookup costs on a warm SQLite store, against a dict and a json.loads, same run.

The store is filled with ``--results`` results of a realistic size, then each variant is timed
in batches of ``--batch`` calls over the same random keys; the figure is the median per call
over ``--samples`` batches. Also timed: a miss, writing a result, recording nodes one by one
and in one batch, and computing a key (parts + sha256), which a cached node pays too.

It is a measurement, not a test: exit code 0 whether or not the target (lookup median <= 1 ms)
is met. Run:

    .venv/bin/python benchmarks/bench_cache_store.py [--results 10000] [--samples 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from containerdag_widgets.cache import NodeRecord, Store, node_key, process_parts

LOOKUP_TARGET_US = 1000.0


def per_call_us(fn: Callable[[int], object], keys: list, samples: int, batch: int) -> float:
    """Median over ``samples`` batches of the mean time of one ``fn(i)`` call, in microseconds."""
    times = []
    for s in range(samples):
        start = (s * batch) % len(keys)
        indices = [(start + i) % len(keys) for i in range(batch)]
        began = time.perf_counter_ns()
        for i in indices:
            fn(i)
        times.append((time.perf_counter_ns() - began) / batch / 1000)
    return statistics.median(times)


def outputs_for(i: int) -> dict:
    """A realistic node output: a few floats, a short list, a string."""
    return {"z": i * 1.37, "w": [i, i + 0.5, i * 2.25], "label": f"result {i}", "ok": True}


def scale(x: float = 1.0) -> dict:
    """A small Python process body whose code is hashed for its key."""
    factor = 2.5
    return {"z": [x * factor for _ in range(3)][0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "containerdag.sqlite"
        store = Store.open(path)
        keys = [f"{random.getrandbits(256):064x}" for _ in range(args.results)]
        texts = {key: json.dumps(outputs_for(i), sort_keys=True, separators=(",", ":"))
                 for i, key in enumerate(keys)}
        plain = {key: json.loads(text) for key, text in texts.items()}
        run = store.begin_run({"bench": True})
        with store._write() as conn:  # fill fast: one transaction
            now = time.time()
            conn.executemany(
                "INSERT INTO results (key, outputs, run_id, node, created, last_used, size) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(k, t, run, "n", now, now, len(t)) for k, t in texts.items()])
        order = random.sample(keys, len(keys))
        misses = [f"{random.getrandbits(256):064x}" for _ in range(len(keys))]
        for key in order[:500]:  # warm the page cache and the statement cache
            store.lookup(key)

        proc = SimpleNamespace(
            name="python_add", image="containerdag/add_subtract:latest",
            image_id="sha256:" + "ab" * 32, command=["python3", "/app/add.py"],
            description="Addition. z = x + y.", inputs={"x": 1.0, "y": 1.0},
            outputs={"z": 1.0}, cacheable=True)
        python_proc = SimpleNamespace(name="scale", fn=scale, version=None, cacheable=True,
                                      inputs={"x": 1.0}, outputs={"z": 1.0})
        samples, batch = args.samples, args.batch
        figures = {
            "lookup_hit_us": per_call_us(lambda i: store.lookup(order[i]), order, samples, batch),
            "dict_get_us": per_call_us(lambda i: plain.get(order[i]), order, samples, batch),
            "json_loads_us": per_call_us(lambda i: json.loads(texts[order[i]]), order, samples,
                                         batch),
            "lookup_miss_us": per_call_us(lambda i: store.lookup(misses[i]), misses, samples,
                                          batch),
            "key_us": per_call_us(
                lambda i: node_key(process_parts(proc, {"x": i * 0.5, "y": 2.0})), order,
                samples, batch),
            "python_key_us": per_call_us(
                lambda i: node_key(process_parts(python_proc, {"x": i * 0.5})), order,
                samples, batch),
        }
        write_samples = max(10, samples // 10)
        figures["store_result_us"] = per_call_us(
            lambda i: store.store_result(f"new-{i}", outputs_for(i), run, "n"), order,
            write_samples, batch)
        figures["record_node_us"] = per_call_us(
            lambda i: store.record_node(run, NodeRecord(f"n{i}", "cached", key=order[i],
                                                        outputs=outputs_for(i))),
            order, write_samples, batch)
        records = [NodeRecord(f"b{i}", "cached", key=order[i], outputs=outputs_for(i))
                   for i in range(1000)]
        began = time.perf_counter()
        store.record_nodes(run, records)
        figures["record_nodes_batch_of_1000_per_node_us"] = (time.perf_counter() - began) * 1e3
        info = store.info()
        store.close()

    figures["lookup_vs_dict"] = figures["lookup_hit_us"] / figures["dict_get_us"]
    figures["lookup_vs_json_loads"] = figures["lookup_hit_us"] / figures["json_loads_us"]
    met = figures["lookup_hit_us"] <= LOOKUP_TARGET_US
    report = {
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "results": args.results, "samples": samples, "batch": batch,
        "database_bytes": info["bytes"], "figures": figures,
        "targets": {"lookup_median_le_1ms": met},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"warm store: {args.results} results, {info['bytes'] / 1e6:.1f} MB, "
          f"Python {report['python']}, SQLite {report['sqlite']}")
    print(f"median per call over {samples} batches of {batch}:")
    rows = [
        ("Store.lookup (hit)", "lookup_hit_us"), ("dict.get", "dict_get_us"),
        ("json.loads of the same outputs", "json_loads_us"),
        ("Store.lookup (miss)", "lookup_miss_us"),
        ("key of a container node (parts + sha256)", "key_us"),
        ("key of a Python node (code hash, parts, sha256)", "python_key_us"),
        ("Store.store_result", "store_result_us"), ("Store.record_node", "record_node_us"),
        ("Store.record_nodes, 1000 at once, per node",
         "record_nodes_batch_of_1000_per_node_us"),
    ]
    for label, name in rows:
        print(f"  {label:<50} {figures[name]:10.2f} us")
    print(f"  lookup / dict.get   = {figures['lookup_vs_dict']:8.1f}x")
    print(f"  lookup / json.loads = {figures['lookup_vs_json_loads']:8.1f}x")
    print(f"target: lookup median <= 1 ms: {'MET' if met else 'MISSED'} "
          f"({figures['lookup_hit_us']:.1f} us)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

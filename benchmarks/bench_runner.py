#!/usr/bin/env python3
"""The resident runner and keep-loaded servers against one exec per call, in the same run.

Three registries of the example images, each with its own warm containers:

- ``exec``: one Engine API exec per call (``CONTAINERDAG_RUNNER=0``: the toolkit before the
  runner, and its fallback);
- ``runner``: the resident runner spawns the process's one-shot command for each call (the
  image's keep-loaded server is not used: ``serve`` set to None);
- ``keep-loaded``: the default: the runner asks the image's keep-loaded server
  (``process.python_add.serve``; c_multiply has none).

1. Per-call latency: ``Process.run`` of c_multiply and python_add, warm containers, samples
   interleaved (the order rotates each sample, so drift hits every variant equally); medians.
2. Throughput: 64 independent python_add nodes in one ``Graph.run(max_workers=8,
   cache=False)``; rounds alternate the variants; calls/s = 64 / wall time; medians.

A measurement, not a test: exit code 0 whether or not a target is met, 1 only on an error.

    .venv/bin/python benchmarks/bench_runner.py [--samples 40] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

from containerdag_widgets import Graph, Registry

IMAGES = ["containerdag/add_subtract:latest", "containerdag/multiply_divide:latest"]
NODES = 64
WORKERS = 8
#: (what, variant, baseline, at most / at least)
TARGETS = [
    ("c_multiply latency", "runner", "exec", "<=", 0.10),
    ("python_add latency", "runner", "exec", "<=", 0.35),
    ("python_add latency", "keep-loaded", "exec", "<=", 0.03),
    ("python_add throughput", "keep-loaded", "exec", ">=", 4.0),
]
INPUTS = {"c_multiply": {"a": 89.987, "b": 10.0}, "python_add": {"x": 2.34, "y": 10.78}}
EXPECTED = {"c_multiply": {"z": 89.987 * 10.0}, "python_add": {"z": 2.34 + 10.78}}


def registries() -> dict[str, Registry]:
    made = {}
    for variant, runner in (("exec", "0"), ("runner", "1"), ("keep-loaded", "1")):
        os.environ["CONTAINERDAG_RUNNER"] = runner
        made[variant] = Registry.from_docker(images=IMAGES)
    del os.environ["CONTAINERDAG_RUNNER"]
    for name in ("python_add", "python_subtract"):
        made["runner"].get(name).serve = None  # the one-shot command, through the runner
    assert made["keep-loaded"].get("python_add").serve is not None, "image without serve label"
    return made


def latency(regs: dict[str, Registry], process: str, samples: int, warmup: int) -> dict:
    variants = list(regs) if process == "python_add" else ["exec", "runner"]
    procs = {v: regs[v].get(process) for v in variants}
    times: dict[str, list[float]] = {v: [] for v in variants}
    for i in range(warmup + samples):
        order = variants[i % len(variants):] + variants[:i % len(variants)]
        for v in order:
            start = time.perf_counter()
            out = procs[v].run(INPUTS[process])
            took = time.perf_counter() - start
            if out != EXPECTED[process]:
                raise AssertionError(f"{v} {process}: {out}")
            if i >= warmup:
                times[v].append(took)
    return {v: statistics.median(t) * 1000 for v, t in times.items()}


def throughput(regs: dict[str, Registry], rounds: int) -> dict:
    spec = {f"n{i}": {"process": "python_add", "inputs": {"x": float(i), "y": 1.0}}
            for i in range(NODES)}
    graph = Graph.from_spec(spec)
    rates: dict[str, list[float]] = {v: [] for v in regs}
    for v in regs:  # warm: containers, runners, servers
        graph.run(regs[v], max_workers=WORKERS, cache=False)
    variants = list(regs)
    for r in range(rounds):
        for v in variants[r % 3:] + variants[:r % 3]:
            start = time.perf_counter()
            result = graph.run(regs[v], max_workers=WORKERS, cache=False)
            took = time.perf_counter() - start
            if set(result.status.values()) != {"done"}:
                raise AssertionError(f"{v}: {result.errors}")
            rates[v].append(NODES / took)
    return {v: statistics.median(x) for v, x in rates.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    regs = registries()
    try:
        figures = {
            "c_multiply latency": latency(regs, "c_multiply", args.samples, args.warmup),
            "python_add latency": latency(regs, "python_add", args.samples, args.warmup),
            "python_add throughput": throughput(regs, args.rounds),
        }
    finally:
        for reg in regs.values():
            reg.close()
    targets = []
    for what, variant, base, sense, bound in TARGETS:
        ratio = figures[what][variant] / figures[what][base]
        met = ratio <= bound if sense == "<=" else ratio >= bound
        targets.append({"what": what, "variant": variant, "baseline": base, "ratio": ratio,
                        "target": f"{sense} {bound}", "met": met})
    if args.json:
        print(json.dumps({"figures": figures, "targets": targets, "samples": args.samples,
                          "rounds": args.rounds, "machine": _machine()}, indent=1))
        return 0
    print(f"bench_runner: {_machine()}; medians of {args.samples} calls / {args.rounds} "
          f"rounds of {NODES} nodes at max_workers={WORKERS}")
    for what, values in figures.items():
        unit = "calls/s" if "throughput" in what else "ms"
        shown = ", ".join(f"{v} {x:.2f} {unit}" for v, x in values.items())
        print(f"  {what}: {shown}")
    for t in targets:
        print(f"  {t['what']}, {t['variant']} / {t['baseline']}: {t['ratio']:.3f} "
              f"(target {t['target']}): {'MET' if t['met'] else 'MISSED'}")
    return 0


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


if __name__ == "__main__":
    sys.exit(main())

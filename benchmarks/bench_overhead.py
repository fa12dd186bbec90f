#!/usr/bin/env python3
"""Toolkit overhead against a raw docker-py baseline, measured in the same run.

1. Per-node latency: a one-node ``Graph.run`` (python_add, warm container) and a
   ``Process.run`` call, against a raw SDK exec of the same command into a warm container of
   the same image that this script starts itself. Samples are interleaved (the order rotates
   every sample) so drift on the machine hits every variant equally.
2. Throughput: 32 independent python_add nodes in one ``Graph.run(max_workers=W)`` against a
   raw ``ThreadPoolExecutor(W)`` doing 32 raw execs into ONE warm container. Rounds alternate
   which side goes first; medians are reported.

It is a measurement, not a test: the exit code is 0 whether or not a target is met, and 1
only when something errored. Run:

    .venv/bin/python benchmarks/bench_overhead.py [--samples 40] [--rounds 5] [--workers 8]
                                                  [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import platform
import select
import signal
import socket
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker

from containerdag_widgets import Graph, Registry
from containerdag_widgets.docker.exec import demultiplex  # the frame parser, no more

IMAGE = "containerdag/add_subtract:latest"
PROCESS = "python_add"
COMMAND = ["python3", "/app/add.py"]  # the image's label process.python_add, split
BENCH_LABEL = "containerdag.bench"
THROUGHPUT_CALLS = 32
LATENCY_TARGET = 1.10  # toolkit median / raw median, at most
THROUGHPUT_TARGET = 0.90  # toolkit calls/s / raw calls/s, at least

_STDOUT, _STDERR = 1, 2  # the streams of the Engine API's multiplexed frames


# ---- the raw baseline ----------------------------------------------------------------------


class RawBaseline:
    """docker-py only: one warm container of the image, execs with stdin over the attach socket.

    It does what the toolkit must do for one call and nothing more: create the exec, start it
    with a hijacked socket, write stdin while reading (select, so a process that does not read
    its stdin cannot block), shut down the write side, demultiplex the frames, read the exit
    code with ``exec_inspect`` (polled, as the toolkit does, in the rare case the engine still
    reports the exec running after EOF), and parse stdout as JSON.
    """

    def __init__(self, run_id: str):
        # Same client construction as the toolkit's ``connect()``: docker.from_env().api.
        self.client = docker.from_env(timeout=60)
        self.api = self.client.api
        self.container_id: str | None = None
        self.inspect_repolls = 0
        # Same container shape as the toolkit's pool: keepalive entrypoint, docker's init.
        container = self.api.create_container(
            IMAGE, entrypoint=["sleep", "infinity"], name=f"containerdag-bench-raw-{run_id}",
            labels={BENCH_LABEL: run_id, f"{BENCH_LABEL}.pid": str(os.getpid())},
            host_config=self.api.create_host_config(init=True),
        )
        self.container_id = container["Id"]
        self.api.start(self.container_id)

    def call(self, inputs: dict) -> dict:
        api = self.api
        stdin = json.dumps(inputs, allow_nan=False).encode("utf-8")
        exec_id = api.exec_create(self.container_id, COMMAND, stdin=True, stdout=True,
                                  stderr=True, tty=False)["Id"]
        raw = api.exec_start(exec_id, socket=True)
        sock = getattr(raw, "_sock", raw)
        out = bytearray()
        err = bytearray()
        buf = bytearray()
        pending = memoryview(stdin)
        try:
            sock.setblocking(False)
            if not pending:
                _shutdown_write(sock)
            while True:
                readable, writable, _ = select.select([sock], [sock] if pending else [], [])
                if writable and pending:
                    try:
                        pending = pending[sock.send(pending[:65536]):]
                    except OSError as exc:  # the process exited without reading all of stdin
                        if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EAGAIN):
                            raise
                        if exc.errno != errno.EAGAIN:
                            pending = memoryview(b"")
                    if not pending:
                        _shutdown_write(sock)
                if readable:
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        chunk = b""
                    if not chunk:
                        break
                    buf += chunk
                    for stream, payload in demultiplex(buf):
                        if stream == _STDOUT:
                            out += payload
                        elif stream == _STDERR:
                            err += payload
        finally:
            try:
                sock.close()
            finally:
                raw.close()
        info = api.exec_inspect(exec_id)
        for _ in range(100):
            if not info.get("Running"):
                break
            self.inspect_repolls += 1
            time.sleep(0.01)
            info = api.exec_inspect(exec_id)
        if info.get("ExitCode") != 0:
            raise RuntimeError(f"raw exec exited with {info.get('ExitCode')}: {bytes(err)!r}")
        return json.loads(bytes(out).decode("utf-8"))

    def close(self) -> None:
        if self.container_id is not None:
            with contextlib.suppress(docker.errors.NotFound):
                self.api.remove_container(self.container_id, force=True)
            self.container_id = None
        self.client.close()


def _shutdown_write(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


# ---- measurements --------------------------------------------------------------------------


def _check(z: float, x: float, y: float, who: str) -> None:
    if z != x + y:
        raise RuntimeError(f"{who}: python_add gave z={z!r} for x={x!r}, y={y!r}")


def measure_latency(reg: Registry, raw: RawBaseline, samples: int, warmup: int) -> dict:
    """Per-call wall times and this process's CPU times (seconds, all threads) per variant.

    Samples are interleaved with a rotating order. The CPU time is the client-side work only
    (the engine and the container are other processes), so it is far less sensitive to load
    on the machine than the wall time.
    """
    graph = Graph.from_spec({"add": {"process": PROCESS, "inputs": {"x": 1.0, "y": 2.0}}})

    def graph_node() -> None:
        result = graph.run(reg, cache=False)
        if result.status["add"] != "done":
            raise RuntimeError(f"graph node {result.status['add']}: {result.errors.get('add')}")
        _check(result.outputs["add"]["z"], 1.0, 2.0, "graph")

    def process_call() -> None:
        _check(reg.get(PROCESS).run({"x": 1.0, "y": 2.0})["z"], 1.0, 2.0, "process")

    def raw_call() -> None:
        _check(raw.call({"x": 1.0, "y": 2.0})["z"], 1.0, 2.0, "raw")

    variants = {"graph": graph_node, "process": process_call, "raw": raw_call}
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for i in range(samples):
        k = i % len(names)
        for name in names[k:] + names[:k]:  # rotate who goes first
            c0 = time.process_time()
            t0 = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {"wall": times, "cpu": cpu}


def measure_throughput(reg: Registry, raw: RawBaseline, rounds: int, workers: int) -> dict:
    """Calls/s of 32 independent calls, toolkit graph vs raw thread pool, per round."""
    spec = {f"n{i:02d}": {"process": PROCESS, "inputs": {"x": float(i), "y": 0.5}}
            for i in range(THROUGHPUT_CALLS)}
    graph = Graph.from_spec(spec)

    def toolkit_round() -> float:
        t0 = time.perf_counter()
        result = graph.run(reg, max_workers=workers, cache=False)
        elapsed = time.perf_counter() - t0
        bad = {n: s for n, s in result.status.items() if s != "done"}
        if bad:
            raise RuntimeError(f"graph nodes not done: {bad}; {result.errors}")
        for i in range(THROUGHPUT_CALLS):
            _check(result.outputs[f"n{i:02d}"]["z"], float(i), 0.5, "graph")
        return elapsed

    def raw_round() -> float:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:  # the runner also starts a pool per run
            outs = list(pool.map(raw.call, [{"x": float(i), "y": 0.5}
                                            for i in range(THROUGHPUT_CALLS)]))
        elapsed = time.perf_counter() - t0
        for i, out in enumerate(outs):
            _check(out["z"], float(i), 0.5, "raw")
        return elapsed

    # Warm-up: a short parallel burst each (threads, connection pools, engine exec paths).
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: raw.call({"x": 1.0, "y": 1.0}), range(workers)))
    Graph.from_spec({k: spec[k] for k in list(spec)[:workers]}).run(reg, max_workers=workers,
                                                                    cache=False)

    rates: dict[str, list[float]] = {"graph": [], "raw": []}
    for r in range(rounds):
        order = [("graph", toolkit_round), ("raw", raw_round)]
        if r % 2:
            order.reverse()
        for name, fn in order:
            rates[name].append(THROUGHPUT_CALLS / fn())
    return rates


# ---- reporting -----------------------------------------------------------------------------


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]


def summarize(lat: dict, thr: dict, args: argparse.Namespace, raw: RawBaseline,
              wall: float) -> dict:
    latency = {
        name: {"median_ms": statistics.median(v) * 1e3, "p90_ms": _p90(v) * 1e3,
               "min_ms": min(v) * 1e3, "samples": len(v),
               "client_cpu_median_ms": statistics.median(lat["cpu"][name]) * 1e3}
        for name, v in lat["wall"].items()
    }
    raw_med = latency["raw"]["median_ms"]
    latency_ratio = latency["graph"]["median_ms"] / raw_med
    throughput = {name: {"median_calls_per_s": statistics.median(v),
                         "rounds_calls_per_s": v} for name, v in thr.items()}
    throughput_ratio = (throughput["graph"]["median_calls_per_s"]
                        / throughput["raw"]["median_calls_per_s"])
    return {
        "image": IMAGE,
        "process": PROCESS,
        "config": {"samples": args.samples, "rounds": args.rounds, "workers": args.workers,
                   "throughput_calls": THROUGHPUT_CALLS},
        "latency": latency,
        "latency_ratio": {
            "graph_vs_raw": latency_ratio,
            "process_vs_raw": latency["process"]["median_ms"] / raw_med,
            "graph_minus_process_ms": latency["graph"]["median_ms"]
                                      - latency["process"]["median_ms"],
            "process_minus_raw_ms": latency["process"]["median_ms"] - raw_med,
        },
        "throughput": throughput,
        "throughput_ratio": throughput_ratio,
        "targets": {
            "latency_ratio_max": LATENCY_TARGET,
            "latency_met": latency_ratio <= LATENCY_TARGET,
            "throughput_ratio_min": THROUGHPUT_TARGET,
            "throughput_met": throughput_ratio >= THROUGHPUT_TARGET,
        },
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "docker_py": docker.__version__,
            "engine": raw.client.version().get("Version"),
            "loadavg_end": os.getloadavg(),
            "raw_inspect_repolls": raw.inspect_repolls,
            "wall_s": wall,
        },
    }


def print_table(s: dict) -> None:
    lat, cfg = s["latency"], s["config"]
    met = {True: "MET", False: "MISSED"}
    print(f"containerdag_widgets overhead vs raw docker-py  ({s['image']}, {s['process']}; "
          f"{s['environment']['cpus']} CPUs, engine {s['environment']['engine']})")
    print()
    print(f"1. Per-node latency, warm container, {cfg['samples']} interleaved samples each")
    print(f"   {'variant':<40} {'median ms':>10} {'p90 ms':>10} {'min ms':>10} {'x raw':>7}"
          f" {'client CPU ms':>14}")
    labels = {"graph": "toolkit: one-node Graph.run(reg)",
              "process": "toolkit: reg.get(...).run(inputs)",
              "raw": "raw docker-py exec (baseline)"}
    raw_med = lat["raw"]["median_ms"]
    for name in ("graph", "process", "raw"):
        v = lat[name]
        print(f"   {labels[name]:<40} {v['median_ms']:>10.1f} {v['p90_ms']:>10.1f} "
              f"{v['min_ms']:>10.1f} {v['median_ms'] / raw_med:>7.3f}"
              f" {v['client_cpu_median_ms']:>14.2f}")
    r = s["latency_ratio"]
    print(f"   overhead split: registry/process call {r['process_minus_raw_ms']:+.1f} ms, "
          f"graph/run machinery {r['graph_minus_process_ms']:+.1f} ms")
    t = s["targets"]
    print(f"   ratio graph/raw = {r['graph_vs_raw']:.3f}  (target <= {t['latency_ratio_max']:.2f})"
          f"  -> {met[t['latency_met']]}")
    print()
    th = s["throughput"]
    print(f"2. Throughput, {cfg['throughput_calls']} independent calls, "
          f"{cfg['workers']} workers, one warm container, {cfg['rounds']} alternating rounds")
    print(f"   {'variant':<40} {'median calls/s':>15}   rounds")
    for name, label in (("graph", f"toolkit: Graph.run(max_workers={cfg['workers']})"),
                        ("raw", f"raw: ThreadPoolExecutor({cfg['workers']})")):
        rounds = " ".join(f"{x:.1f}" for x in th[name]["rounds_calls_per_s"])
        print(f"   {label:<40} {th[name]['median_calls_per_s']:>15.1f}   {rounds}")
    print(f"   ratio toolkit/raw = {s['throughput_ratio']:.3f}  "
          f"(target >= {t['throughput_ratio_min']:.2f})  -> {met[t['throughput_met']]}")
    print()
    env = s["environment"]
    load = ", ".join(f"{x:.2f}" for x in env["loadavg_end"])
    print(f"load average at end: {load}; total {env['wall_s']:.1f} s; "
          f"raw exec_inspect re-polls: {env['raw_inspect_repolls']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40,
                        help="latency samples per variant (>= 30 recommended; default 40)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="throughput rounds per side (default 5)")
    parser.add_argument("--workers", type=int, default=8,
                        help="max_workers / thread-pool size for throughput (default 8)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="unmeasured latency calls per variant first (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.rounds < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--samples, --rounds and --workers must be >= 1, --warmup >= 0")

    # Turn SIGTERM into SystemExit so the finally blocks remove the containers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id = uuid.uuid4().hex[:10]
    started = time.perf_counter()
    reg = raw = None
    try:
        reg = Registry.from_docker(images=[IMAGE])
        raw = RawBaseline(run_id)
        lat = measure_latency(reg, raw, args.samples, args.warmup)
        thr = measure_throughput(reg, raw, args.rounds, args.workers)
        summary = summarize(lat, thr, args, raw, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - a measurement: report and exit 1
        print(f"benchmark error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            if raw is not None:
                raw.close()
        finally:
            if reg is not None:
                reg.close()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

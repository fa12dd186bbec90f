#!/usr/bin/env python3
"""The toolkit against peer workflow engines: the same workloads, same machine, same run.

Peers are installed from PyPI into the benchmark's own environments (not dependencies of the
package), run as subprocesses from there; the toolkit runs from the project's venv:

- ``benchmarks/.peers-venv/main``: cwltool, toil[cwl], dask, prefect;
- ``benchmarks/.peers-venv/dagster``: dagster (its own venv: dagster pins coloredlogs < 15,
  toil >= 15, so the two do not install cleanly side by side).

Each is created and filled with ``pip install`` when missing (a few minutes, once); or pass
``--peers-python PATH`` / ``--dagster-python PATH`` (a python that imports them).

Cases, each a ratio toolkit / peer of wall time, medians over rounds in which the tools
alternate (the order rotates each round, so drift hits every tool alike):

a. Containers, over the example images (``containerdag/add_subtract``,
   ``containerdag/multiply_divide``): a 10-node chain and a 64-node fan-out (a root and 63
   branches reading it), every node run (no cache). The toolkit as a cold CLI
   (``containerdag run SPEC --no-cache``: interpreter, discovery, warm containers started and
   removed) and as a warm in-kernel session (``Graph.run(cache=False)`` with one
   ``Registry.from_docker`` kept open); ``cwltool --parallel`` and ``toil-cwl-runner`` run
   the toolkit's own CWL export (``containerdag export cwl``: per node an inputs-helper step
   and the process step, each a ``docker run`` of the same local image; ``--no-prepull`` for
   toil, which otherwise pulls from a registry) with the export's suggested
   ``--strict-memory-limit --strict-cpu-limit``.
b. 1,000 in-process Python nodes (``x + 1``), a chain and a fan: ``Graph.run(cache=False,
   max_workers=4)`` against dask (``dask.get``, synchronous, and ``dask.threaded.get`` with
   4 workers), prefect (tasks in a flow, ``ThreadPoolTaskRunner(4)``, no task cache, the
   local ephemeral server: no ``PREFECT_API_URL``) and dagster (ops, ``execute_in_process``).
   Each peer lives in one long-running worker process (imports, graph building and a small
   warm-up run outside the timing), asked for one timed run at a time.
c. A re-run with one input changed: the 10-node chain after a first run, with the literal of
   its middle node (``n5.b``) set to a value no run had; n0-n4 are reused, n5-n9 run again.
   The toolkit's cache (cold CLI, and the warm session) against ``cwltool --cachedir``.

A tool that is slow gets fewer rounds: it is not started again in a case once its time there
plus its median would pass the case's budget (each tool runs at least once). A tool that
cannot run a case (install failed, run failed, too slow) has the reason in its table cell.
Nothing here needs the network but ``pip install``; telemetry is off (``DO_NOT_TRACK=1``,
prefect's analytics, dagster's telemetry).

A measurement, not a test: exit code 0 whatever the ratios, 1 only if the toolkit itself
failed. About 13-15 minutes on 2 cores (``--quick``: a few minutes, smaller workloads). Run:

    .venv/bin/python benchmarks/bench_peers.py [--quick] [--only CASE,...] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / ".peers-venv"
IMAGES = ["containerdag/add_subtract:latest", "containerdag/multiply_divide:latest"]
#: The python image of the CWL export's helper steps: one of the example images (it has
#: python3), as the export's default (python:3.12-slim) is not on the engine and pulling it
#: would need the network.
HELPER_IMAGE = "containerdag/add_subtract:latest"
#: Each peer group: packages to install, and (distribution, module) pairs that must import.
GROUPS = {
    "main": (["cwltool", "toil[cwl]", "dask", "prefect"],
             [("cwltool", "cwltool"), ("toil", "toil.cwl.cwltoil"), ("dask", "dask"),
              ("prefect", "prefect")]),
    "dagster": (["dagster"], [("dagster", "dagster")]),
}
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}
RUN_TIMEOUT = 600.0
NOTE_1 = ("note 1: cwltool's cache key is a tool's command line, its input files and its "
          "requirements as written (expressions unevaluated). The export's inputs helpers get "
          "their values through InitialWorkDirRequirement entries, so they also take them as "
          "a first argument they drop (a cache key); exports before that gave back the first "
          "run's n9 after n5.b changed.")


class Unavailable(Exception):
    """A tool cannot run this case; the message is the table cell."""


# --------------------------------------------------------------------------- peer workers
# Run inside the peers' environments (``--worker NAME``): stdlib and the peer only.

def _worker_dask() -> tuple[str, dict]:
    import dask
    import dask.threaded

    def inc(x):
        return x + 1

    def chain(n):
        dsk = {"n0": (inc, 0.0)}
        dsk.update({f"n{i}": (inc, f"n{i - 1}") for i in range(1, n)})
        return lambda: dask.get(dsk, f"n{n - 1}"), float

    def fan(n, threaded):
        dsk = {f"n{i}": (inc, float(i)) for i in range(n)}
        keys = list(dsk)
        get = ((lambda: dask.threaded.get(dsk, keys, num_workers=4)) if threaded
               else (lambda: dask.get(dsk, keys)))
        return get, sum

    def chain_threaded(n):
        dsk = {"n0": (inc, 0.0)}
        dsk.update({f"n{i}": (inc, f"n{i - 1}") for i in range(1, n)})
        return lambda: dask.threaded.get(dsk, f"n{n - 1}", num_workers=4), float

    return dask.__version__, {"sync chain": chain, "sync fan": lambda n: fan(n, False),
                              "threaded chain": chain_threaded,
                              "threaded fan": lambda n: fan(n, True)}


def _worker_prefect() -> tuple[str, dict]:
    import prefect
    from prefect import flow, task
    from prefect.cache_policies import NONE
    from prefect.task_runners import ThreadPoolTaskRunner

    @task(cache_policy=NONE)
    def inc(x):
        return x + 1

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def chain_flow(n):
        x = 0.0
        for _ in range(n):
            x = inc(x)
        return x

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def fan_flow(n):
        futures = inc.map([float(i) for i in range(n)])
        return sum(f.result() for f in futures)

    return prefect.__version__, {"chain": lambda n: ((lambda: chain_flow(n)), float),
                                 "fan": lambda n: ((lambda: fan_flow(n)), float)}


def _worker_dagster() -> tuple[str, dict]:
    import dagster
    from dagster import DependencyDefinition, GraphDefinition, NodeInvocation, op

    @op
    def inc(x: float) -> float:
        return x + 1

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

    def run(job, config):
        def call():
            result = job.execute_in_process(run_config=config)
            if not result.success:
                raise RuntimeError("the dagster run failed")
            return result
        return call

    def chain(n):
        deps = {NodeInvocation("inc", alias="n0"): {}}
        deps.update({NodeInvocation("inc", alias=f"n{i}"): {"x": DependencyDefinition(
            f"n{i - 1}", "result")} for i in range(1, n)})
        job = GraphDefinition(name=f"chain{n}", node_defs=[inc], dependencies=deps).to_job()
        config = {"ops": {"n0": {"inputs": {"x": 0.0}}}, **quiet}
        return run(job, config), lambda r: r.output_for_node(f"n{n - 1}")

    def fan(n):
        deps = {NodeInvocation("inc", alias=f"n{i}"): {} for i in range(n)}
        job = GraphDefinition(name=f"fan{n}", node_defs=[inc], dependencies=deps).to_job()
        config = {"ops": {f"n{i}": {"inputs": {"x": float(i)}} for i in range(n)}, **quiet}
        return run(job, config), lambda r: sum(r.output_for_node(f"n{i}") for i in range(n))

    return dagster.__version__, {"chain": chain, "fan": fan}


WORKERS = {"dask": _worker_dask, "prefect": _worker_prefect, "dagster": _worker_dagster}


def worker_main(name: str) -> int:
    """One line of JSON in (``{"run": ..., "nodes": n}``), one out (seconds, value)."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the library prints goes to the log, not into the protocol
    try:
        version, runs = WORKERS[name]()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as the reason
        proto.write(json.dumps({"error": f"import failed: {exc!r}"}) + "\n")
        return 1
    proto.write(json.dumps({"ready": True, "version": version}) + "\n")
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("quit"):
            break
        try:
            call, value_of = runs[msg["run"]](msg["nodes"])  # building: not timed
            start = time.perf_counter()
            out = call()
            took = time.perf_counter() - start
            reply = {"seconds": took, "value": value_of(out)}
        except Exception as exc:  # noqa: BLE001
            reply = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        proto.write(json.dumps(reply) + "\n")
    proto.close()
    return 0  # the peers' exit hooks run: prefect's stops its ephemeral server


# --------------------------------------------------------------------------- environments

@dataclass
class Peers:
    """Where each peer is, its version, or why it is not."""

    python: dict[str, str | None] = field(default_factory=dict)  # group -> python
    versions: dict[str, str] = field(default_factory=dict)  # distribution -> version
    missing: dict[str, str] = field(default_factory=dict)  # distribution -> reason
    notes: list[str] = field(default_factory=list)

    def bin(self, group: str, name: str) -> Path:
        return Path(self.python[group]).parent / name  # type: ignore[arg-type]


def _check(python: str, wanted: list[tuple[str, str]]) -> dict[str, str]:
    """distribution -> version, or '!' + why it does not import."""
    code = ("import importlib, importlib.metadata as m, json, sys\nout = {}\n"
            "for dist, mod in json.loads(sys.argv[1]):\n"
            "    try:\n        importlib.import_module(mod); out[dist] = m.version(dist)\n"
            "    except Exception as e:\n        out[dist] = '!' + repr(e)[:200]\n"
            "print(json.dumps(out))")
    try:
        done = subprocess.run([python, "-c", code, json.dumps(wanted)], capture_output=True,
                              text=True, timeout=300, env=peer_env())
        return json.loads(done.stdout)
    except Exception as exc:  # noqa: BLE001
        return {dist: f"!{python} does not run: {exc!r}"[:200] for dist, _ in wanted}


def ensure_group(peers: Peers, group: str, python: str | None) -> None:
    packages, wanted = GROUPS[group]
    if python is None:
        venv = PEERS_DIR / group
        python = str(venv / "bin" / "python")
        found = _check(python, wanted) if Path(python).exists() else {}
        if not found or any(v.startswith("!") for v in found.values()):
            log = PEERS_DIR / f"{group}-install.log"
            say(f"installing {' '.join(packages)} into {venv} (log: {log}) ...")
            PEERS_DIR.mkdir(exist_ok=True)
            with open(log, "w") as out:
                if not Path(python).exists():
                    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                                   stdout=out, stderr=subprocess.STDOUT)
                done = subprocess.run([python, "-m", "pip", "install",
                                       "--disable-pip-version-check", *packages],
                                      stdout=out, stderr=subprocess.STDOUT, timeout=1800)
            if done.returncode:
                tail = [ln for ln in log.read_text().splitlines() if "error" in ln.lower()]
                peers.notes.append(f"pip install {' '.join(packages)} failed: "
                                   f"{(tail or ['see ' + str(log)])[-1].strip()}")
    found = _check(python, wanted)
    peers.python[group] = python
    conflicts = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True,
                               env=peer_env())
    if conflicts.returncode:
        peers.notes.append(f"pip check ({group}): {conflicts.stdout.strip()}")
    for dist, got in found.items():
        if got.startswith("!"):
            peers.missing[dist] = f"not installed: {got[1:]}"
        else:
            peers.versions[dist] = got


def peer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DAGSTER_"))}
    env.update(QUIET_ENV)
    env.update(extra)
    return env


# --------------------------------------------------------------------------- workloads

def chain_spec(n: int, changed: float | None = None) -> dict:
    """n container nodes, python_add and c_multiply alternating, each reading the one before."""
    spec: dict[str, dict] = {}
    for i in range(n):
        before = {"from": f"n{i - 1}", "output": "z"}
        if i % 2 == 0:
            spec[f"n{i}"] = {"process": "python_add",
                             "inputs": {"x": before if i else 1.0, "y": i + 0.25}}
        else:
            spec[f"n{i}"] = {"process": "c_multiply", "inputs": {"a": before, "b": 1 + i / 10}}
    if changed is not None:
        spec["n5"]["inputs"]["b"] = changed
    return spec


def fan_spec(n: int) -> dict:
    """A root and n - 1 branches reading its output, python_add and c_multiply alternating."""
    spec: dict[str, dict] = {"root": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}}}
    root = {"from": "root", "output": "z"}
    for i in range(n - 1):
        spec[f"b{i:02d}"] = ({"process": "python_add", "inputs": {"x": root, "y": float(i)}}
                             if i % 2 == 0 else
                             {"process": "c_multiply", "inputs": {"a": root, "b": float(i)}})
    return spec


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec, indent=1))
    return path


def cli() -> list[str]:
    script = Path(sys.executable).parent / "containerdag"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "containerdag_widgets.cli"]
    return base + [arg for image in IMAGES for arg in ("--image", image)]


def export_cwl(spec_file: Path, out: Path) -> tuple[Path, Path]:
    subprocess.run(cli() + ["export", "cwl", str(spec_file), "-o", str(out),
                            "--python-image", HELPER_IMAGE],
                   check=True, capture_output=True, text=True)
    return out / "workflow.cwl", out / "job.json"


def timed_subprocess(command: list[str], env: dict[str, str], what: str,
                     cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=RUN_TIMEOUT, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"too slow: over {RUN_TIMEOUT:.0f} s") from None
    took = time.perf_counter() - start
    if done.returncode:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip() and "Skipping" not in ln]
        raise Unavailable(f"{what} failed (exit {done.returncode}): "
                          f"{(lines or ['no message'])[-1].strip()[:160]}")
    return took, done.stdout


def cwl_value(stdout: str, node: str) -> float:
    outputs = json.loads(stdout)
    return json.loads(Path(outputs[f"{node}--outputs"]["path"]).read_text())["z"]


def check(what: str, got: float, want: float) -> None:
    if not math.isclose(got, want, rel_tol=1e-9):
        raise Unavailable(f"{what}: wrong result {got!r}, expected {want!r}")


# --------------------------------------------------------------------------- measuring

@dataclass
class Subject:
    label: str
    run: Callable[[int], float] | None  # round -> seconds; raises Unavailable
    toolkit: bool = False
    reason: str | None = None  # why it cannot run, when run is None


@dataclass
class Case:
    key: str
    title: str
    subjects: list[Subject]
    rounds: int
    budget: float  # seconds per subject: no new round once spent + median would pass it
    samples: dict[str, dict[int, float]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def run_case(case: Case) -> None:
    say(f"== {case.title}")
    spent = {s.label: 0.0 for s in case.subjects}
    for s in case.subjects:
        case.samples[s.label] = {}
        if s.run is None:
            case.reasons[s.label] = s.reason or "cannot run"
    for r in range(case.rounds):
        k = r % len(case.subjects)
        for s in case.subjects[k:] + case.subjects[:k]:
            got = case.samples[s.label]
            if s.label in case.reasons:
                continue
            if got and spent[s.label] + statistics.median(got.values()) > case.budget:
                continue
            try:
                took = s.run(r)
            except Unavailable as exc:
                case.reasons[s.label] = str(exc)
                say(f"   round {r + 1}: {s.label}: {exc}")
                continue
            got[r] = took
            spent[s.label] += took
            say(f"   round {r + 1}: {s.label}: {took:.3f} s")


def fmt(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{fmt(med)} (n=1)"
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))}, n={len(values)})"


def rows(case: Case) -> list[dict[str, Any]]:
    out = []
    tools = [s for s in case.subjects if s.toolkit]
    peers = [s for s in case.subjects if not s.toolkit]
    for t in tools:
        mine = case.samples[t.label]
        for p in peers:
            row = {"case": case.title, "toolkit": t.label, "peer": p.label}
            theirs = case.samples[p.label]
            if t.label in case.reasons or not mine:
                row["ratio"] = f"toolkit failed: {case.reasons.get(t.label, '?')}"
            elif p.label in case.reasons and not theirs:
                row["ratio"] = case.reasons[p.label]
                row["toolkit_s"] = spread(list(mine.values()))
            else:
                paired = [mine[r] / theirs[r] for r in theirs if r in mine]
                ratio = statistics.median(mine.values()) / statistics.median(theirs.values())
                shown = f"{ratio:.3g}" if ratio >= 0.001 else f"{ratio:.1e}"
                if len(paired) > 1:
                    shown += f" ({min(paired):.3g}-{max(paired):.3g})"
                if p.label in case.reasons:
                    shown += f"; then {case.reasons[p.label]}"
                row.update(ratio=shown, toolkit_s=spread(list(mine.values())),
                           peer_s=spread(list(theirs.values())),
                           toolkit_samples=list(mine.values()),
                           peer_samples=list(theirs.values()))
            out.append(row)
    return out


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the cases

class PeerWorker:
    """A long-running peer process answering timed-run requests (case b)."""

    def __init__(self, python: str, name: str, log: Path, env: dict[str, str]):
        self.name = name
        self.log = open(log, "w")  # noqa: SIM115 - open while the worker lives
        self.proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker", name],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env,
                                     start_new_session=True)
        hello = self._read()
        if "error" in hello:
            raise Unavailable(hello["error"])
        self.version = hello["version"]

    def _read(self) -> dict:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise Unavailable(f"{self.name} worker exited (see {self.log.name})")
        return json.loads(line)

    def ask(self, run: str, nodes: int) -> tuple[float, float]:
        self.proc.stdin.write(json.dumps({"run": run, "nodes": nodes}) + "\n")  # type: ignore
        self.proc.stdin.flush()  # type: ignore[union-attr]
        reply = self._read()
        if "error" in reply:
            raise Unavailable(f"{self.name} failed: {reply['error']}")
        return reply["seconds"], reply["value"]

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")  # type: ignore
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            pass
        with contextlib.suppress(ProcessLookupError):  # the group this worker leads: it,
            os.killpg(self.proc.pid, signal.SIGTERM)   # and what it left (a prefect server)
        if self.proc.poll() is None:
            self.proc.wait(timeout=30)
        self.log.close()


def container_cases(args, peers: Peers, work: Path, reg, Graph) -> list[Case]:  # noqa: ANN001
    cases = []
    env = peer_env(PATH=f"{Path(peers.python['main'] or sys.executable).parent}:"
                        f"{os.environ.get('PATH', '')}")
    workloads = [("chain", "10-node container chain", chain_spec(10), "n9"),
                 ("fan", f"{args.fan_nodes}-node container fan-out", fan_spec(args.fan_nodes),
                  f"b{args.fan_nodes - 2:02d}")]
    for key, title, spec, last in workloads:
        if args.only and key not in args.only:
            continue
        spec_file = write_spec(work / f"{key}.json", spec)
        workflow, job = export_cwl(spec_file, work / f"{key}-cwl")
        graph = Graph.from_spec(_tuples(spec))
        want = graph.run(reg, cache=False, max_workers=8)  # warm-up; the expected values
        if not want.ok:
            raise SystemExit(f"the toolkit failed {key}:\n{want.table()}")
        expected = want.outputs[last]["z"]

        def cold(r: int, spec_file=spec_file, last=last, expected=expected) -> float:
            took, out = timed_subprocess(cli() + ["run", str(spec_file), "--no-cache",
                                                  "--json", "--max-workers", "8"],
                                         dict(os.environ), "containerdag run")
            check("containerdag run", json.loads(out)["outputs"][last]["z"], expected)
            return took

        def warm(r: int, graph=graph, last=last, expected=expected) -> float:
            start = time.perf_counter()
            result = graph.run(reg, cache=False, max_workers=8)
            took = time.perf_counter() - start
            if not result.ok:
                raise Unavailable(f"Graph.run failed: {result.errors}")
            check("Graph.run", result.outputs[last]["z"], expected)
            return took

        def cwltool(r: int, workflow=workflow, job=job, last=last, expected=expected,
                    key=key) -> float:
            out = work / f"{key}-cwltool-out-{r}"
            took, stdout = timed_subprocess(
                [str(peers.bin("main", "cwltool")), "--quiet", "--parallel",
                 "--strict-memory-limit", "--strict-cpu-limit", "--outdir", str(out),
                 str(workflow), str(job)], env, "cwltool", cwd=work)
            check("cwltool", cwl_value(stdout, last), expected)
            shutil.rmtree(out, ignore_errors=True)
            return took

        def toil(r: int, workflow=workflow, job=job, last=last, expected=expected,
                 key=key) -> float:
            out, store, tmp = (work / f"{key}-toil-{what}-{r}" for what in ("out", "js", "tmp"))
            tmp.mkdir()
            took, stdout = timed_subprocess(
                [str(peers.bin("main", "toil-cwl-runner")), "--no-prepull", "--logWarning",
                 "--strict-memory-limit", "--strict-cpu-limit", "--jobStore", f"file:{store}",
                 "--workDir", str(tmp), "--outdir", str(out), str(workflow), str(job)],
                env, "toil-cwl-runner", cwd=work)
            check("toil-cwl-runner", cwl_value(stdout, last), expected)
            for d in (out, store, tmp):
                shutil.rmtree(d, ignore_errors=True)
            return took

        subjects = [Subject("containerdag run (cold CLI)", cold, toolkit=True),
                    Subject("Graph.run (warm session)", warm, toolkit=True),
                    _peer(peers, "cwltool", "cwltool --parallel", cwltool),
                    _peer(peers, "toil", "toil-cwl-runner", toil)]
        cases.append(Case(key, title, subjects, args.rounds, args.container_budget))
    if not args.only or "rerun" in args.only:
        cases.append(rerun_case(args, peers, work, reg, Graph, env))
    return cases


def rerun_case(args, peers: Peers, work: Path, reg, Graph, env) -> Case:  # noqa: ANN001
    """The 10-node chain again with n5.b changed: a new value in every round for every tool."""
    base = chain_spec(10)
    spec_file = write_spec(work / "rerun.json", base)
    workflow, job = export_cwl(spec_file, work / "rerun-cwl")
    subprocess.run(cli() + ["run", str(spec_file)], check=True, capture_output=True)  # stored
    graph = Graph.from_spec(_tuples(base))
    graph.run(reg)  # stored (the same cache as the CLI's: both new values in each round)

    def value(r: int, who: int) -> float:
        return 2.0 + 0.125 * (4 * r + who)  # never 1.5 (n5.b of the first run), never twice

    def expect(v: float) -> float:
        x = 1.0
        for i in range(10):  # the chain's arithmetic, as the processes compute it
            x = x + (i + 0.25) if i % 2 == 0 else x * (v if i == 5 else 1 + i / 10)
        return x

    def cold(r: int) -> float:
        v = value(r, 0)
        path = write_spec(work / f"rerun-cli-{r}.json", chain_spec(10, v))
        took, out = timed_subprocess(cli() + ["run", str(path), "--json"], dict(os.environ),
                                     "containerdag run")
        result = json.loads(out)
        _reused(result["status"])
        check("containerdag run", result["outputs"]["n9"]["z"], expect(v))
        return took

    def warm(r: int) -> float:
        v = value(r, 1)
        graph.set_input("n5", "b", v)
        start = time.perf_counter()
        result = graph.run(reg)
        took = time.perf_counter() - start
        _reused(result.status)
        check("Graph.run", result.outputs["n9"]["z"], expect(v))
        return took

    def cwltool(workflow: Path, job: Path, who: int) -> Callable[[int], float]:
        cachedir = work / f"cwltool-cache-{who}"
        command = [str(peers.bin("main", "cwltool")), "--quiet", "--parallel",
                   "--strict-memory-limit", "--strict-cpu-limit", "--cachedir", str(cachedir)]

        def run(r: int) -> float:
            if not cachedir.exists():  # the first run, not timed
                timed_subprocess(command + ["--outdir", str(work / f"prime-{who}"),
                                            str(workflow), str(job)], env, "cwltool", cwd=work)
            v = value(r, who)
            changed = json.loads(job.read_text())
            changed["n5-b"] = v
            job_r = job.with_name(f"job-{r}.json")  # beside job.json: cwltool's keys hold
            job_r.write_text(json.dumps(changed))   # input paths relative to the job's folder
            before = len(list(cachedir.glob("*.status")))  # one a job (and its directory)
            took, stdout = timed_subprocess(
                command + ["--outdir", str(work / f"rerun-out-{who}-{r}"), str(workflow),
                           str(job_r)], env, "cwltool", cwd=work)
            ran = len(list(cachedir.glob("*.status"))) - before
            got = cwl_value(stdout, "n9")
            if not math.isclose(got, expect(v), rel_tol=1e-9):
                raise Unavailable(
                    f"wrong result ({took:.1f} s): n9 = {got:.6g}, not {expect(v):.6g}; "
                    f"n5-n9 with the old n5.b (see note 1)")
            if ran != 10:  # n5-n9: each an inputs helper and a process step
                raise Unavailable(f"cwltool ran {ran} steps again, not the 10 of n5-n9")
            return took
        return run

    subjects = [Subject("containerdag run (cold CLI)", cold, toolkit=True),
                Subject("Graph.run (warm session)", warm, toolkit=True),
                _peer(peers, "cwltool", "cwltool --cachedir (note 1)",
                      cwltool(workflow, job, 2))]
    return Case("rerun", "10-node container chain, re-run with n5.b changed", subjects,
                args.rounds, args.container_budget)


def _reused(status: dict[str, str]) -> None:
    want = {f"n{i}": "cached" if i < 5 else "done" for i in range(10)}
    if status != want:
        raise Unavailable(f"the toolkit reused the wrong nodes: {status}")


def _tuples(spec: dict) -> dict:
    """The spec with {from, output} references as the (node, port) tuples of from_spec."""
    return {name: {"process": node["process"],
                   "inputs": {k: (v["from"], v["output"]) if isinstance(v, dict) else v
                              for k, v in node["inputs"].items()}}
            for name, node in spec.items()}


def _peer(peers: Peers, dist: str, label: str, run: Callable[[int], float]) -> Subject:
    if dist in peers.missing:
        return Subject(label.strip(), None, reason=peers.missing[dist])
    return Subject(label.strip(), run)


def in_process_cases(args, peers: Peers, work: Path, stack: list) -> list[Case]:  # noqa: ANN001
    from containerdag_widgets import Graph, Registry, process

    @process(outputs={"z": 1.0})
    def inc(x: float = 1.0):
        """x + 1."""
        return {"z": x + 1}

    registry = Registry([inc])
    n = args.python_nodes
    workers: dict[str, PeerWorker | str] = {}
    prefect_home = work / "prefect-home"
    dagster_home = work / "dagster-home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for name, group in (("dask", "main"), ("prefect", "main"), ("dagster", "dagster")):
        if name in peers.missing:
            workers[name] = peers.missing[name]
            continue
        env = peer_env(PREFECT_HOME=str(prefect_home), DAGSTER_HOME=str(dagster_home))
        try:
            w = PeerWorker(peers.python[group], name, work / f"{name}-worker.log", env)
        except Unavailable as exc:
            workers[name] = str(exc)
            continue
        stack.append(w)
        workers[name] = w
    cases = []
    shapes = {"chain": _inproc_chain(n), "fan": {f"n{i}": {"process": "inc",
                                                           "inputs": {"x": float(i)}}
                                                 for i in range(n)}}
    expected = {"chain": float(n), "fan": n * (n + 1) / 2}
    for shape, spec in shapes.items():
        key = f"inproc-{shape}"
        if args.only and key not in args.only:
            continue
        graph = Graph.from_spec(spec)
        graph.run(registry, cache=False, max_workers=4)  # warm-up

        def toolkit(r: int, graph=graph, shape=shape) -> float:
            start = time.perf_counter()
            result = graph.run(registry, cache=False, max_workers=4)
            took = time.perf_counter() - start
            if not result.ok:
                raise Unavailable(f"Graph.run failed: {result.errors}")
            got = (result.outputs[f"n{n - 1}"]["z"] if shape == "chain"
                   else sum(o["z"] for o in result.outputs.values()))
            check("Graph.run", got, expected[shape])
            return took

        subjects = [Subject("Graph.run", toolkit, toolkit=True)]
        for name, run, label in (("dask", f"sync {shape}", "dask.get (sync)"),
                                 ("dask", f"threaded {shape}", "dask.threaded.get"),
                                 ("prefect", shape, "prefect flow"),
                                 ("dagster", shape, "dagster execute_in_process")):
            w = workers[name]
            if isinstance(w, str):
                subjects.append(Subject(label, None, reason=w))
                continue
            try:
                w.ask(run, 10)  # warm-up: prefect's server, first-call paths
            except Unavailable as exc:
                subjects.append(Subject(label, None, reason=str(exc)))
                continue

            def peer(r: int, w=w, run=run, shape=shape) -> float:
                took, got = w.ask(run, n)
                check(w.name, got, expected[shape])
                return took

            subjects.append(Subject(label, peer))
        cases.append(Case(key, f"{n} in-process nodes, {shape}", subjects, args.python_rounds,
                          args.python_budget))
    return cases


def _inproc_chain(n: int) -> dict:
    spec = {"n0": {"process": "inc", "inputs": {"x": 0.0}}}
    spec.update({f"n{i}": {"process": "inc", "inputs": {"x": (f"n{i - 1}", "z")}}
                 for i in range(1, n)})
    return spec


# --------------------------------------------------------------------------- main

def machine() -> str:
    mem = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"{mem:.0f} GiB, Python {platform.python_version()}")


def table(all_rows: list[dict[str, Any]]) -> str:
    lines = ["| case | toolkit | peer | toolkit s | peer s | toolkit / peer |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in all_rows:
        lines.append(f"| {row['case']} | {row['toolkit']} | {row['peer']} | "
                     f"{row.get('toolkit_s', '-')} | {row.get('peer_s', '-')} | "
                     f"{row['ratio']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="smaller workloads and budgets (a 16-node fan, 200 in-process "
                             "nodes, 2 rounds): a few minutes")
    parser.add_argument("--only", default="",
                        help="comma-separated cases: chain, fan, rerun, inproc-chain, "
                             "inproc-fan")
    parser.add_argument("--peers-python", metavar="PATH",
                        help="a python with cwltool, toil[cwl], dask and prefect (default: "
                             "the venv benchmarks/.peers-venv/main, made when missing)")
    parser.add_argument("--dagster-python", metavar="PATH",
                        help="a python with dagster (default: benchmarks/.peers-venv/dagster)")
    parser.add_argument("--rounds", type=int, help="rounds of the container cases (3)")
    parser.add_argument("--python-rounds", type=int, help="rounds of the in-process cases (5)")
    parser.add_argument("--fan-nodes", type=int, help="nodes of the container fan-out (64)")
    parser.add_argument("--python-nodes", type=int, help="in-process nodes (1000)")
    parser.add_argument("--json", metavar="FILE", help="also write every sample here")
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    quick = args.quick
    args.rounds = args.rounds or (2 if quick else 3)
    args.python_rounds = args.python_rounds or (2 if quick else 5)
    args.fan_nodes = args.fan_nodes or (16 if quick else 64)
    args.python_nodes = args.python_nodes or (200 if quick else 1000)
    args.container_budget = 30.0 if quick else 150.0
    args.python_budget = 15.0 if quick else 100.0
    args.only = {c.strip() for c in args.only.split(",") if c.strip()}

    began = time.time()
    load0 = os.getloadavg()
    peers = Peers()
    ensure_group(peers, "main", args.peers_python)
    ensure_group(peers, "dagster", args.dagster_python)
    if "dagster" in peers.missing and args.peers_python and not args.dagster_python:
        peers.missing.pop("dagster")
        ensure_group(peers, "dagster", args.peers_python)

    import docker

    from containerdag_widgets import Graph, Registry

    engine = docker.from_env().version().get("Version", "?")
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    os.environ["CONTAINERDAG_CACHE_DIR"] = str(work / "containerdag-cache")
    stack: list[PeerWorker] = []
    cases: list[Case] = []
    try:
        with Registry.from_docker(images=IMAGES) as reg:
            for tool in ("cwltool", "toil-cwl-runner"):  # their files into the page cache
                if peers.python.get("main"):
                    subprocess.run([str(peers.bin("main", tool)), "--version"],
                                   capture_output=True, env=peer_env())
            subprocess.run(cli() + ["list"], capture_output=True)
            for case in container_cases(args, peers, work, reg, Graph):
                run_case(case)
                cases.append(case)
        for case in in_process_cases(args, peers, work, stack):
            run_case(case)
            cases.append(case)
    finally:
        for w in stack:
            w.close()
        shutil.rmtree(work, ignore_errors=True)
    all_rows = [row for case in cases for row in rows(case)]
    took = time.time() - began
    load1 = os.getloadavg()
    print(f"bench_peers: {machine()}, Docker Engine {engine}; "
          f"{time.strftime('%Y-%m-%d', time.gmtime(began))}; {took / 60:.1f} min; load average "
          f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end")
    print("peers: " + ", ".join(f"{k} {v}" for k, v in sorted(peers.versions.items())))
    for note in peers.notes:
        print(f"note: {note}")
    print("wall seconds: median (min-max, n rounds); toolkit / peer: ratio of the medians "
          "(range of the per-round ratios); < 1: the toolkit is faster\n")
    print(table(all_rows))
    if any(case.key == "rerun" for case in cases):
        print("\n" + NOTE_1)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": machine(), "engine": engine, "peers": peers.versions,
            "notes": peers.notes, "minutes": took / 60, "rows": all_rows}, indent=1))
    failed = [r for r in all_rows if str(r["ratio"]).startswith("toolkit failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Moving a 100 MB file into and out of a call, against ``docker cp`` of the same file.

Both sides run in the same process against the same engine, samples interleaved:

- ``toolkit (runner)`` / ``toolkit (exec)``: the file transport of a container call
  (``docker/transfer.py``) in a hardened warm container of the test kit (read-only root,
  tmpfs ``/tmp``, no network), over the resident runner's stream or one exec per command.
  *In* is ``CallFiles.place`` (the file from the host into the call's directory); *out* is
  ``CallFiles.collect`` of the same 100 MB as an output (path checks, the bytes into the
  artifact store, hashed). The artifact store is emptied between samples (untimed).
- ``docker cp``: the Docker CLI copying the same file into a plain container of the same
  image (``docker cp FILE CID:/data/``, writable root: ``docker cp`` cannot write into a
  tmpfs or a read-only root) and back out into a fresh host directory.

Throughput is 100 MB / median seconds; the ratio is toolkit over ``docker cp`` (target
>= 0.8x each way). A measurement, not a test: exit code 0 whether or not a target is met, 1
only on an error.

    .venv/bin/python benchmarks/bench_files.py [--samples 7] [--mb 100] [--json]

``--pipeline`` (issue 22, real data sizes) measures a whole graph instead: a file of ``--gib``
GiB (default 2) made by ``file_make``, passed through ``file_pass`` and hashed by ``file_hash``
(three calls of the test kit, files on disk in the work area), ``cache=False``, against
``dd`` + ``cp`` + ``sha256sum`` on the same file system in the same run (target: at most 1.3x
their wall time) and against ``cwltool`` running the same three steps as a CWL workflow
(``dd``/``cp``/``sha256sum`` in ``debian:bookworm-slim``; the ratio is reported). Samples of
the three sides alternate (``--samples``, default 3). Then, each in a fresh subprocess: the
peak RSS of a process doing only the toolkit run (target < 300 MB), the same graph with
``CONTAINERDAG_WORK_AREA=stream`` and on a ``DaskExecutor`` with two local worker processes.

    .venv/bin/python benchmarks/bench_files.py --pipeline [--gib 2] [--samples 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from containerdag_widgets import File, Graph, Ref, Registry
from containerdag_widgets.docker.settings import ContainerSettings

TESTKIT = "containerdag/testkit:latest"
TARGET = 0.8


def toolkit(runner: bool) -> Registry:
    """The test kit with room for the file in its tmpfs, on one transport."""
    os.environ["CONTAINERDAG_RUNNER"] = "1" if runner else "0"
    try:
        return Registry.from_docker(images=[TESTKIT], settings=ContainerSettings(
            tmp_size="512m", mem_limit="2g"))
    finally:
        del os.environ["CONTAINERDAG_RUNNER"]


def transport_sample(reg: Registry, source: File, store_root: str) -> tuple[float, float]:
    """(seconds in, seconds out) of one file through the toolkit's transport."""
    proc = reg.get("file_copy")

    files = proc.call_files()
    try:
        t0 = time.perf_counter()
        placed = files.place({"data": source})["data"]["$file"]
        t1 = time.perf_counter()
        moved = f"{files.out}/{source.name}"
        done = proc.pool.exec(proc.image_id, proc.image, ["mv", "--", placed, moved], b"",
                              process=proc.name)
        assert done.exit_code == 0, done.stderr
        t2 = time.perf_counter()
        out = files.collect({"copy": {"$file": moved}})["copy"]
        t3 = time.perf_counter()
        assert out.size == source.size and out.sha256 == source.sha256, "bytes changed"
    finally:
        files.remove()
        shutil.rmtree(store_root, ignore_errors=True)
    return t1 - t0, t3 - t2


def docker_cp_sample(cid: str, source: File) -> tuple[float, float]:
    """(seconds in, seconds out) of ``docker cp`` of the same file."""
    back = tempfile.mkdtemp(prefix="bench-files-cp-")
    try:
        t0 = time.perf_counter()
        subprocess.run(["docker", "cp", str(source.path), f"{cid}:/data/"], check=True)
        t1 = time.perf_counter()
        subprocess.run(["docker", "cp", f"{cid}:/data/{source.name}", back], check=True)
        t2 = time.perf_counter()
        assert os.path.getsize(os.path.join(back, source.name)) == source.size
    finally:
        shutil.rmtree(back, ignore_errors=True)
    return t1 - t0, t2 - t1


# ---- --pipeline: a 2 GiB file through three calls (issue 22) --------------------------------

MiB = 2**20
GiB = 2**30
PIPELINE_TARGET = 1.3  # toolkit wall / (dd + cp + sha256sum) wall
RSS_TARGET_MB = 300
PROBES = ("disk", "stream", "dask")
BASE_IMAGE = "debian:bookworm-slim"
PEERS_VENV = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".peers-venv")
BASELINE = "dd + cp + sha256sum"


def three_steps(size: int) -> Graph:
    graph = Graph()
    graph.add("make", "file_make", {"size": size, "name": "big.bin"})
    graph.add("pass", "file_pass", {"data": Ref("make", "made")})
    graph.add("hash", "file_hash", {"data": Ref("pass", "passed")})
    return graph


def toolkit_sample(reg: Registry, size: int, **options: object) -> dict:
    """One uncached run of make -> pass -> hash, checked; its wall seconds and each node's
    seconds (the run's own start-to-finish times). The store is emptied after (untimed)."""
    from containerdag_widgets.cache.artifacts import ArtifactStore

    graph = three_steps(size)
    try:
        t0 = time.perf_counter()
        result = graph.run(reg, cache=False, timeout=1800, **options)
        wall = time.perf_counter() - t0
        result.raise_for_status()
        made, passed = result.outputs["make"]["made"], result.outputs["pass"]["passed"]
        assert made.size == passed.size == result.outputs["hash"]["size"] == size
        assert made.sha256 == passed.sha256 == result.outputs["hash"]["sha256"], "bytes changed"
    finally:
        shutil.rmtree(ArtifactStore().root, ignore_errors=True)
    return {"wall": wall, "steps": {n: b - a for n, (a, b) in result.times.items()}}


def baseline_sample(where: str, size: int) -> dict:
    """``dd``, ``cp`` and ``sha256sum`` of the same size in ``where``, each timed."""
    os.mkdir(where)
    a, b = os.path.join(where, "a"), os.path.join(where, "b")
    steps = {"dd": ["dd", "if=/dev/zero", f"of={a}", "bs=1M", f"count={size // MiB}",
                    "status=none"],
             "cp": ["cp", a, b],
             "sha256sum": ["sha256sum", b]}
    took = {}
    try:
        for step, argv in steps.items():
            t0 = time.perf_counter()
            done = subprocess.run(argv, check=True, capture_output=True, text=True)
            took[step] = time.perf_counter() - t0
        assert os.path.getsize(b) == size and len(done.stdout.split()[0]) == 64
        wall = sum(took.values())
        # A reference, not part of the baseline: the same hash by OpenSSL (SHA-NI where the
        # CPU has it), which coreutils' sha256sum may not use.
        t0 = time.perf_counter()
        check = subprocess.run(["openssl", "dgst", "-sha256", "-r", b], capture_output=True,
                               text=True)
        if check.returncode == 0:
            assert check.stdout.split()[0] == done.stdout.split()[0]
            took["openssl dgst (ref.)"] = time.perf_counter() - t0
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return {"wall": wall, "steps": took}


def write_cwl(where: str, size: int) -> str:
    """Three CommandLineTools (dd, cp, sha256sum in ``debian:bookworm-slim``) and the workflow
    chaining them, in ``where``; CWL is YAML, and JSON is YAML."""
    docker = {"DockerRequirement": {"dockerPull": BASE_IMAGE}}
    tool = {"cwlVersion": "v1.2", "class": "CommandLineTool", "requirements": docker}
    data = {"data": {"type": "File", "inputBinding": {"position": 1}}}
    files = {
        "make.cwl": {**tool, "baseCommand": ["dd", "if=/dev/zero", "of=a", "bs=1M",
                                             "status=none"],
                     "inputs": {"count": {"type": "int", "inputBinding": {
                         "prefix": "count=", "separate": False}}},
                     "outputs": {"made": {"type": "File", "outputBinding": {"glob": "a"}}}},
        "pass.cwl": {**tool, "baseCommand": ["cp"], "inputs": data,
                     "arguments": [{"valueFrom": "b", "position": 2}],
                     "outputs": {"passed": {"type": "File", "outputBinding": {"glob": "b"}}}},
        "hash.cwl": {**tool, "baseCommand": ["sha256sum"], "inputs": data,
                     "stdout": "sha256.txt", "outputs": {"digest": {"type": "stdout"}}},
        "pipeline.cwl": {
            "cwlVersion": "v1.2", "class": "Workflow", "inputs": {"count": "int"},
            "outputs": {"made": {"type": "File", "outputSource": "make/made"},
                        "passed": {"type": "File", "outputSource": "pass/passed"},
                        "digest": {"type": "File", "outputSource": "hash/digest"}},
            "steps": {"make": {"run": "make.cwl", "in": {"count": "count"}, "out": ["made"]},
                      "pass": {"run": "pass.cwl", "in": {"data": "make/made"},
                               "out": ["passed"]},
                      "hash": {"run": "hash.cwl", "in": {"data": "pass/passed"},
                               "out": ["digest"]}}},
        "job.json": {"count": size // MiB},
        "warm.json": {"count": 1},
    }
    os.mkdir(where)
    for name, content in files.items():
        with open(os.path.join(where, name), "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=1)
    return where


def find_cwltool() -> str | None:
    """``cwltool`` of the peers' venv (``bench_peers.py`` makes it): ``.peers-venv/bin`` or
    ``.peers-venv/*/bin``; None when there is none."""
    import glob

    for found in [os.path.join(PEERS_VENV, "bin", "cwltool"),
                  *sorted(glob.glob(os.path.join(PEERS_VENV, "*", "bin", "cwltool")))]:
        if os.access(found, os.X_OK):
            return found
    return None


def cwltool_sample(cwltool: str, cwl: str, where: str, size: int,
                   job: str = "job.json") -> dict:
    """``cwltool`` (Docker, its defaults) running the workflow, timed from its start to its
    exit; its outputs and temporary directories in ``where``, removed after."""
    os.mkdir(where)
    argv = [cwltool, "--quiet", "--outdir", os.path.join(where, "out"),
            "--tmpdir-prefix", os.path.join(where, "tmp-"),
            "--tmp-outdir-prefix", os.path.join(where, "outtmp-"),
            os.path.join(cwl, "pipeline.cwl"), os.path.join(cwl, job)]
    try:
        t0 = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"cwltool exited {done.returncode}: {done.stderr[-2000:]}")
        outputs = json.loads(done.stdout)
        assert outputs["passed"]["size"] == size, outputs
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return {"wall": wall}


class AnonPeak:
    """The largest ``RssAnon`` of this process (KiB) while inside, sampled every 20 ms: the
    peak RSS less the pages of mapped files (a file mapped to be sent counts in the RSS)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _sample(self) -> None:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("RssAnon:"):
                    self.peak = max(self.peak, int(line.split()[1]))

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def __enter__(self) -> AnonPeak:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def probe(kind: str, size: int) -> int:
    """In a fresh process: a warm-up run (1 MiB), then one timed run of the three steps (disk:
    the default; stream: ``CONTAINERDAG_WORK_AREA=stream``; dask: a ``DaskExecutor`` on a
    ``LocalCluster`` of 2 worker processes x 1 thread). One JSON line: wall seconds, each
    node's seconds, this process's peak RSS (and, on Dask, the largest worker's), the
    containers left."""
    import docker

    from containerdag_widgets.cache.paths import cache_root
    from containerdag_widgets.docker import leftovers

    if kind == "stream":
        os.environ["CONTAINERDAG_WORK_AREA"] = "stream"
    options: dict[str, object] = {}
    cluster = client = executor = None
    found: dict[str, object] = {"kind": kind}
    if kind == "dask":
        import logging

        import distributed

        from containerdag_widgets.executors import DaskExecutor

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.CRITICAL, local_directory=str(cache_root() / "dask"))
        client = distributed.Client(cluster, set_as_default=False)
        client.wait_for_workers(2, timeout=120)
        executor = DaskExecutor(client)
        options["executor"] = executor
    reg = Registry.from_docker(images=[TESTKIT])
    engine = docker.from_env()
    left: list[str] = []
    try:
        toolkit_sample(reg, MiB, **options)  # the warm containers started
        with AnonPeak() as anon:
            found.update(toolkit_sample(reg, size, **options))
        found["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        found["anon_mb"] = anon.peak / 1024
    finally:
        if executor is not None:
            workers = set(client.scheduler_info()["workers"])
            executor.close()
            from containerdag_widgets.docker.worker import LABEL_WORKER
            left += [c["Names"][0] for c in engine.api.containers(
                all=True, filters={"label": LABEL_WORKER})
                if c["Labels"].get(LABEL_WORKER) in workers]
            client.close()
            cluster.close()
            found["worker_rss_mb"] = (
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        reg.close()
        left += [item.name for item in leftovers(engine, reg.session)]
    found["left"] = left
    print(json.dumps(found))
    return 0


def run_probe(kind: str, gib: float) -> dict:
    """``probe(kind)`` in a fresh interpreter (so nothing earlier in this one counts)."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe", kind,
                           "--gib", str(gib)], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0 or not done.stdout.strip():
        return {"kind": kind, "error": f"exit {done.returncode}: {done.stderr[-1500:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cwltool_leftovers(before: set[str], work: str) -> list[str]:
    """Containers made since ``before`` that bind a path of ``work`` (cwltool's; other images
    may share ``debian:bookworm-slim``'s id, so the image alone does not tell)."""
    now = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True,
                         text=True).stdout.split()
    new = sorted(set(now) - before)
    if not new:
        return []
    seen = subprocess.run(["docker", "inspect", *new], capture_output=True, text=True)
    found = json.loads(seen.stdout or "[]")
    return [c["Name"].lstrip("/") for c in found
            if any(str(m.get("Source", "")).startswith(work) for m in c.get("Mounts", []))]


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def pipeline(args: argparse.Namespace) -> int:
    from containerdag_widgets.cache.paths import cache_root

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleaned up as on an error
    size = max(1, round(args.gib * 1024)) * MiB
    gib = size / GiB
    # The toolkit's cache directory's file system (before it is pointed elsewhere): the
    # store, the work areas, the baseline's and cwltool's files all live there.
    base = cache_root().parent
    base.mkdir(parents=True, exist_ok=True)
    work = tempfile.mkdtemp(prefix="bench-files-pipeline-", dir=base)
    free = shutil.disk_usage(work).free
    if free < 3 * size + GiB:
        shutil.rmtree(work, ignore_errors=True)
        print(f"not enough space in {base}: {free} bytes free, about {3 * size + GiB} needed")
        return 1
    os.environ["CONTAINERDAG_CACHE_DIR"] = os.path.join(work, "cache")
    cwl = None
    note = []
    cwltool = args.cwltool or find_cwltool()
    if args.no_cwltool:
        note.append("cwltool: skipped (--no-cwltool)")
    elif cwltool is None or not os.access(cwltool, os.X_OK):
        note.append(f"cwltool: not measured, no cwltool in {PEERS_VENV} (bench_peers.py makes "
                    "that venv; or give --cwltool PATH)")
    else:
        cwl = write_cwl(os.path.join(work, "cwl"), size)
    sides = ["toolkit", BASELINE] + (["cwltool"] if cwl else [])
    samples: dict[str, list[dict]] = {side: [] for side in sides}
    load = [os.getloadavg()]
    before = set(subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True,
                                text=True).stdout.split())
    reg = None
    probes: dict[str, dict] = {}
    try:
        reg = Registry.from_docker(images=[TESTKIT])
        toolkit_sample(reg, MiB)  # warm-ups: the warm container, the CLIs' first start
        baseline_sample(os.path.join(work, "warm"), MiB)
        if cwl:
            cwltool_sample(cwltool, cwl, os.path.join(work, "warm"), MiB, "warm.json")
        for n in range(args.samples):
            for side in sides[n % len(sides):] + sides[:n % len(sides)]:
                os.sync()  # the last sample's writes on disk, for either side (untimed)
                where = os.path.join(work, f"sample-{n}")
                if side == "toolkit":
                    took = toolkit_sample(reg, size)
                elif side == BASELINE:
                    took = baseline_sample(where, size)
                else:
                    try:
                        took = cwltool_sample(cwltool, cwl, where, size)
                    except (OSError, RuntimeError) as exc:  # e.g. its venv remade meanwhile
                        note.append(f"cwltool sample {n + 1} failed: {exc}")
                        continue
                samples[side].append(took)
                if not args.json:
                    print(f"  sample {n + 1} {side}: {took['wall']:.2f} s", file=sys.stderr)
        reg.close()
        reg = None
        load.append(os.getloadavg())
        for kind in ("disk", "stream", "dask"):
            if (kind == "stream" and args.no_stream) or (kind == "dask" and args.no_dask):
                continue
            os.sync()
            probes[kind] = run_probe(kind, gib)
            if not args.json:
                shown = probes[kind].get("wall", probes[kind].get("error"))
                print(f"  probe {kind}: {shown}", file=sys.stderr)
    finally:
        if reg is not None:
            reg.close()
        shutil.rmtree(work, ignore_errors=True)
    load.append(os.getloadavg())
    left = cwltool_leftovers(before, work)
    for found in probes.values():
        left += found.get("left", [])

    sides = [side for side in sides if samples[side]]
    cwl = cwl if "cwltool" in sides else None
    medians = {side: statistics.median(s["wall"] for s in samples[side]) for side in sides}
    steps = {side: {step: statistics.median(s["steps"][step] for s in samples[side])
                    for step in samples[side][0].get("steps", {})} for side in sides}
    base_wall = medians[BASELINE]
    reference = [s["steps"]["dd"] + s["steps"]["cp"] + s["steps"]["openssl dgst (ref.)"]
                 for s in samples[BASELINE] if "openssl dgst (ref.)" in s["steps"]]
    openssl = statistics.median(reference) if reference else None
    report = {
        "gib": gib, "samples": args.samples, "work_dir_parent": str(base),
        "load_average": load,
        "medians_s": medians,
        "walls_s": {side: [s["wall"] for s in samples[side]] for side in sides},
        "step_medians_s": steps,
        "ratio_vs_baseline": medians["toolkit"] / base_wall,
        "ratio_vs_cwltool": medians["toolkit"] / medians["cwltool"] if cwl else None,
        "ratio_vs_dd_cp_openssl": medians["toolkit"] / openssl if openssl else None,
        "probes": probes, "left": left, "notes": note,
    }
    disk = probes.get("disk", {})
    report["targets_met"] = {
        f"toolkit <= {PIPELINE_TARGET}x {BASELINE}": report["ratio_vs_baseline"]
        <= PIPELINE_TARGET,
        f"peak RSS < {RSS_TARGET_MB} MB": ("rss_mb" in disk
                                           and disk["rss_mb"] < RSS_TARGET_MB)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{gib:g} GiB: make -> pass -> hash, {args.samples} samples per side, "
          f"files under {base}; load average {load[0][0]:.2f} at start, "
          f"{load[-1][0]:.2f} at end")
    print(f"{'side':22} {'median s':>9} {'spread s':>12} {'vs baseline':>12}  steps (medians, s)")
    for side in sides:
        ratio = "" if side == BASELINE else f"{medians[side] / base_wall:.2f}x"
        shown = ", ".join(f"{k} {v:.2f}" for k, v in steps[side].items())
        print(f"{side:22} {medians[side]:9.2f} "
              f"{spread([s['wall'] for s in samples[side]]):>12} {ratio:>12}  {shown}")
    for kind, found in probes.items():
        label = {"disk": "toolkit (fresh process)", "stream": "toolkit, stream",
                 "dask": "toolkit on Dask (2 w.)"}[kind]
        if "error" in found:
            print(f"{label:22} failed: {found['error'].strip().splitlines()[-1]}")
            continue
        shown = ", ".join(f"{k} {v:.2f}" for k, v in found["steps"].items())
        rss = f"peak RSS {found['rss_mb']:.0f} MB (anonymous {found['anon_mb']:.0f} MB)"
        if "worker_rss_mb" in found:
            rss += f" (largest worker {found['worker_rss_mb']:.0f} MB)"
        print(f"{label:22} {found['wall']:9.2f} {'1 run':>12} "
              f"{found['wall'] / base_wall:11.2f}x  {shown}; {rss}")
    verdict = "MET" if report["targets_met"][f"toolkit <= {PIPELINE_TARGET}x {BASELINE}"] \
        else "MISSED"
    print(f"toolkit / {BASELINE}: {report['ratio_vs_baseline']:.2f}x "
          f"(target <= {PIPELINE_TARGET}x): {verdict}")
    if openssl:
        print(f"toolkit / dd + cp + openssl dgst -sha256 (a reference, {openssl:.2f} s): "
              f"{report['ratio_vs_dd_cp_openssl']:.2f}x")
    if cwl:
        print(f"toolkit / cwltool: {report['ratio_vs_cwltool']:.2f}x")
    if "rss_mb" in disk:
        met = "MET" if disk["rss_mb"] < RSS_TARGET_MB else "MISSED"
        print(f"peak RSS of the calling process (toolkit run only): {disk['rss_mb']:.0f} MB "
              f"(target < {RSS_TARGET_MB} MB): {met}; anonymous memory at most "
              f"{disk['anon_mb']:.0f} MB during the run")
    for line in note:
        print(line)
    print("containers left: " + (", ".join(left) if left else "none"))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=None,
                        help="samples per side (default 7; 3 with --pipeline)")
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--pipeline", action="store_true",
                        help="make -> pass -> hash of a --gib GiB file against dd + cp + "
                             "sha256sum and cwltool (default samples: 3)")
    parser.add_argument("--gib", type=float, default=2.0, help="--pipeline: file size, GiB")
    parser.add_argument("--no-cwltool", action="store_true", help="--pipeline: skip cwltool")
    parser.add_argument("--cwltool", metavar="PATH",
                        help="--pipeline: this cwltool (default: benchmarks/.peers-venv's)")
    parser.add_argument("--no-dask", action="store_true", help="--pipeline: skip the Dask run")
    parser.add_argument("--no-stream", action="store_true",
                        help="--pipeline: skip the CONTAINERDAG_WORK_AREA=stream run")
    parser.add_argument("--probe", choices=PROBES, help=argparse.SUPPRESS)  # a subprocess
    args = parser.parse_args()
    if args.samples is None:
        args.samples = 3 if args.pipeline else 7
    if args.probe:
        return probe(args.probe, int(args.gib * GiB))
    if args.pipeline:
        return pipeline(args)

    work = tempfile.mkdtemp(prefix="bench-files-")
    os.environ["CONTAINERDAG_CACHE_DIR"] = os.path.join(work, "cache")
    store_root = os.path.join(work, "cache", "artifacts")
    path = os.path.join(work, "payload.bin")
    with open(path, "wb") as handle:
        for _ in range(args.mb):
            handle.write(os.urandom(2**20))
    source = File(path)
    source.sha256  # noqa: B018 - hashed once, untimed
    regs = {"toolkit (runner)": toolkit(True), "toolkit (exec)": toolkit(False)}
    name = f"containerdag-bench-cp-{uuid.uuid4().hex[:8]}"
    cid = subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--network", "none",
                          "--entrypoint", "sleep", TESTKIT, "infinity"], check=True,
                         capture_output=True, text=True).stdout.strip()
    subprocess.run(["docker", "exec", cid, "mkdir", "-p", "/data"], check=True)
    times: dict[str, dict[str, list[float]]] = {
        v: {"in": [], "out": []} for v in (*regs, "docker cp")}
    try:
        for reg in regs.values():  # warm-up: containers and runners started
            transport_sample(reg, source, store_root)
        docker_cp_sample(cid, source)
        for sample in range(args.samples):
            order = [*regs, "docker cp"]
            order = order[sample % len(order):] + order[:sample % len(order)]
            for variant in order:
                if variant == "docker cp":
                    took = docker_cp_sample(cid, source)
                else:
                    took = transport_sample(regs[variant], source, store_root)
                times[variant]["in"].append(took[0])
                times[variant]["out"].append(took[1])
    finally:
        for reg in regs.values():
            reg.close()
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    medians = {v: {d: statistics.median(s) for d, s in ds.items()} for v, ds in times.items()}
    base = medians["docker cp"]
    report = {"mb": args.mb, "samples": args.samples, "medians_s": medians,
              "mb_per_s": {v: {d: args.mb / s for d, s in m.items()} for v, m in medians.items()},
              "ratio_vs_docker_cp": {v: {d: base[d] / m[d] for d in m} for v, m in
                                     medians.items() if v != "docker cp"}}
    report["targets_met"] = {f"{v} {d}": r >= TARGET for v, rs in
                             report["ratio_vs_docker_cp"].items() for d, r in rs.items()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.mb} MB file, {args.samples} samples, medians")
    print(f"{'variant':18} {'in s':>7} {'in MB/s':>8} {'out s':>7} {'out MB/s':>8}  ratio in/out")
    for variant, m in medians.items():
        ratio = ("" if variant == "docker cp" else
                 "{:.2f}x / {:.2f}x".format(*report["ratio_vs_docker_cp"][variant].values()))
        print(f"{variant:18} {m['in']:7.3f} {args.mb / m['in']:8.0f} {m['out']:7.3f} "
              f"{args.mb / m['out']:8.0f}  {ratio}")
    for what, met in report["targets_met"].items():
        print(f"{what} >= {TARGET}x docker cp: {'MET' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

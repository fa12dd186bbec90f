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
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from containerdag_widgets import File, Registry
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

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

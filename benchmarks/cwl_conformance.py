#!/usr/bin/env python3
"""CWL v1.2 conformance: `containerdag cwl-runner` beside `cwltool`, in the same run.

Runs the conformance tests tagged both `required` and `command_line_tool` (the 66 listed in
`../shared/cwl-v1.2/required_command_line_tool.yaml`) with cwltest, once against
`containerdag cwl-runner` (jobs in the toolkit's warm containers) and once against `cwltool`
(its own `docker run` per job), and prints passed/total for both and, for each runner, which
tests fail and why (cwltest's reason).

    .venv/bin/python benchmarks/cwl_conformance.py [--suite DIR] [-j 2] [--json]
                                                   [--only containerdag|cwltool]

The images the tests name are made first, locally (no registry is needed): `debian:bookworm-
slim` tagged `debian:stable-slim` and `bash:4.4`, and `python:3-slim` built from it with
Debian's `python3` and `python-is-python3` (benchmarks/cwl_images/python3-slim; the tests
call `python`). Both runners see the same images.

A measurement, not a test: exit code 0 whether or not the target is met (containerdag passes
at least as many as cwltool), 1 when something errored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = (ROOT / ".." / "shared" / "cwl-v1.2").resolve()
TESTS = "required_command_line_tool.yaml"
BASE = "debian:bookworm-slim"
#: What each image the tests name is made from: a tag of the base, or a build.
IMAGES = {
    "debian:stable-slim": ("tag", BASE),
    "bash:4.4": ("tag", BASE),
    "python:3-slim": ("build", str(ROOT / "benchmarks" / "cwl_images" / "python3-slim")),
}


def make_images() -> None:
    import docker
    import docker.errors

    client = docker.from_env()
    for tag, (how, what) in IMAGES.items():
        try:
            client.images.get(tag)
            continue
        except docker.errors.ImageNotFound:
            pass
        if how == "tag":
            client.images.get(what).tag(tag)
        else:
            print(f"[images] building {tag} from {what}", file=sys.stderr)
            client.images.build(path=what, tag=tag, rm=True)
        print(f"[images] {tag}: made ({how} {what})", file=sys.stderr)


def runner_script(where: Path) -> Path:
    """An executable `containerdag-cwl-runner` for cwltest (--tool takes one program)."""
    script = where / "containerdag-cwl-runner"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m containerdag_widgets.cli "
                      "cwl-runner \"$@\"\n")
    script.chmod(0o755)
    return script


def run_cwltest(tool: str, suite: Path, jobs: int, junit: Path) -> tuple[int, float]:
    cwltest = shutil.which("cwltest", path=str(Path(sys.executable).parent)) or "cwltest"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    started = time.monotonic()
    done = subprocess.run([cwltest, "--test", str(suite / TESTS), "--tool", tool,
                           "-j", str(jobs), "--junit-xml", str(junit), "--timeout", "300"],
                          cwd=suite, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    (junit.with_suffix(".log")).write_text(done.stdout)
    return done.returncode, time.monotonic() - started


def results(junit: Path) -> tuple[int, int, dict[str, str]]:
    """(passed, total, {failed test: why}) from cwltest's JUnit XML."""
    tree = ET.parse(junit)
    failed: dict[str, str] = {}
    total = 0
    for case in tree.iter("testcase"):
        total += 1
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                why = (found.get("message") or found.text or tag).strip()
                failed[case.get("name") or "?"] = _short(why)
                break
    return total - len(failed), total, failed


def _short(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if any(w in line.lower() for w in (
        "error", "fail", "unsupported", "not ", "expected", "exception", "compare"))]
    said = " | ".join((keep or lines)[-3:])
    return said[:limit] + ("..." if len(said) > limit else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("-j", type=int, default=2, help="tests at once (cwltest -j)")
    parser.add_argument("--only", choices=("containerdag", "cwltool"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    make_images()
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cwl-conformance-") as tmp:
        where = Path(tmp)
        runners = {"containerdag": str(runner_script(where)),
                   "cwltool": str(Path(sys.executable).parent / "cwltool")}
        for name, tool in runners.items():
            if args.only and name != args.only:
                continue
            junit = where / f"{name}.xml"
            code, seconds = run_cwltest(tool, args.suite, args.j, junit)
            if not junit.exists():
                print(f"{name}: cwltest wrote no report (exit {code}):\n"
                      f"{junit.with_suffix('.log').read_text()[-3000:]}", file=sys.stderr)
                return 1
            passed, total, failed = results(junit)
            report[name] = {"passed": passed, "total": total, "failed": failed,
                            "seconds": round(seconds, 1)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for name, row in report.items():
        print(f"{name:<13} {row['passed']}/{row['total']} passed  ({row['seconds']} s)")
    for name, row in report.items():
        for test, why in sorted(row["failed"].items()):
            print(f"  {name} fails {test}: {why}")
    if len(report) == 2:
        ours, theirs = report["containerdag"]["passed"], report["cwltool"]["passed"]
        print(f"target (containerdag passes at least as many as cwltool): "
              f"{'MET' if ours >= theirs else 'MISSED'} ({ours} vs {theirs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

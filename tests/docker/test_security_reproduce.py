"""``containerdag reproduce`` of rows it must not run as they are (issue 20), on the real engine.

A node with a file input is refused, named with its port (it was a raw ``TypeError``). A
history row edited to run something else (a tag, another image's ID, an argv with docker flags
or another command) is refused before anything runs: the image must be the node's recorded
image ID, and the argv the one its label gives for the process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from containerdag_widgets import File, Graph
from containerdag_widgets.cache.paths import database_path

from ..conftest import TESTKIT
from ..engine_scope import ScopedEngine

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "containerdag_widgets.cli"]


def _cli(*args: str, cwd: Path | None = None,
         docker_host: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=cwd)


def test_reproduce_of_a_node_with_a_file_input_names_the_node_and_port(registry, tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"abc")
    graph = Graph.from_spec({"copy": {"process": "file_copy",
                                      "inputs": {"data": File(data), "name": "c.bin"}}})
    result = graph.run(registry)
    assert result.status == {"copy": "done"}
    for extra in ((), ("--print",)):
        said = _cli("reproduce", str(result.run_id), "copy", *extra, cwd=tmp_path)
        assert said.returncode == 2, said.stderr
        assert "Traceback" not in said.stderr and "TypeError" not in said.stderr
        assert "node 'copy'" in said.stderr and "input 'data' is a file" in said.stderr


def _edit(run_id: int, node: str, **changes) -> None:
    with sqlite3.connect(database_path()) as db:
        (parts, image_id), = db.execute(
            "SELECT key_parts, image_id FROM node_runs WHERE run_id = ? AND node = ?",
            (run_id, node))
        parts = json.loads(parts)
        recorded = changes.pop("recorded_image", image_id)
        parts.update(changes)
        db.execute("UPDATE node_runs SET key_parts = ?, image_id = ? WHERE run_id = ? AND "
                   "node = ?", (json.dumps(parts), recorded, run_id, node))


def test_an_edited_history_row_is_refused_before_anything_runs(registry, docker_client,
                                                               tmp_path):
    result = Graph.from_spec({"ok": {"process": "c_multiply", "inputs": {"a": 3.0, "b": 4.0}},
                              "e": {"process": "echo", "inputs": {"text": "x"}}}).run(registry)
    run = str(result.run_id)
    testkit = docker_client.images.get(TESTKIT).id
    ok = _cli("reproduce", run, "ok")
    assert ok.returncode == 0 and json.loads(ok.stdout.splitlines()[-1]) == {"z": 12.0}
    # What a start shows through the proxy below (whose half-closed attach loses the output).
    with ScopedEngine(f"reproduce-ok-{os.getpid()}") as engine:
        _cli("reproduce", run, "ok", docker_host=engine.url)
    assert [r for r in engine.requests if "/containers/create" in r]
    cases = [
        ({"image_id": TESTKIT}, "is not an image ID"),  # a tag
        ({"image_id": testkit}, "is not the node's recorded image"),  # another image
        ({"image_id": testkit, "recorded_image": testkit},  # both: no such process label
         "declares no usable label process.c_multiply"),
        ({"argv": ["--privileged", "/app/c_multiply"]}, "is not the command image"),
        ({"argv": ["sh", "-c", "id"]}, "is not the command image"),
        ({"argv": "/bin/sh"}, "is not the command image"),
    ]
    for n, (changes, said) in enumerate(cases):
        result_again = Graph.from_spec(
            {"ok": {"process": "c_multiply", "inputs": {"a": 5.0 + n, "b": 4.0}}}).run(registry)
        again = str(result_again.run_id)
        _edit(result_again.run_id, "ok", **changes)
        for extra in ((), ("--print",)):
            # Through a proxy that records every request: another copy of the suite may
            # start reproductions of its own on the engine meanwhile.
            with ScopedEngine(f"reproduce-refused-{os.getpid()}") as engine:
                refused = _cli("reproduce", again, "ok", *extra, cwd=tmp_path,
                               docker_host=engine.url)
            assert refused.returncode == 2, (changes, refused.stdout, refused.stderr)
            assert said in refused.stderr and "node 'ok'" in refused.stderr, refused.stderr
            assert "Traceback" not in refused.stderr
            # Nothing was started for a refused row.
            assert not [r for r in engine.requests if "/containers/create" in r], changes


def test_reproduce_runs_as_the_warm_container_user(registry, tmp_path):
    result = Graph.from_spec({"p": {"process": "sandbox_probe",
                                    "inputs": {"address": "192.0.2.1"}}}).run(registry)
    said = _cli("reproduce", str(result.run_id), "p")
    assert said.returncode == 0, said.stderr
    out = json.loads(said.stdout.splitlines()[-1])
    assert out["uid"] == result.outputs["p"]["uid"] == 65534
    line = _cli("reproduce", str(result.run_id), "p", "--print",
                cwd=tmp_path).stdout.splitlines()[-1]
    assert "--user=65534:65534" in line


pytestmark = pytest.mark.docker

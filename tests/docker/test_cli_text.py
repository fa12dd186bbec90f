"""The command line's text output and refusals that nothing else reached: ``list``, ``run
--dry-run``, ``history``, ``cache info``, the ``reproduce`` refusals, and ``cleanup`` (through
a scoped engine: on the bare one it would remove other sessions' dead containers too)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from containerdag_widgets import Graph
from containerdag_widgets.cli.main import main
from containerdag_widgets.docker import leftovers
from containerdag_widgets.docker.pool import LABEL_HOST, LABEL_MANAGED, LABEL_PID, LABEL_SESSION

from ..conftest import EXAMPLE_IMAGES, TESTKIT
from ..engine_scope import ScopedEngine
from ..processes import add

ROOT = Path(__file__).resolve().parents[2]
IMAGES = [arg for tag in EXAMPLE_IMAGES for arg in ("--image", tag)]


def test_list_prints_one_line_per_process(docker_client, capsys):
    assert main([*IMAGES, "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    by_name = {line.split()[0]: line for line in lines if line.strip()}
    assert {"python_add", "python_subtract", "c_multiply", "c_divide"} <= set(by_name)
    assert "containerdag/multiply_divide:latest" in by_name["c_divide"]
    assert by_name["c_divide"].endswith("Division. z = a / b")


def test_dry_run_says_what_would_run_and_runs_nothing(docker_client, tmp_path, capsys):
    spec = tmp_path / "g.yaml"
    spec.write_text("a: {process: python_add, inputs: {x: 1.0, y: 2.0}}\n"
                    "b: {process: c_divide, inputs: {a: {from: a, output: z}, b: 2.0}}\n")
    assert main([*IMAGES, "run", str(spec), "--dry-run"]) == 0
    table = [line.split()[:2] for line in capsys.readouterr().out.splitlines()]
    assert table == [["a", "run"], ["b", "depends"]], table  # b waits for a's output
    assert main([*IMAGES, "history"]) == 0  # nothing ran: no run recorded
    assert capsys.readouterr().out.splitlines()[1:] == []
    assert main([*IMAGES, "run", str(spec)]) == 0
    capsys.readouterr()
    assert main([*IMAGES, "run", str(spec), "--dry-run"]) == 0  # now both would be reused
    again = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in again] == [["a", "reuse"], ["b", "reuse"]], again
    assert all("cached: same image" in line for line in again), again


def test_history_and_cache_info_as_text(docker_client, tmp_path, capsys):
    spec = tmp_path / "g.yaml"
    spec.write_text("a: {process: python_add, inputs: {x: 1.0, y: 2.0}}\n")
    assert main([*IMAGES, "run", str(spec)]) == 0
    capsys.readouterr()
    assert main(["history"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["run", "started", "secs", "spec", "nodes"]
    assert len(rows) == 1 and rows[0].split()[0] == "1" and "done" in rows[0]
    assert main(["cache", "info"]) == 0
    info = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert info["results"] == "1" and info["runs"] == "1" and info["node_runs"] == "1"
    assert info["path"].endswith("containerdag.sqlite") and int(info["bytes"]) > 0
    assert info["artifacts"].endswith("bytes)")


def test_reproduce_refuses_what_it_cannot_replay(docker_client, tmp_path, capsys):
    from containerdag_widgets import Registry

    result = Graph.from_spec({"py": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}}).run(
        Registry([add]))
    assert result.ok
    capsys.readouterr()
    assert main(["reproduce", str(result.run_id), "nope"]) == 2
    err = capsys.readouterr().err
    assert f"run {result.run_id} has no node 'nope' (nodes: 'py')" in err
    assert main(["reproduce", str(result.run_id), "py"]) == 2
    err = capsys.readouterr().err
    assert "ran the Python function" in err and "replays container calls only" in err
    assert main(["reproduce", "999", "py"]) == 2
    assert "999" in capsys.readouterr().err


def test_cli_cleanup_removes_a_dead_owners_containers_and_keeps_live_ones(docker_client,
                                                                          tmp_path):
    session = f"cli-cleanup-{tmp_path.name[-6:]}-{id(tmp_path):x}"
    owner = subprocess.Popen(["sleep", "300"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    made = []
    try:
        for pid in (owner.pid, gone.pid):
            made.append(docker_client.containers.create(
                TESTKIT, ["sleep", "infinity"], network_mode="none",
                labels={LABEL_MANAGED: "1", LABEL_SESSION: session,
                        LABEL_HOST: socket.gethostname(), LABEL_PID: str(pid)}))
        with ScopedEngine(session) as engine:  # the CLI sees only this session's containers
            env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DOCKER_HOST": engine.url}
            done = subprocess.run([sys.executable, "-m", "containerdag_widgets.cli", "cleanup"],
                                  capture_output=True, text=True, env=env, timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.splitlines() == [
                f"removed {made[1].name} (session {session})", "1 container(s) removed"]
            assert any("/containers/json" in r for r in engine.requests)
        assert [x.id for x in leftovers(docker_client, session)] == [made[0].id]  # live: kept
    finally:
        owner.kill()
        owner.wait()
        for left in leftovers(docker_client, session):
            docker_client.api.remove_container(left.id, force=True)

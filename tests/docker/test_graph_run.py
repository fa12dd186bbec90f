import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from containerdag_widgets import (
    Cancelled,
    Graph,
    NodeStarted,
    OutputTooLarge,
    ProcessFailed,
    ProcessTimeout,
    ProtocolError,
    Registry,
    UpstreamFailed,
    process,
)
from containerdag_widgets.docker import cleanup, leftovers

from ..conftest import EXAMPLE_IMAGES, TESTKIT
from ..engine_scope import scoped_client
from ..seed import SEED_GRAPH

ROOT = Path(__file__).resolve().parents[2]

def add_seed_generators(registry):
    import random

    @process(outputs={"n": 0.5}, name="random float")
    def uniform(min: float = 0.0, max: float = 1.0):
        """A uniformly distributed random float."""
        return {"n": random.uniform(min, max)}

    @process(outputs={"choice": 1.0}, name="random choice")
    def choice(choices: list = [1, 2, 3, 4]):  # noqa: B006 - the example value
        """A random choice."""
        return {"choice": random.choice(choices)}

    registry.add(uniform)
    registry.add(choice)


def test_seed_graph_runs_unchanged_with_right_numbers(registry):
    add_seed_generators(registry)
    r = Graph.from_spec(SEED_GRAPH).run(registry)
    assert r.ok, r.table()
    alpha = r.outputs["node alpha"]["choice"]
    beta = r.outputs["node beta"]["n"]
    assert alpha in (1.2, 5.4, 6.7) and -5.0 <= beta <= 5.0
    a = alpha + 16.5
    b = a + beta
    assert r.outputs["node a"] == {"z": a}
    assert r.outputs["node b"] == {"z": b}
    assert r.outputs["node c"] == {"z": a / b}
    assert r.inputs["node c"] == {"a": a, "b": b}


def test_two_independent_slow_nodes_overlap(registry):
    started = {}

    def record(event):
        if isinstance(event, NodeStarted):
            started[event.node] = event.time

    # 3 s each: a loaded engine may start the second exec a second or more after the first.
    g = Graph.from_spec({n: {"process": "slow", "inputs": {"seconds": 3.0, "tag": n}}
                         for n in ("left", "right")})
    r = g.run(registry, max_workers=2,
              listeners=[record])
    assert r.ok
    # Inside the containers: each sleep began before the other one ended.
    left, right = r.outputs["left"], r.outputs["right"]
    assert left["started"] < right["finished"] and right["started"] < left["finished"]
    # And from the runner's events.
    assert started["right"] < r.times["left"][1] and started["left"] < r.times["right"][1]


def test_each_misbehaving_process_has_its_own_error_and_the_rest_finishes(registry):
    g = Graph.from_spec({
        "not json": {"process": "not_json", "inputs": {"x": 1.0}},
        "missing": {"process": "missing_output", "inputs": {"x": 1.0}},
        "exit 3": {"process": "exit_nonzero", "inputs": {"x": 1.0}},
        "hangs": {"process": "never_returns", "inputs": {"x": 1.0}, "timeout": 1.0},
        "huge": {"process": "huge_output", "inputs": {"x": 1.0}},
        "after hang": {"process": "python_add", "inputs": {"x": ("hangs", "z"), "y": 1.0}},
        "ok a": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}},
        "ok b": {"process": "c_multiply", "inputs": {"a": ("ok a", "z"), "b": 2.0}},
        "deaf": {"process": "ignores_stdin", "inputs": {"x": 1.0}},
    })
    r = g.run(registry, max_workers=4)
    expected = {
        "not json": ProtocolError, "missing": ProtocolError, "exit 3": ProcessFailed,
        "hangs": ProcessTimeout, "huge": OutputTooLarge, "after hang": UpstreamFailed,
    }
    for node, kind in expected.items():
        err = r.errors[node]
        assert type(err) is kind, (node, err)
        assert f"node {node!r}" in str(err) and g[node].process in str(err)
    assert "this is not json" in str(r.errors["not json"])
    assert "'w'" in str(r.errors["missing"])
    assert "exited with code 3" in str(r.errors["exit 3"])
    assert r.status["after hang"] == "skipped"
    assert r.outputs["ok b"] == {"z": 6.0}
    assert r.outputs["deaf"] == {"z": 1.0}
    assert "something went wrong" in r.logs["exit 3"]


def test_cancel_kills_running_calls_and_skips_the_rest(registry, docker_client):
    g = Graph.from_spec({
        "long 1": {"process": "slow", "inputs": {"seconds": 60.0, "tag": "1"}},
        "long 2": {"process": "slow", "inputs": {"seconds": 60.0, "tag": "2"}},
        "after": {"process": "echo", "inputs": {"text": ("long 1", "tag")}},
    })
    events = []
    handle = g.start(registry, max_workers=2, listeners=[events.append])
    container = None
    deadline = time.monotonic() + 120  # generous: a loaded machine
    while time.monotonic() < deadline:  # both calls running inside the container
        started = sum(isinstance(e, NodeStarted) for e in events)
        if started == 2 and container is None:  # (started: the container may come later)
            container = registry.sources[0].pool._containers.get(registry.get("slow").image_id)
        if container is not None and " ".join(
                " ".join(p) for p in container.top()["Processes"]).count("testkit.py slow") == 2:
            break
        time.sleep(0.05)
    else:
        handle.cancel()
        raise AssertionError(f"the two slow calls never ran at once; events: {events}")
    handle.cancel()
    r = handle.wait(60)
    assert r.status == {"long 1": "cancelled", "long 2": "cancelled", "after": "skipped"}
    assert isinstance(r.errors["long 1"], Cancelled)
    assert isinstance(r.errors["after"], Cancelled)
    container = registry.sources[0].pool._containers[registry.get("slow").image_id]
    procs = " ".join(" ".join(p) for p in container.top()["Processes"])
    assert "testkit.py slow" not in procs


def test_nothing_left_after_failed_run_and_close(docker_client):
    reg = Registry.from_docker(images=[*EXAMPLE_IMAGES, TESTKIT])
    g = Graph.from_spec({
        "bad": {"process": "exit_nonzero", "inputs": {"x": 1.0}},
        "good": {"process": "c_divide", "inputs": {"a": 1.0, "b": 2.0}},
    })
    r = g.run(reg)
    assert r.status == {"bad": "failed", "good": "done"}
    assert len(leftovers(docker_client, reg.session)) >= 2
    reg.close()
    assert leftovers(docker_client, reg.session) == []


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


#: The CLI's discovery, limited to the images these tests use (the engine may hold others).
CLI_IMAGES = [arg for tag in EXAMPLE_IMAGES for arg in ("--image", tag)]

START_AND_RUN = f"""
from containerdag_widgets import Registry
reg = Registry.from_docker(images={EXAMPLE_IMAGES!r})
reg.get("python_add").run({{"x": 1.0, "y": 2.0}})
reg.get("c_divide").run({{"a": 1.0, "b": 2.0}})
print(reg.session, flush=True)
"""


def test_interpreter_exit_without_close_removes_containers(docker_client):
    proc = _python(START_AND_RUN)
    assert proc.returncode == 0, proc.stderr
    assert leftovers(docker_client, proc.stdout.strip()) == []


def test_cleanup_finds_containers_of_a_crashed_session(docker_client):
    proc = _python(START_AND_RUN + "import os; os._exit(1)\n")  # no atexit, like a crash
    session = proc.stdout.strip()
    assert session, proc.stderr
    left = leftovers(docker_client, session)
    assert len(left) == 2 and not any(item.owner_alive for item in left)
    with scoped_client(session) as scoped:  # plain cleanup, blind to others' containers
        removed = cleanup(scoped)
    assert {item.id for item in removed} == {item.id for item in left}
    assert leftovers(docker_client, session) == []


def test_cleanup_keeps_containers_of_live_sessions(registry, docker_client):
    registry.get("python_add").run({"x": 1.0, "y": 1.0})
    before = leftovers(docker_client, registry.session)
    assert before
    with scoped_client(registry.session) as scoped:
        assert cleanup(scoped) == []
    assert leftovers(docker_client, registry.session) == before


def test_cli_run_prints_table_and_fails_on_failed_node(docker_client, tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text(
        "ok: {process: python_add, inputs: {x: 1.5, y: 2}}\n"
        "bad: {process: c_divide, inputs: {a: {from: ok, output: z}, b: 0.0}}\n"
    )
    cli = [sys.executable, "-m", "containerdag_widgets.cli", *CLI_IMAGES]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*cli, "run", str(spec)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "z=3.5" in proc.stdout
    assert "bad" in proc.stderr and "division by zero" in proc.stderr
    proc = subprocess.run([*cli, "run", str(spec), "--json"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    data = json.loads(proc.stdout)
    assert data["status"] == {"ok": "cached", "bad": "failed"}  # ok reused, bad re-run
    assert data["outputs"]["ok"] == {"z": 3.5}


def test_cli_seed_example_runs(docker_client):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "containerdag_widgets.cli", *CLI_IMAGES, "run",
         str(ROOT / "examples" / "seed_graph.yaml")],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for node in ("node alpha", "node beta", "node a", "node b", "node c"):
        assert node in proc.stdout


def test_cli_list_and_describe(docker_client):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "containerdag_widgets.cli", *CLI_IMAGES]
    out = subprocess.run([*cli, "list", "--json"], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    names = {p["name"] for p in json.loads(out)}
    assert {"python_add", "c_divide", "random float", "random choice"} <= names
    out = subprocess.run([*cli, "describe", "process.c_divide"], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout
    assert "Division. z = a / b" in out and "containerdag/multiply_divide" in out
    assert "keep-loaded server" not in out
    out = subprocess.run([*cli, "describe", "python_add"], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout
    assert "  keep-loaded server: python3 " in out and "asked for 'python_add'" in out
    assert "  command: python3 /app/add.py" in out
    bad = subprocess.run([*cli, "describe", "nope"], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "unknown process 'nope'" in bad.stderr


@pytest.fixture(autouse=True)
def _no_leftovers_of_this_process(docker_client):
    yield
    mine = [x for x in leftovers(docker_client) if x.pid == os.getpid()]
    live = {r.session for r in [Registry.current()] if r is not None}
    assert [x for x in mine if x.session not in live] == []


def test_engine_gone_mid_session_fails_nodes_by_name(docker_client, tmp_path):
    import docker

    from containerdag_widgets import EngineUnavailable

    with Registry.from_docker(images=EXAMPLE_IMAGES) as reg:
        add_seed_generators(reg)
        # From now on the backend talks to a socket where no engine answers.
        reg.sources[0].pool.client = docker.DockerClient(
            base_url=f"unix://{tmp_path}/gone.sock", version="1.41", timeout=5)
        r = Graph.from_spec(SEED_GRAPH).run(reg)
    assert r.status == {"node alpha": "done", "node beta": "done", "node a": "failed",
                        "node b": "skipped", "node c": "skipped"}
    err = r.errors["node a"]
    assert isinstance(err, EngineUnavailable)
    assert "node 'node a'" in str(err) and "python_add" in str(err)
    assert "node alpha" in r.outputs  # the others' results stay

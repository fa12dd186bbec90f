"""The result cache on the real engine: execs counted by the engine's own events."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import docker.errors
import pytest

from containerdag_widgets import Graph, Registry
from containerdag_widgets.cache import Store
from containerdag_widgets.random_values import random_choice, random_float

from ..conftest import EXAMPLE_IMAGES, RUN_TAG, TESTKIT
from ..seed import SEED_GRAPH

ROOT = Path(__file__).resolve().parents[2]


class ExecCounter:
    """Counts the execs the engine started in a registry's containers, from its events."""

    def __init__(self, client, session: str):
        self.client = client
        self.session = session
        self.since = time.time()

    def count(self) -> int:
        # The engine logs exec_start before the exec runs, so every call that returned is
        # in the log; a stream asked "until" a moment ahead closes at that moment.
        until = time.time() + 0.5
        ours = {c["Id"] for c in self.client.api.containers(
            all=True, filters={"label": f"containerdag.session={self.session}"})}
        events = self.client.events(since=self.since, until=until, decode=True,
                                    filters={"type": "container", "event": "exec_start"})
        found = sum(1 for e in events if e.get("id") in ours)
        self.since = until
        return found


@pytest.fixture(autouse=True)
def _one_exec_per_call(monkeypatch):
    """Calls take the exec path here, so the engine's exec events count them (through the
    resident runner a call is no exec)."""
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "0")


@pytest.fixture
def seed_registry(registry):
    registry.add(random_float)
    registry.add(random_choice)
    return registry


def test_the_seed_graph_twice_reuses_every_deterministic_node(seed_registry, docker_client):
    graph = Graph.from_spec(SEED_GRAPH)
    graph.run(seed_registry, cache=False)  # warm the containers; store nothing
    graph.set_input("node alpha", "choices", [5.4])  # deterministic from here on
    graph.set_input("node beta", "min", 1.0)
    graph.set_input("node beta", "max", 1.0)
    counter = ExecCounter(docker_client, seed_registry.session)
    first = graph.run(seed_registry)
    assert counter.count() == 3  # a, b and c: the random nodes are in-process
    second = graph.run(seed_registry)
    assert counter.count() == 0
    assert second.status == {"node alpha": "done", "node beta": "done", "node a": "cached",
                             "node b": "cached", "node c": "cached"}
    assert second.reasons["node alpha"] == "ran: not cacheable (random choice)"
    image_id = docker_client.images.get(EXAMPLE_IMAGES[0]).id
    assert second.reasons["node a"].startswith(
        f"cached: same image {image_id[:19]}, same inputs (from run {first.run_id}, ")
    assert second.outputs == first.outputs
    plan = graph.plan(seed_registry)
    assert plan["node a"].action == "depends"  # its input comes from a random node


def test_one_changed_literal_runs_exactly_that_node_and_what_it_changes(registry,
                                                                        docker_client):
    spec = {f"leaf {i}": {"process": "python_add", "inputs": {"x": float(i), "y": 1.0}}
            for i in range(6)}
    spec["sum"] = {"process": "python_add",
                   "inputs": {"x": ("leaf 0", "z"), "y": ("leaf 1", "z")}}
    spec["ratio"] = {"process": "c_divide", "inputs": {"a": ("sum", "z"), "b": 2.0}}
    graph = Graph.from_spec(spec)
    graph.run(registry)
    counter = ExecCounter(docker_client, registry.session)
    graph.set_input("leaf 5", "y", 2.0)  # read by nobody
    plan = graph.plan(registry)
    assert plan.nodes("run") == ["leaf 5"] and len(plan.nodes("reuse")) == 7
    result = graph.run(registry)
    assert counter.count() == 1
    assert [n for n, s in result.status.items() if s == "done"] == ["leaf 5"]
    assert result.reasons["leaf 5"] == "ran: input y changed 1.0 -> 2.0"
    graph.set_input("leaf 0", "x", 10.0)
    result = graph.run(registry)
    assert counter.count() == 3
    assert sorted(n for n, s in result.status.items() if s == "done") == [
        "leaf 0", "ratio", "sum"]
    assert result.reasons["sum"] == "ran: upstream node leaf 0 gave z=11.0 (was 1.0)"


def test_rebuilding_an_image_under_its_tag_reruns_its_nodes(docker_client, tmp_path):
    tag = f"containerdag/cache-rebuild-test:{RUN_TAG}"  # this run's
    dockerfile = tmp_path / "Dockerfile"

    def build(version: str) -> str:
        # This run's in its content too: the same steps give the same image ID in another
        # copy of the suite (the build cache), whose containers would hold it.
        dockerfile.write_text(f"FROM {TESTKIT}\nRUN echo {RUN_TAG}-{version} > /version\n")
        image, _ = docker_client.images.build(path=str(tmp_path), tag=tag, rm=True)
        return image.id

    old = build("1")
    graph = Graph.from_spec({"e": {"process": "echo", "inputs": {"text": "hi"}}})
    try:
        with Registry.from_docker(images=[tag]) as reg:
            assert graph.run(reg).status == {"e": "done"}
            assert graph.run(reg).status == {"e": "cached"}
        new = build("2")
        with Registry.from_docker(images=[tag]) as reg:
            result = graph.run(reg)
        assert result.status == {"e": "done"}
        assert result.reasons["e"] == (f"ran: image {tag} rebuilt ({old[:19]} -> {new[:19]})")
    finally:
        docker_client.images.remove(tag, force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(old, force=True)


RUN_GRAPH = """
import sys
from containerdag_widgets import Graph, Registry
reg = Registry.from_docker(images=sys.argv[1:2])
spec = {f"n{i}": {"process": "echo", "inputs": {"text": sys.argv[2] + str(i)}}
        for i in range(8)}
for _ in range(3):
    result = Graph.from_spec(spec).run(reg)
    assert result.ok, result.errors
print(result.run_id)
reg.close()
"""


def test_two_processes_on_one_database_lose_nothing(docker_client, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONTAINERDAG_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", RUN_GRAPH, TESTKIT, who],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for who in ("first", "second")]
    for proc in procs:
        assert proc.wait(180) == 0, proc.stderr.read()
        assert "Traceback" not in proc.stderr.read()
    with Store.open(tmp_path / "containerdag.sqlite") as store:
        runs = store.runs(limit=100)
        assert len(runs) == 6 and all(r.ended for r in runs)
        assert sorted(r.statuses.get("cached", 0) for r in runs) == [0, 0, 8, 8, 8, 8]
        assert store.info()["results"] == 16


def test_reproduce_gives_the_recorded_outputs_and_a_failure_again(registry, tmp_path):
    graph = Graph.from_spec({
        "ok": {"process": "c_multiply", "inputs": {"a": 3.0, "b": 4.0}},
        "bad": {"process": "exit_nonzero", "inputs": {"x": 1.0}},
    })
    result = graph.run(registry)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "containerdag_widgets.cli"]
    again = subprocess.run([*cli, "reproduce", str(result.run_id), "ok"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1]) == result.outputs["ok"]
    failed = subprocess.run([*cli, "reproduce", str(result.run_id), "bad"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 1
    assert "something went wrong: bad input" in failed.stderr and "exit code 3" in failed.stderr
    line = subprocess.run([*cli, "reproduce", str(result.run_id), "ok", "--print"],
                          capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    command = line.stdout.splitlines()[-1]
    assert command.startswith("docker run --rm -i --entrypoint= --network=none --read-only")
    assert command.endswith(f"< containerdag-run{result.run_id}-ok.json")
    assert json.loads((tmp_path / f"containerdag-run{result.run_id}-ok.json").read_text()) == {
        "a": 3.0, "b": 4.0}
    history = subprocess.run([*cli, "history", "--json"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert json.loads(history.stdout)[0]["statuses"] == {"done": 1, "failed": 1}

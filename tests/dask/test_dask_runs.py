"""The same graph on a 2-worker LocalCluster: results, placement, parallelism, live events."""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
import threading

import pytest

from containerdag_widgets import (
    Graph,
    GraphWidget,
    ImageNotFound,
    NodeFinished,
    NodeLog,
    Registry,
    process,
)
from containerdag_widgets.executors import DaskExecutor

from ..conftest import EXAMPLE_IMAGES
from ..seed import SEED_GRAPH
from .conftest import distributed, worker_containers


def workers_of(client) -> set[str]:
    return set(client.scheduler_info()["workers"])


def test_seed_graph_on_dask_gives_the_local_results(registry, executor, client):
    on_dask = Graph.from_spec(SEED_GRAPH).run(registry, executor=executor)
    assert on_dask.ok, on_dask.table()
    assert set(on_dask.workers.values()) <= workers_of(client)
    # The same graph locally, with the random nodes pinned to the values Dask drew.
    alpha = on_dask.outputs["node alpha"]["choice"]
    beta = on_dask.outputs["node beta"]["n"]
    spec = copy.deepcopy(SEED_GRAPH)
    spec["node alpha"]["inputs"]["choices"] = [alpha]
    spec["node beta"]["inputs"].update(min=beta, max=beta)
    local = Graph.from_spec(spec).run(registry, cache=False)  # really run, not reused
    assert local.ok and set(local.status.values()) == {"done"}
    assert set(local.workers.values()) == {"local"}
    for node in ("node a", "node b", "node c"):
        assert on_dask.outputs[node] == local.outputs[node]
        assert on_dask.inputs[node] == local.inputs[node]
    assert on_dask.outputs["node c"]["z"] == pytest.approx((alpha + 16.5) / (alpha + 16.5 + beta))


def test_sixteen_slow_nodes_use_both_workers_at_once(registry, executor, client):
    graph = Graph.from_spec({f"s{i:02d}": {"process": "slow",
                                           "inputs": {"seconds": 1.0, "tag": f"s{i:02d}"}}
                             for i in range(16)})
    events = []
    result = graph.run(registry, executor=executor, max_workers=executor.slots,
                       listeners=[events.append])
    assert result.ok, result.table()
    assert set(result.workers.values()) == workers_of(client)  # both workers ran nodes
    assert {n: o["tag"] for n, o in result.outputs.items()} == {n: n for n in graph}
    spans = {e.node: (e.started, e.time, e.worker) for e in events
             if isinstance(e, NodeFinished)}
    assert len(spans) == 16
    # From the events: nodes on different workers ran at the same time.
    across = [(a, b) for a in spans for b in spans
              if spans[a][2] != spans[b][2] and spans[a][0] < spans[b][1]
              and spans[b][0] < spans[a][1]]
    assert across, spans
    # And the whole took far less than its calls in a row: measured against the calls' own
    # durations (which a loaded machine stretches too), not against a fixed budget.
    start = min(s[0] for s in spans.values())
    end = max(s[1] for s in spans.values())
    busy = sum(s[1] - s[0] for s in spans.values())
    assert busy > 1.5 * (end - start), (busy, end - start)


def test_live_logs_arrive_from_the_workers_while_the_node_runs(registry, executor):
    graph = Graph.from_spec({"ticks": {"process": "log_ticks",
                                       "inputs": {"seconds": 2.0, "interval": 0.2}}})
    events = []
    result = graph.run(registry, executor=executor, listeners=[events.append])
    assert result.ok, result.table()
    finished = next(e for e in events if isinstance(e, NodeFinished))
    logs = [e for e in events if isinstance(e, NodeLog)]
    assert len([e for e in logs if e.time < finished.time - 0.5]) >= 4
    assert "".join(e.text for e in logs) == result.logs["ticks"] == finished.log
    assert finished.worker == result.workers["ticks"] != "local"


NOTEBOOK_CELL = '''
import os
from containerdag_widgets import process

OFFSET = 100.0

@process(outputs={"z": 1.0, "pid": 1})
def shifted(x: float = 1.0):
    """x + OFFSET, and the PID of the process that ran it."""
    return {"z": x + OFFSET, "pid": os.getpid()}
'''


def test_a_notebook_defined_process_runs_on_a_worker(executor, client):
    namespace = {"__name__": "__main__"}  # as in a notebook cell
    exec(NOTEBOOK_CELL, namespace)  # noqa: S102 - the test's own source
    shifted = namespace["shifted"]
    with pytest.raises(pickle.PicklingError):  # not importable by name: it must travel by value
        pickle.dumps(shifted.fn)
    graph = Graph.from_spec({"n": {"process": "shifted", "inputs": {"x": 1.5}}})
    result = graph.run(Registry([shifted]), executor=executor)
    assert result.ok, result.table()
    assert result.outputs["n"]["z"] == 101.5
    pids = client.run(os.getpid)
    assert result.outputs["n"]["pid"] == pids[result.workers["n"]] != os.getpid()


def test_a_cached_node_is_never_submitted(executor, tmp_path):
    calls = tmp_path / "calls.txt"

    @process(outputs={"z": 1.0})
    def counted(x: float = 1.0, path: str = ""):
        """x + 1; appends a line to ``path`` on each call."""
        with open(path, "a") as fh:
            fh.write("call\n")
        return {"z": x + 1}

    graph = Graph.from_spec({"n": {"process": "counted",
                                   "inputs": {"x": 1.0, "path": str(calls)}}})
    registry = Registry([counted])
    first = graph.run(registry, executor=executor, cache=True)
    again = graph.run(registry, executor=executor, cache=True)
    assert first.status == {"n": "done"} and first.workers["n"] != "local"
    assert again.status == {"n": "cached"} and again.outputs == first.outputs
    assert calls.read_text() == "call\n"  # one call, on a worker; the cache check is here


def test_an_image_missing_on_the_worker_names_the_worker_and_the_image(registry, executor):
    ghost = copy.copy(registry.get("python_add"))
    ghost.name = "ghost_add"
    ghost.image = "containerdag/ghost:latest"
    ghost.image_id = "sha256:" + "0" * 64
    registry.add(ghost)
    graph = Graph.from_spec({
        "g": {"process": "ghost_add", "inputs": {"x": 1.0, "y": 2.0}},
        "after": {"process": "python_add", "inputs": {"x": ("g", "z"), "y": 1.0}},
        "other": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}},
    })
    result = graph.run(registry, executor=executor)
    assert result.status == {"g": "failed", "after": "skipped", "other": "done"}
    error = result.errors["g"]
    assert isinstance(error, ImageNotFound)
    assert error.image == "containerdag/ghost:latest"
    assert "containerdag/ghost:latest" in str(error)
    assert f"Dask worker {result.workers['g']}" in str(error)


def test_the_widget_shows_live_status_and_the_worker(registry, executor, client):
    graph = Graph.from_spec({
        "ticks": {"process": "log_ticks", "inputs": {"seconds": 1.5, "interval": 0.2}},
        "add": {"process": "python_add", "inputs": {"x": ("ticks", "n"), "y": 1.0}},
    })
    w = GraphWidget(graph, registry, executor=executor)
    w.update_interval = 0.02
    seen: list[dict] = []
    lock = threading.Lock()

    def record(change):
        with lock:
            seen.append(dict(change["new"]))

    w.observe(record, "status")
    result = w.run(timeout=60)
    assert result.ok, result.table()
    assert {"ticks": "running", "add": "pending"} in seen  # live, not only the end
    assert seen[-1] == {"ticks": "done", "add": "done"} == w.status
    w.selected = "add"
    html = w.inspector.value
    assert result.workers["add"] in workers_of(client)
    assert f"worker <code>{result.workers['add']}</code>" in html
    assert executor.dashboard_link and executor.dashboard_link in html


def test_cli_runs_a_spec_on_the_cluster(docker_client, cluster, client, tmp_path):
    spec = tmp_path / "graph.yaml"
    spec.write_text("a: {process: python_add, inputs: {x: 1.0, y: 16.5}}\n"
                    "c: {process: c_divide, inputs: {a: {from: a, output: z}, b: 2.0}}\n")
    images = [arg for image in EXAMPLE_IMAGES for arg in ("--image", image)]
    out = subprocess.run(
        [sys.executable, "-m", "containerdag_widgets.cli", *images, "run", str(spec),
         "--dask", cluster.scheduler_address, "--json"],
        capture_output=True, text=True, timeout=120, env={**os.environ})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["outputs"] == {"a": {"z": 17.5}, "c": {"z": 8.75}}
    assert set(result["workers"].values()) <= workers_of(client)
    # The CLI's executor closed the workers' pools when it ended.
    assert worker_containers(docker_client, workers_of(client)) == []


@process(outputs={"z": 1.0})
def triple(x: float = 1.0):
    """3 x."""
    return {"z": 3 * x}


def test_magic_runs_on_the_given_scheduler_and_on_local(cluster, client):
    from IPython.testing import globalipapp

    from containerdag_widgets.magics import current_magics

    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "containerdag_widgets")
    shell.user_ns["reg"] = Registry([triple])
    try:
        shell.run_line_magic("dag", "use reg")
        shell.run_cell_magic("node", "t", "process: triple\ninputs:\n  x: 2\n")
        result = shell.run_line_magic("dag", f"run --quiet --dask {cluster.scheduler_address}")
        assert result.outputs == {"t": {"z": 6.0}}
        assert result.workers["t"] in workers_of(client)
        shell.run_cell_magic("node", "t", "process: triple\ninputs:\n  x: 3\n")  # not cached
        result = shell.run_line_magic("dag", "run --quiet --dask local")
        assert result.outputs == {"t": {"z": 9.0}}
        local = current_magics(shell).dask.executor_for("local")  # kept for the session
        assert result.workers["t"] in set(local.client.scheduler_info()["workers"])
        assert result.workers["t"] not in workers_of(client)
    finally:
        shell.run_line_magic("unload_ext", "containerdag_widgets")
        shell.user_ns.pop("reg", None)
    assert local.closed and local.client.status == "closed"  # unload closed the LocalCluster


@process(outputs={"pid": 1})
def where(i: int = 0):
    """The PID of the process that ran it."""
    return {"pid": os.getpid()}


def test_resources_pin_a_process_to_the_workers_that_have_them():
    # One plain worker and one started with the resource "pinned" (as `dask worker
    # --resources pinned=1` would): the mapped process runs only on the second.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        [(name, spec)] = cluster.new_worker_spec().items()
        spec["options"] = {**spec["options"], "resources": {"pinned": 1}}
        cluster.worker_spec[name] = spec
        cluster.sync(cluster._correct_state)
        client.wait_for_workers(2, timeout=60)
        pinned = next(a for a, w in client.scheduler_info()["workers"].items()
                      if w.get("resources") == {"pinned": 1})
        graph = Graph.from_spec({f"w{i}": {"process": "where", "inputs": {"i": i}}
                                 for i in range(6)})
        with DaskExecutor(client, resources={"where": {"pinned": 1}}) as executor:
            result = graph.run(Registry([where]), executor=executor, max_workers=6)
        assert result.ok, result.table()
        assert set(result.workers.values()) == {pinned}
        assert {o["pid"] for o in result.outputs.values()} == {
            client.run(os.getpid, workers=[pinned])[pinned]}

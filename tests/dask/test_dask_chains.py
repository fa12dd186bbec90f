"""In-process nodes in a line run on Dask as one task (a chain), and in-process nodes waiting
for a slot share a slot's task (a bundle): no round trip to the client between two of them,
and still one NodeStarted and one NodeFinished per node, as each runs."""

from __future__ import annotations

from containerdag_widgets import Graph, Registry, process
from containerdag_widgets.run.events import NodeFinished, NodeStarted

from ..test_chains import most_running


@process(outputs={"z": 1.0})
def step(x: float = 1.0):
    """x + 1, but not for 13."""
    if x == 13:
        raise ValueError("thirteen")
    return {"z": x + 1}


@process(outputs={"z": 1.0, "seconds": 1.0}, cache=False)
def nap(x: float = 1.0, seconds: float = 0.2):
    """x + 1 after ``seconds``."""
    import time

    time.sleep(seconds)
    return {"z": x + 1, "seconds": seconds}


def chain(n: int, first: float = 0.0) -> Graph:
    spec = {"c00": {"process": "step", "inputs": {"x": first}}}
    for i in range(1, n):
        spec[f"c{i:02d}"] = {"process": "step", "inputs": {"x": (f"c{i - 1:02d}", "z")}}
    return Graph.from_spec(spec)


def test_a_chain_runs_in_one_task_with_its_events_node_by_node(executor):
    events = []
    result = chain(30, first=100.0).run(Registry([step]), executor=executor, cache=False,
                                        listeners=[events.append])
    assert result.ok, result.table()
    assert result.outputs["c29"] == {"z": 130.0}
    workers = set(result.workers.values())
    assert len(workers) == 1 and "local" not in workers  # one task, one worker
    per_node = [(type(e).__name__, e.node) for e in events
                if isinstance(e, (NodeStarted, NodeFinished))]
    assert per_node == [(kind, f"c{i:02d}") for i in range(30)
                        for kind in ("NodeStarted", "NodeFinished")]
    ends = [result.times[f"c{i:02d}"] for i in range(30)]
    assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:], strict=False))  # one after another


def test_a_failure_in_a_chain_on_dask_ends_as_it_does_locally(executor):
    registry = Registry([step])
    on_dask = chain(20, first=10.0).run(registry, executor=executor, cache=False)
    local = chain(20, first=10.0).run(registry, cache=False)
    assert on_dask.status == local.status
    assert on_dask.failed == ["c03"]
    assert on_dask.status["c19"] == "skipped"
    assert on_dask.errors["c04"].upstream == "c03"


def test_a_fan_of_in_process_nodes_keeps_max_workers_running(executor):
    graph = Graph.from_spec({f"f{i:03d}": {"process": "step", "inputs": {"x": float(i + 20)}}
                             for i in range(200)})
    events = []
    result = graph.run(Registry([step]), executor=executor, cache=False,
                       max_workers=executor.slots, listeners=[events.append])
    assert result.ok, result.table()
    assert all(result.outputs[f"f{i:03d}"] == {"z": i + 21.0} for i in range(200))
    assert most_running(events) <= executor.slots
    assert len(set(result.workers.values())) == 2  # the slots of both workers
    assert executor.chain_limit(step, bundle=True) > 1  # quick: its nodes share bundles


def test_containers_overlap_a_chain_of_in_process_nodes(registry, executor):
    registry.add(nap)
    spec = {"slow": {"process": "slow", "inputs": {"seconds": 1.5, "tag": "slow"}},
            "n0": {"process": "nap", "inputs": {"x": 0.0, "seconds": 0.3}}}
    for i in range(1, 5):
        spec[f"n{i}"] = {"process": "nap", "inputs": {"x": (f"n{i - 1}", "z"), "seconds": 0.3}}
    result = Graph.from_spec(spec).run(registry, executor=executor, cache=False)
    assert result.ok, result.table()
    container = result.times["slow"]
    chained = (result.times["n0"][0], result.times["n4"][1])
    assert container[0] < chained[1] and chained[0] < container[1]  # at the same time
    # Slow nodes are chained when in a line, never bundled: each takes a slot as one frees.
    assert executor.chain_limit(nap) > 1 and executor.chain_limit(nap, bundle=True) == 1


def test_cancel_stops_a_chain_on_dask(executor):
    graph = Graph.from_spec({f"n{i}": {"process": "nap", "inputs": {
        "x": (f"n{i - 1}", "z") if i else 0.0, "seconds": 0.5}} for i in range(8)})
    started = []

    def listen(event):
        if isinstance(event, NodeFinished) and not started:
            started.append(event.node)
            handle.cancel()

    handle = graph.start(Registry([nap]), executor=executor, cache=False, listeners=[listen])
    result = handle.wait(120)
    assert result.status["n0"] == "done"
    assert result.status["n7"] in ("cancelled", "skipped")
    assert not {"running", "pending"} & set(result.status.values()), result.status
    # The worker stopped the chain: the nodes after the one under way never ran.
    assert sum(1 for s in result.status.values() if s == "done") <= 3


def test_a_chain_the_cache_may_reuse_runs_node_by_node(executor, tmp_path):
    from containerdag_widgets.cache import Store

    store = Store(tmp_path / "cache.db")
    registry = Registry([step])
    first = chain(6, first=100.0).run(registry, executor=executor, cache=store)
    again = chain(6, first=100.0).run(registry, executor=executor, cache=store)
    assert first.ok and set(again.status.values()) == {"cached"}
    assert again.outputs == first.outputs

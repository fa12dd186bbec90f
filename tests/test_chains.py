"""Chains and bundles: an executor that runs several calls one after another in one place
(``chain_limit`` > 1, as the Dask executor's for in-process nodes) gets in-process nodes in
a line as one chain, and nodes waiting for a slot as bundles; the run's results and events
are the same as one call at a time. A ``ThreadExecutor`` that chains stands in for a cluster."""

from __future__ import annotations

import threading
import time

import pytest

from containerdag_widgets import Graph, Registry, process
from containerdag_widgets.model.ordering import Ordering
from containerdag_widgets.run.events import NodeFinished, NodeStarted
from containerdag_widgets.run.execution import ThreadExecutor


class Chaining(ThreadExecutor):
    """Threads, but calls handed over in chains and bundles, which are recorded."""

    def chain_limit(self, process, *, bundle=False):
        return 8 if process.in_process else 1

    def __init__(self) -> None:
        super().__init__(inline=False)
        self.chains: list[list[str]] = []

    def submit_chain(self, calls, *, cancel, report):
        self.chains.append([c.node for c in calls])
        return super().submit_chain(calls, cancel=cancel, report=report)


@process(outputs={"z": 1.0})
def inc(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}


@process(outputs={"z": 1.0})
def fails_at_3(x: float = 1.0):
    """x + 1, but not for 3."""
    if x == 3:
        raise ValueError("three")
    return {"z": x + 1}


@process(outputs={"z": 1.0}, cache=False)
def nap(x: float = 1.0):
    """x + 1 after 50 ms."""
    time.sleep(0.05)
    return {"z": x + 1}


def most_running(events: list) -> int:
    """The most nodes running at once, counted from a run's NodeStarted/NodeFinished."""
    running, most = 0, 0
    for event in events:
        if isinstance(event, NodeStarted):
            running += 1
            most = max(most, running)
        elif isinstance(event, NodeFinished):
            running -= 1
    return most


def chain(n: int, proc: str = "inc") -> Graph:
    spec = {"n00": {"process": proc, "inputs": {"x": 0.0}}}
    for i in range(1, n):
        spec[f"n{i:02d}"] = {"process": proc, "inputs": {"x": (f"n{i - 1:02d}", "z")}}
    return Graph.from_spec(spec)


def fan(n: int) -> Graph:
    return Graph.from_spec({f"f{i:02d}": {"process": "inc", "inputs": {"x": float(i)}}
                            for i in range(n)})


@pytest.fixture
def registry():
    return Registry([inc, fails_at_3, nap])


def test_a_chain_runs_as_chains_with_the_same_results_and_events(registry):
    executor = Chaining()
    events = []
    result = chain(20).run(registry, executor=executor, cache=False,
                           listeners=[events.append])
    assert result.ok and result.outputs["n19"] == {"z": 20.0}
    assert executor.chains == [[f"n{i:02d}" for i in range(k, min(k + 8, 20))]
                               for k in range(0, 20, 8)]
    per_node = [(type(e).__name__, e.node) for e in events
                if isinstance(e, (NodeStarted, NodeFinished))]
    assert per_node == [(kind, f"n{i:02d}") for i in range(20)
                        for kind in ("NodeStarted", "NodeFinished")]
    assert all(result.inputs[f"n{i:02d}"] == {"x": float(i)} for i in range(20))


def test_a_failure_in_a_chain_skips_the_rest_as_without_chains(registry):
    chained = chain(8, "fails_at_3").run(registry, executor=Chaining(), cache=False)
    plain = chain(8, "fails_at_3").run(registry, cache=False)
    assert chained.status == plain.status
    assert [chained.status[f"n0{i}"] for i in range(8)] == ["done"] * 3 + ["failed"] + \
        ["skipped"] * 4
    assert chained.errors["n04"].upstream == "n03"


def test_nodes_the_cache_may_reuse_are_not_chained(registry, tmp_path):
    from containerdag_widgets.cache import Store

    store = Store(tmp_path / "cache.db")
    executor = Chaining()
    first = chain(5).run(registry, executor=executor, cache=store)
    assert first.ok and executor.chains == []
    again = chain(5).run(registry, executor=executor, cache=store)
    assert set(again.status.values()) == {"cached"}


def test_a_fan_waiting_for_slots_runs_in_bundles_of_its_share(registry):
    executor = Chaining()
    events = []
    result = fan(20).run(registry, executor=executor, cache=False, max_workers=4,
                         listeners=[events.append])
    assert result.ok and all(result.outputs[f"f{i:02d}"] == {"z": i + 1.0} for i in range(20))
    assert [len(b) for b in executor.chains] == [5, 5, 5, 5]
    assert sorted(n for b in executor.chains for n in b) == sorted(result.status)
    assert most_running(events) <= 4  # at most max_workers at once, by the events


def test_a_failed_node_of_a_bundle_does_not_stop_the_others(registry):
    graph = Graph.from_spec({f"f{i}": {"process": "fails_at_3", "inputs": {"x": float(i)}}
                             for i in range(8)})
    result = graph.run(registry, executor=Chaining(), cache=False, max_workers=2)
    assert result.failed == ["f3"]
    assert all(result.status[f"f{i}"] == "done" for i in range(8) if i != 3)


def test_cancel_ends_a_chain_and_its_bundled_nodes(registry):
    executor = Chaining()
    started = threading.Event()
    handle = chain(8, "nap").start(registry, executor=executor, cache=False,
                                   listeners=[lambda e: started.set()
                                              if isinstance(e, NodeFinished) else None])
    assert started.wait(60)
    handle.cancel()
    result = handle.wait(60)
    assert result.status["n00"] == "done"
    assert result.status["n07"] in ("cancelled", "skipped")
    assert "running" not in result.status.values() and "pending" not in result.status.values()


def test_the_ordering_is_graphlibs_order():
    import graphlib

    upstream = {"b": ["a"], "c": ["a", "b"], "a": [], "d": ["z"], "z": [], "e": []}
    assert Ordering(upstream).order == list(graphlib.TopologicalSorter(upstream).static_order())
    with pytest.raises(graphlib.CycleError):
        Ordering({"a": ["b"], "b": ["a"]})


class Plain:
    """An executor written before chains: the six members only, every call in a thread."""

    slots = 0

    def __init__(self) -> None:
        self.threads = ThreadExecutor(inline=False)
        self.submitted: list[str] = []
        self.closed = False

    def prepare(self, max_workers):
        self.threads.prepare(max_workers)

    def runs_inline(self, call):
        return False

    def run_inline(self, call, *, report):
        raise AssertionError("never asked: runs_inline is False")

    def submit(self, call, *, cancel, report):
        self.submitted.append(call.node)
        return self.threads.submit(call, cancel=cancel, report=report)

    def close(self):
        self.closed = True
        self.threads.close()


@pytest.mark.parametrize("where", ["option", "session"])
def test_an_executor_without_chains_gets_every_call_by_itself(registry, where):
    from containerdag_widgets import Session

    executor = Plain()
    graph = chain(5)
    graph.add("f", "inc", {"x": 10.0})
    if where == "option":
        result = graph.run(registry, executor=executor, cache=False)
    else:
        result = Session(registry, executor=executor).run(graph, cache=False)
    assert result.ok and result.outputs["n04"] == {"z": 5.0} and result.outputs["f"] == {
        "z": 11.0}
    assert sorted(executor.submitted) == sorted(result.status)
    assert not executor.closed  # the caller's executor: closed by the caller

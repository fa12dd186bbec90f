import threading
import time

import pytest

from containerdag_widgets import (
    Cancelled,
    Graph,
    GraphValidationError,
    NodeFinished,
    NodeStarted,
    ProcessFailed,
    ProcessTimeout,
    Registry,
    RunFinished,
    Session,
    UpstreamFailed,
    process,
)

from .processes import add, divide, wait


@pytest.fixture
def registry():
    return Registry([add, divide, wait])


def test_values_flow_along_references(registry):
    g = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 16.5}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 2.5}},
        "c": {"process": "divide", "inputs": {"a": ("a", "z"), "b": ("b", "z")}},
    })
    r = g.run(registry)
    assert r.status == {"a": "done", "b": "done", "c": "done"}
    assert r.outputs["c"]["z"] == pytest.approx(17.5 / 20.0)
    assert r.inputs["c"] == {"a": 17.5, "b": 20.0}
    assert r.ok and set(r.durations) == {"a", "b", "c"}


def test_failure_skips_descendants_and_others_finish(registry):
    g = Graph.from_spec({
        "zero": {"process": "add", "inputs": {"x": 0.0, "y": 0.0}},
        "bad": {"process": "divide", "inputs": {"a": 1.0, "b": ("zero", "z")}},
        "after bad": {"process": "add", "inputs": {"x": ("bad", "z"), "y": 1.0}},
        "after after": {"process": "add", "inputs": {"x": ("after bad", "z"), "y": 1.0}},
        "other": {"process": "wait", "inputs": {"seconds": 0.2, "tag": "o"}},
    })
    r = g.run(registry)
    assert r.status == {"zero": "done", "bad": "failed", "after bad": "skipped",
                        "after after": "skipped", "other": "done"}
    assert isinstance(r.errors["bad"], ProcessFailed)
    assert "node 'bad'" in str(r.errors["bad"]) and "divide" in str(r.errors["bad"])
    assert "ZeroDivisionError" in str(r.errors["bad"])
    skip = r.errors["after bad"]
    assert isinstance(skip, UpstreamFailed) and skip.upstream == "bad"
    assert r.errors["after after"].upstream == "after bad"
    assert r.outputs["other"] == {"tag": "o"} and r.outputs["zero"] == {"z": 0.0}
    assert not r.ok and r.failed == ["bad"]
    with pytest.raises(ProcessFailed):
        r.raise_for_status()


def test_independent_nodes_overlap(registry):
    g = Graph.from_spec({n: {"process": "wait", "inputs": {"seconds": 0.3, "tag": n}}
                         for n in ("p", "q")})
    r = g.run(registry, max_workers=2)
    (s1, e1), (s2, e2) = r.times["p"], r.times["q"]
    assert s1 < e2 and s2 < e1  # the two intervals intersect


def test_max_workers_one_serialises(registry):
    g = Graph.from_spec({n: {"process": "wait", "inputs": {"seconds": 0.05, "tag": n}}
                         for n in ("p", "q", "r")})
    r = g.run(registry, max_workers=1)
    spans = sorted(r.times.values())
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_events_reach_listeners_in_order(registry):
    events = []
    g = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
    })
    g.run(registry, listeners=[events.append])
    kinds = [(type(e).__name__, getattr(e, "node", None)) for e in events]
    assert kinds == [("RunStarted", None), ("NodeStarted", "a"), ("NodeFinished", "a"),
                     ("NodeStarted", "b"), ("NodeFinished", "b"), ("RunFinished", None)]
    fin = events[2]
    assert isinstance(fin, NodeFinished) and fin.status == "done" and fin.duration >= 0
    assert isinstance(events[3], NodeStarted) and events[3].inputs == {"x": 2.0, "y": 1.0}
    assert isinstance(events[-1], RunFinished) and events[-1].result.ok


def test_broken_listener_does_not_break_run(registry):
    def bad(event):
        raise RuntimeError("listener bug")

    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    assert g.run(registry, listeners=[bad]).ok


def test_validation_happens_before_anything_runs(registry):
    calls = []
    registry.add(process(lambda x=1.0: calls.append(x) or {"z": x}, outputs={"z": 1.0},
                         name="record"))
    g = Graph.from_spec({
        "a": {"process": "record", "inputs": {"x": 1.0}},
        "b": {"process": "nope", "inputs": {}},
    })
    with pytest.raises(GraphValidationError):
        g.run(registry)
    assert calls == []


def test_timeout_fails_node_only(registry):
    g = Graph.from_spec({
        "slow": {"process": "wait", "inputs": {"seconds": 3.0, "tag": "s"}, "timeout": 0.2},
        "fast": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
    })
    r = g.run(registry)
    assert r.status == {"slow": "failed", "fast": "done"}
    assert isinstance(r.errors["slow"], ProcessTimeout)


def test_start_cancel_wait(registry):
    gate = threading.Event()

    @process(outputs={"z": 1.0})
    def blocked(x: float = 1.0):
        gate.wait(60)  # held: the test cancels it while it runs, then lets it go
        return {"z": x}

    registry.add(blocked)
    g = Graph.from_spec({
        "first": {"process": "blocked", "inputs": {"x": 1.0}},
        "second": {"process": "add", "inputs": {"x": ("first", "z"), "y": 1.0}},
    })
    seen = []
    handle = g.start(registry, listeners=[seen.append])
    deadline = time.monotonic() + 60  # a bound for a stuck start, never reached
    while not any(isinstance(e, NodeStarted) for e in seen) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not handle.done
    handle.cancel()
    r = handle.wait(60)
    gate.set()
    assert r.status == {"first": "cancelled", "second": "skipped"}
    assert isinstance(r.errors["first"], Cancelled)
    assert handle.done


def test_run_only_some_nodes(registry):
    g = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
        "c": {"process": "add", "inputs": {"x": 5.0, "y": 1.0}},
    })
    r = g.run(registry, nodes=["b"])
    assert set(r.status) == {"a", "b"}


def test_table_lists_every_node(registry):
    g = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "bad": {"process": "divide", "inputs": {"a": 1.0, "b": 0.0}},
    })
    table = g.run(registry).table()
    assert "a" in table and "z=2.0" in table and "failed" in table and "ZeroDivision" in table


def test_watchers_of_a_graph_get_its_edits_and_every_run_of_it(registry):
    from containerdag_widgets import GraphEdited, RunStarted

    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}})
    seen = []
    unwatch = g.watch(seen.append)
    unsubscribe = Session.of(registry).subscribe(seen.append, graph=g)
    Session.of(registry).run(Graph.from_spec(g.to_spec()))  # another graph: not seen
    g.add("b", "add", {"x": ("a", "z"), "y": 1.0})
    g.set_input("a", "x", 5.0)
    g.run(registry)  # started elsewhere than the subscriber: it still sees the run
    assert seen[:2] == [GraphEdited("add", ("b",)), GraphEdited("input", ("a",))]
    kinds = [type(e).__name__ for e in seen[2:]]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert kinds.count("NodeFinished") == 2
    assert isinstance(seen[2], RunStarted) and seen[2].nodes == ("a", "b")
    unwatch()
    unsubscribe()
    unsubscribe()  # twice is harmless
    g.remove("b")
    g.run(registry)
    assert len(seen) == len(kinds) + 2


def test_a_watching_method_does_not_keep_its_object_alive():
    import gc
    import weakref

    class View:
        def __init__(self):
            self.events = []

        def on_event(self, event):
            self.events.append(event)

    g = Graph()
    view = View()
    g.watch(view.on_event)
    g.add("a", "add", {"x": 1.0, "y": 1.0})
    assert len(view.events) == 1
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None
    g.add("b", "add", {"x": 1.0, "y": 1.0})  # the dead watcher is dropped quietly
    assert len(g._edits) == 0


def test_inline_executor_runs_python_calls_in_the_scheduler_thread(registry):
    from containerdag_widgets.run.execution import ThreadExecutor

    threads = []

    @process(outputs={"z": 1.0})
    def where(x: float = 1.0):
        threads.append(threading.current_thread().name)
        return {"z": x}

    g = Graph.from_spec({"a": {"process": "where", "inputs": {"x": 1.0}},
                         "b": {"process": "where", "inputs": {"x": ("a", "z")}}})
    reg = Registry([where])
    assert g.run(reg, executor=ThreadExecutor(inline=True)).ok
    assert threads == [threading.current_thread().name] * 2  # run() schedules in this thread
    threads.clear()
    assert g.run(reg).ok  # the default: pool threads
    assert all(name.startswith("containerdag node") for name in threads)


def test_the_default_executor_runs_quick_python_steps_inline_and_slow_ones_in_threads(
        monkeypatch):
    """A chain of small Python steps pays no thread hand-off per node (issue 25): the first
    call of a process runs in a pool thread and is timed; a quick one then runs in the
    scheduler's thread, a slow one keeps its thread (so Stop can still abandon it)."""
    from containerdag_widgets.run import execution

    # "Quick" is under 2 ms, which a trivial call can miss on a loaded machine (a thread
    # switch): here under 50 ms, and the slow step takes at least 100 ms.
    monkeypatch.setattr(execution, "QUICK", 0.05)
    seen: list[tuple[str, str]] = []

    @process(outputs={"z": 1.0})
    def quick(x: float = 1.0):
        seen.append(("quick", threading.current_thread().name))
        return {"z": x + 1}

    @process(outputs={"z": 1.0})
    def slowish(x: float = 1.0):
        seen.append(("slowish", threading.current_thread().name))
        time.sleep(0.1)
        return {"z": x + 1}

    spec = {f"q{i}": {"process": "quick", "inputs": {"x": (f"q{i - 1}", "z") if i else 1.0}}
            for i in range(5)}
    spec.update({f"s{i}": {"process": "slowish",
                           "inputs": {"x": (f"s{i - 1}", "z") if i else 1.0}} for i in range(3)})
    assert Graph.from_spec(spec).run(Registry([quick, slowish]), cache=False).ok
    here = threading.current_thread().name
    quick_threads = [t for p, t in seen if p == "quick"]
    slow_threads = [t for p, t in seen if p == "slowish"]
    assert quick_threads[0] != here and set(quick_threads[1:]) == {here}
    assert here not in slow_threads

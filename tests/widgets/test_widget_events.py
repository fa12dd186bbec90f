"""The graph widget builds its state from the run's events only, never from the live result."""

import contextlib
import threading
import time

import pytest

from containerdag_widgets import Graph, GraphWidget, NodeLog, NodeProgress, Registry, process
from containerdag_widgets.widgets.graph_widget import RunResult


@process(outputs={"z": 1.0})
def bump(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}


def wide_graph(n: int = 300) -> Graph:
    """A root, ``n - 1`` nodes reading from it in ten chains: many finish close together."""
    spec = {"root": {"process": "bump", "inputs": {"x": 0.0}}}
    for i in range(1, n):
        up = "root" if i <= 10 else f"n{i - 10}"
        spec[f"n{i}"] = {"process": "bump", "inputs": {"x": (up, "z")}}
    return Graph.from_spec(spec)


def test_status_reads_during_a_300_node_run_never_break_the_widget_20_times():
    graph = wide_graph()
    registry = Registry([bump])
    first = True
    for _ in range(20):
        w = GraphWidget(graph, registry)
        w.update_interval = 0.005
        w.selected = "n150"
        errors: list[BaseException] = []
        stop = threading.Event()

        def hammer(widget=w, errors=errors, stop=stop) -> None:
            while not stop.is_set():
                try:
                    dict(widget.status)
                    dict(widget.outputs)
                    widget._inspector_html(widget.selected)
                    if widget.handle is not None:
                        widget.handle.result.table()
                    time.sleep(0.0002)  # let the run progress between bursts of reads
                except BaseException as exc:  # noqa: BLE001 - collected for the assert
                    errors.append(exc)
                    return

        readers = [threading.Thread(target=hammer) for _ in range(2)]
        for t in readers:
            t.start()
        try:
            result = w.run(timeout=60)
        finally:
            stop.set()
            for t in readers:
                t.join()
        assert errors == []
        assert result.ok and len(result.status) == 300
        assert not w.running
        # The first run computes the nodes (those with equal inputs may reuse each other's
        # results); the next ones reuse them all from the cache.
        assert set(w.status.values()) <= ({"done", "cached"} if first else {"cached"})
        first = False
        assert w.outputs["n299"] == {"z": 31.0}  # root, then 30 links of a chain
        assert w.progress_text.value.startswith("300/300 done")
        # The widget folded its own copy; the runner's result was never shared with it.
        assert w._state is not w.handle._run.result
        assert w._state.outputs == result.outputs


def test_a_snapshot_does_not_change_under_the_reader():
    state = RunResult.pending(["a"])
    snap = state.snapshot()
    state.apply(NodeLog("a", "more", 0.0))
    assert snap.logs == {} and state.logs == {"a": "more"}


@contextlib.contextmanager
def _held_node():
    """A widget of one node 'h' that runs until the block ends (selected, running)."""
    gate = threading.Event()

    @process(outputs={"z": 1.0})
    def held(x: float = 1.0):
        gate.wait(30)
        return {"z": x}

    w = GraphWidget(Graph.from_spec({"h": {"process": "held", "inputs": {"x": 1.0}}}),
                    Registry([held]))
    w.selected = "h"
    handle = w.start()
    try:
        deadline = time.monotonic() + 60
        while w.status.get("h") != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        yield w
    finally:
        gate.set()
    handle.wait(30)
    w.wait_idle(30)


def test_the_inspector_shows_a_running_nodes_log_from_events():
    with _held_node() as w:
        w._on_event(NodeLog("h", "halfway there\n", 0.0))
        w._flush()
        assert "halfway there" in w.inspector.value


def test_the_inspector_shows_a_running_nodes_files_on_the_move_then_forgets_them():
    with _held_node() as w:
        w._on_event(NodeProgress("h", "output data (big.bin)", 2**30, 2**31, 0.0))
        w._flush()
        assert "files, live" in w.inspector.value
        assert "output data (big.bin): 1.0 GiB of 2.0 GiB (50%)" in w.inspector.value
        assert 'value="0.500"' in w.inspector.value
    assert "files, live" not in w.inspector.value and w.status == {"h": "done"}


@pytest.mark.parametrize("option", [{"max_workers": 0}, {"timeout": -1}])
def test_widget_reports_a_bad_option_without_running(option):
    w = GraphWidget(wide_graph(3), Registry([bump]), **({"timeout": -1} if "timeout" in option
                                                      else {}))
    if "max_workers" in option:
        with pytest.raises(Exception, match="max_workers"):
            w.max_workers = 0
        return
    assert w.start() is None
    assert "option timeout=-1" in w.message.value and not w.running
    w.wait_idle(60)  # nothing left to push


def test_an_edit_marks_stale_the_nodes_a_run_would_not_reuse():
    graph = Graph.from_spec({
        "a": {"process": "bump", "inputs": {"x": 1.0}},
        "b": {"process": "bump", "inputs": {"x": ("a", "z")}},
        "other": {"process": "bump", "inputs": {"x": 5.0}},
    })
    w = GraphWidget(graph, Registry([bump]))
    assert w.run(timeout=30).ok and w.stale == []
    graph.set_input("a", "x", 10.0)  # an edit anywhere: the widget redraws
    w.redraw()  # (at once here, instead of after redraw_delay)
    assert w.stale == ["a", "b"]  # a runs; b depends on a's new output; other is reused
    # The edited node's result is gone (it was of another node); the others keep theirs, b's
    # marked stale since a run would redo it.
    assert w.status == {"a": "pending", "b": "done", "other": "done"}
    assert w.outputs == {"b": {"z": 3.0}, "other": {"z": 6.0}}
    classes = {i: n["classes"] for i, n in w.pane.nodes.items()}
    assert classes == {"a": "pending stale", "b": "done stale", "other": "done"}
    assert w.progress_text.value == "2/3 done"
    result = w.run(timeout=30)
    assert w.stale == [] and result.status == {"a": "done", "b": "done", "other": "cached"}


def test_runs_are_counted_at_once_and_folded_in_order_at_the_read():
    from containerdag_widgets.run.events import NodeFinished, NodeStarted, RunFinished, RunStarted
    from containerdag_widgets.widgets.state import Fold

    fold = Fold()
    fold.reset(["a", "b"])
    fold.apply(RunStarted("r1", ("a", "b"), 1.0))
    fold.apply(NodeStarted("a", {"x": 1.0}, 1.1))
    assert fold.active == 1  # what Stop and "already running" read, before any fold
    fold.apply(NodeFinished("a", "done", 0.1, {"z": 2.0}, None, "", 1.2))
    fold.apply(RunFinished(RunResult(), 1.3))
    assert fold.active == 0 and fold.running() == []
    fold.apply(RunStarted("r2", ("a",), 2.0))  # a runs again: its old outcome goes
    state, started = fold.snapshot()
    assert state.status == {"a": "pending", "b": "pending"} and state.outputs == {}
    assert started == {} and fold.active == 1
    update = fold.take()
    assert update is not None and update.run_nodes == ("a",) and update.nodes >= {"a", "b"}
    assert fold.take() is None  # nothing new since


def test_one_flusher_thread_follows_run_after_run_then_ends(monkeypatch):
    from containerdag_widgets.widgets import flusher as flushing

    monkeypatch.setattr(flushing, "LINGER", 1.0)
    graph, registry = wide_graph(5), Registry([bump])
    w = GraphWidget(graph, registry)
    w.update_interval = 0.02
    flushers = set()
    for x in (1.0, 2.0, 3.0):  # runs started elsewhere (API, magic) show in the widget
        graph.set_input("root", "x", x)
        assert graph.run(registry, cache=False).ok
        flushers.add(w._flusher.thread)
        w.wait_idle(60)
        assert w.outputs["root"] == {"z": x + 1} and set(w.status.values()) == {"done"}
        assert not w.running
    [flusher] = flushers  # no thread started per run
    flusher.join(60)  # idle past FLUSHER_LINGER: it ends, holding nothing
    assert not flusher.is_alive() and w._flusher.thread is None
    graph.set_input("root", "x", 10.0)
    assert graph.run(registry, cache=False).ok  # a run after that starts a new one
    w.wait_idle(60)
    assert w.outputs["root"] == {"z": 11.0}
    flusher = w._flusher.thread
    w.close()
    if flusher is not None:
        flusher.join(60)
        assert not flusher.is_alive()


def test_a_run_that_ends_before_start_returns_leaves_run_enabled():
    """The run's end, pushed by the flusher, is what stays: Run was left disabled when the
    run ended before ``start`` marked it running."""
    w = GraphWidget(wide_graph(2), Registry([bump]))
    w.update_interval = 0.001
    for _ in range(100):
        assert w.start() is not None
        w.handle.wait(60)
        w.wait_idle(60)
        assert not w.run_button.disabled and w.stop_button.disabled and not w.running


def test_a_renamed_node_keeps_its_result_and_its_readers_theirs():
    graph = Graph.from_spec({
        "a": {"process": "bump", "inputs": {"x": 1.0}},
        "b": {"process": "bump", "inputs": {"x": ("a", "z")}},
    })
    w = GraphWidget(graph, Registry([bump]))
    assert w.run(timeout=30).ok
    graph.rename("a", "first")
    graph.rename("first", "one")  # two renames before the (debounced) redraw
    w.redraw()
    assert w.status == {"one": "done", "b": "done"}
    assert w.outputs == {"one": {"z": 2.0}, "b": {"z": 3.0}}
    assert w.stale == []  # the same process and inputs: a run would reuse both
    result = w.run(timeout=30)
    assert result.status == {"one": "cached", "b": "cached"}

"""Kernel-side checks of issue 8's graph widget: edits, runs from elsewhere, a closed registry,
large-graph views, re-run controls (the browser tests check the same in the page)."""

import re
import time

from containerdag_widgets import Graph, GraphWidget, Registry, Session
from containerdag_widgets.widgets.timeline import timeline_html
from containerdag_widgets.widgets.view import GROUP_PREFIX, build_view, prefix_group

from ..processes import add


def ids(w):
    return sorted(w.pane.nodes)


def wait_for_drawing(w, expected: list[str], timeout: float = 60.0) -> None:
    """Wait (without calling redraw) until the widget draws exactly ``expected``: an edit is
    drawn at once, or after ``redraw_delay`` when edits come in a burst."""
    deadline = time.monotonic() + timeout
    while ids(w) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ids(w) == expected, (ids(w), expected)


def test_every_edit_redraws_the_full_graph_in_a_new_drawing():
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    w = GraphWidget(g, Registry([add]))
    first = w.pane.helper.revision
    g.add("b", "add", {"x": ("a", "z"), "y": 1.0})
    wait_for_drawing(w, ["a", "b"])  # at once, or after redraw_delay if it came in a burst
    assert w.pane.helper.revision > first  # the page removes, adds and lays out again
    assert w.cytoscape.graph.nodes == []  # no widget per element
    g.remove("b")
    wait_for_drawing(w, ["a"])
    g.clear()
    wait_for_drawing(w, [])
    assert w.status == {}
    w.close()


def test_a_run_started_elsewhere_shows_in_every_widget():
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    reg = Registry([add])
    w1, w2 = GraphWidget(g, reg), GraphWidget(g, reg)
    g.run(reg, cache=False)
    for w in (w1, w2):
        w.wait_idle(60)
        assert w.status == {"a": "done"} and w.outputs == {"a": {"z": 2.0}}
        assert w.progress_text.value == "1/1 done" and not w.running


def test_a_closed_registry_is_said_and_run_disabled():
    reg = Registry([add])
    w = GraphWidget(Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}}), reg)
    reg.close()
    assert w.start() is None
    assert "registry is closed" in w.message.value and w.run_button.disabled


def test_a_registry_source_is_asked_at_each_run():
    regs = [Registry([add])]
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    w = GraphWidget(g, lambda: regs[-1])
    regs[-1].close()
    regs.append(Registry([add]))  # what the magics do for a registry they made
    assert w.run(timeout=60).status == {"a": "done"}


def test_groups_and_focus():
    assert prefix_group("sweep 17") == "sweep" and prefix_group("node a") is None
    spec = {"src": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}}
    spec.update({f"sweep {i}": {"process": "add", "inputs": {"x": ("src", "z"), "y": 1.0}}
                 for i in range(20)})
    g = Graph.from_spec(spec)
    view = build_view(g, {}, group_by=prefix_group)
    assert sorted(view.nodes) == [GROUP_PREFIX + "sweep", "src"]
    assert view.nodes[GROUP_PREFIX + "sweep"]["count"] == 20
    assert [e["label"] for e in view.edges] == ["20 links"]
    focus = build_view(g, {}, group_by=prefix_group, focus="sweep 3", hops=1)
    assert sorted(focus.nodes) == ["src", "sweep 3"]


def test_rerun_controls_pass_nodes_and_force_when_the_core_takes_it():
    calls = []

    class Spy(Session):
        def start(self, graph, options=None, *, nodes=None, force=None, **values):
            calls.append((nodes, force))
            return super().start(graph, nodes=nodes, force=force, **values)

    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                         "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
                         "c": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    registry = Registry([add])
    w = GraphWidget(g, registry, session=Spy(registry))
    w.run_from("a").wait(60)
    w.wait_idle(60)
    assert calls[-1] == (["a", "b"], ["a", "b"])
    w.run_node("c").wait(60)
    w.wait_idle(60)
    assert calls[-1] == (["c"], ["c"])


def test_timeline_has_a_bar_per_node_that_ran():
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    w = GraphWidget(g, Registry([add]))
    w.run(timeout=60)
    html = timeline_html(w._state, {}, 0.0)
    assert html.count('class="cdw-tl-bar') == 1 and 'data-status="done"' in html


def test_the_widget_passes_cache_nodes_and_force_by_the_run_options_names():
    calls = []

    class Spy(Session):
        def start(self, graph, options=None, **values):
            calls.append(values)
            return super().start(graph, options, **values)

    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    registry = Registry([add])
    w = GraphWidget(g, registry, session=Spy(registry))
    w.cache = False
    w.run(timeout=60)
    assert calls[-1]["cache"] is False and calls[-1]["max_workers"] == 4
    assert w.result.run_id is None  # cache=False records no run
    w.run_node("a").wait(60)
    assert calls[-1]["nodes"] == ["a"] and calls[-1]["force"] == ["a"]
    w.close()


def test_rerun_failed_after_a_fix_runs_the_fixed_node_its_skipped_reader_and_the_failures():
    """Issue 24: fix 'ratio' (division by zero) and 'leaf' (the same, read by nobody); once
    the edits are drawn their results are gone (pending); Re-run failed runs both, the skipped
    reader and the other failure."""
    from containerdag_widgets import process

    @process(outputs={"z": 1.0}, name="divide")
    def divide(a: float = 1.0, b: float = 1.0):
        return {"z": a / b}

    @process(outputs={"z": 1.0}, name="double")
    def double(a: float = 1.0):
        return {"z": 2 * a}

    @process(outputs={"z": 1.0}, name="broken")
    def broken(a: float = 1.0):
        raise RuntimeError("always fails")

    graph = Graph.from_spec({
        "ratio": {"process": "divide", "inputs": {"a": 3.0, "b": 0.0}},
        "doubled": {"process": "double", "inputs": {"a": ("ratio", "z")}},
        "bad": {"process": "broken", "inputs": {"a": 1.0}},
        "ok": {"process": "double", "inputs": {"a": 1.0}},
        "leaf": {"process": "divide", "inputs": {"a": 1.0, "b": 0.0}},
    })
    w = GraphWidget(graph, Registry([divide, double, broken]))
    w.run(timeout=30)
    assert w.status == {"ratio": "failed", "doubled": "skipped", "bad": "failed", "ok": "done",
                        "leaf": "failed"}
    w.editor.set_value("ratio", "b", 2.0)
    w.editor.set_value("leaf", "b", 4.0)
    w.redraw()  # what the debounced redraw after the edits does
    assert (w.status["ratio"], w.status["leaf"]) == ("pending", "pending")
    assert not w.controls.rerun_failed.disabled
    w.rerun_failed().wait(30)
    w.wait_idle(30)
    assert w.status == {"ratio": "done", "doubled": "done", "bad": "failed", "ok": "done",
                        "leaf": "done"}
    assert w.outputs["doubled"] == {"z": 3.0} and w.outputs["leaf"] == {"z": 0.25}
    assert w.result.status == {"ratio": "done", "doubled": "done", "bad": "failed",
                               "leaf": "done"}


def test_a_validation_problem_marks_its_node_and_goes_with_the_fix():
    """Issue 24: what validation finds wrong shows on the canvas and in the inspector, not
    only above the graph; fixing the graph clears the marks and the message."""
    w = GraphWidget(Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": "two"}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
    }), Registry([add]))
    assert list(w.problems) == ["a"] and "'y'" in w.problems["a"][0]
    assert "invalid" in w.pane.nodes["a"]["classes"]
    assert "invalid" not in w.pane.nodes["b"]["classes"]
    w.selected = "a"
    assert "problems (fix them to run)" in w.inspector.value
    assert w.start() is None  # refused, before anything runs
    assert 'data-kind="validation"' in w.message.value and "graph has 1 problem" in \
        w.message.value
    w.editor.set_value("a", "y", 2.0)
    w.redraw()  # what the debounced redraw after the edit does
    assert w.problems == {} and w.message.value == ""
    assert "invalid" not in w.pane.nodes["a"]["classes"]
    assert "problems" not in w.inspector.value
    assert w.run(timeout=30).status == {"a": "done", "b": "done"}


def _wait(condition, timeout: float = 60.0) -> None:
    """Poll ``condition()`` until true; a generous bound, never reached on a loaded machine."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_auto_runs_on_its_own_after_each_edit_and_after_a_run_going_on():
    """Issue 24: GraphWidget(auto=True) runs when turned on and after each edit what a run
    would not reuse, with no observer code; an edit during a run is run once it ends."""
    import threading

    from containerdag_widgets import process

    gate = threading.Event()
    gate.set()

    @process(outputs={"z": 1.0}, name="held add")
    def held_add(x: float = 1.0, y: float = 1.0):
        gate.wait(30)
        return {"z": x + y}

    graph = Graph.from_spec({
        "a": {"process": "held add", "inputs": {"x": 1.0, "y": 1.0}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 10.0}},
        "c": {"process": "add", "inputs": {"x": 5.0, "y": 5.0}},
    })
    w = GraphWidget(graph, Registry([held_add, add]), auto=True, auto_delay=0.05)
    assert w.controls.auto.value is True  # the toolbar's toggle follows the trait
    _wait(lambda: w.outputs.get("b") == {"z": 12.0} and not w.running)
    graph.set_input("a", "x", 2.0)  # an edit from code: nothing else to call
    _wait(lambda: w.outputs.get("b") == {"z": 13.0} and not w.running)
    assert w.result.status == {"a": "done", "b": "done", "c": "cached"}  # only what changed
    gate.clear()  # the next run holds at 'a'...
    graph.set_input("a", "x", 3.0)
    _wait(lambda: w.running and w.status.get("a") == "running")
    graph.set_input("c", "y", 6.0)  # ...an edit while it runs: run once it ends
    gate.set()
    _wait(lambda: w.outputs.get("c") == {"z": 11.0} and w.outputs.get("b") == {"z": 14.0}
          and not w.running)
    w.auto = False
    graph.set_input("c", "y", 7.0)
    time.sleep(0.5)  # what the test shows: that nothing starts (no state to wait for)
    assert w.status["c"] == "pending" and not w.running  # drawn anew, not run
    w.close()


def test_labels_say_a_name_once_the_legend_counts_and_focus_reaches_one_hop():
    """Issue 24: a node named after its process is labelled once ("smooth", not "smooth /
    smooth"); the legend counts the nodes per status after a run; Focus starts at one hop."""
    graph = Graph.from_spec({"add": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                             "more": {"process": "add", "inputs": {"x": ("add", "z"), "y": 2.0}}})
    w = GraphWidget(graph, Registry([add]))
    assert w.pane.nodes["add"]["data"]["label"] == "add"
    assert w.pane.nodes["more"]["data"]["label"] == "more\nadd"
    assert w.focus_hops == 1 and w.controls.hops.value == 1
    w.run(timeout=30)
    counts = dict(re.findall(r'data-status="(\w+)">.*?<b class="cdw-legend-count">(\d+)</b>',
                             w.controls.legend.value))
    assert counts["done"] == "2" and counts["failed"] == "0" and len(counts) == 8


def test_the_timeline_groups_above_the_widgets_own_threshold():
    """The timeline groups nodes named alike when the widget's ``large_graph`` says a graph is
    large (as the canvas does), by the widget's ``group_by``; not below it."""
    spec = {f"fan {i}": {"process": "add", "inputs": {"x": float(i), "y": 1.0}}
            for i in range(1, 6)}
    w = GraphWidget(Graph.from_spec(spec), Registry([add]), large_graph=3)
    assert w.grouped  # the canvas groups 5 nodes above 3
    w.run(timeout=60)
    w.wait_idle(60)
    w.tabs.selected_index = 1  # the Timeline tab: drawn when chosen
    assert 'data-bars="5"' in w.timeline.value, w.timeline.value[:300]
    assert 'data-grouped="1" data-groups="1"' in w.timeline.value, w.timeline.value[:300]
    w.close()
    ungrouped = GraphWidget(Graph.from_spec(spec), Registry([add]), group_by=None)
    ungrouped.run(timeout=60)
    ungrouped.wait_idle(60)
    ungrouped.tabs.selected_index = 1
    assert 'data-bars="5"' in ungrouped.timeline.value
    assert 'data-grouped="0"' in ungrouped.timeline.value
    ungrouped.close()

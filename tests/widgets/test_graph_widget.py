import re
import threading
import time

import pytest
import traitlets

from containerdag_widgets import Graph, GraphWidget, OutputTable, Registry, process

from ..processes import add, divide


@pytest.fixture
def registry():
    gate = threading.Event()

    @process(outputs={"z": 1.0})
    def held(x: float = 1.0):
        gate.wait(60)
        return {"z": x}

    reg = Registry([add, divide, held])
    reg.gate = gate
    yield reg
    gate.set()


SPEC = {
    "a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}},
    "bad": {"process": "divide", "inputs": {"a": ("a", "z"), "b": 0.0}},
    "after bad": {"process": "add", "inputs": {"x": ("bad", "z"), "y": 1.0}},
    "d": {"process": "add", "inputs": {"x": ("a", "z"), "y": 2.0}},
}


def test_elements_mirror_the_graph(registry):
    w = GraphWidget(Graph.from_spec(SPEC), registry)
    ids = list(w.pane.nodes)
    assert ids == list(SPEC)
    labels = {e["data"]["source"] + ">" + e["data"]["target"]: e["data"]["label"]
              for e in w.pane.edges}
    assert labels == {"a>bad": "z -> a", "bad>after bad": "z -> x", "a>d": "z -> x"}
    assert w.status == dict.fromkeys(SPEC, "pending")
    assert w.progress_text.value == "0/4 done"
    assert [b.description for b in (w.run_button, w.stop_button)] == ["Run", "Stop"]


def test_status_goes_through_a_run_with_a_failing_node(registry):
    w = GraphWidget(Graph.from_spec(SPEC), registry)
    history = []
    w.observe(lambda c: history.append(dict(c["new"])), "status")
    running = []
    w.observe(lambda c: running.append(c["new"]), "running")
    result = w.run(timeout=60)
    final = {"a": "done", "bad": "failed", "after bad": "skipped", "d": "done"}
    assert result.status == final and w.status == final
    assert history[-1] == final
    assert running == [True, False]
    assert {i: n["classes"] for i, n in w.pane.nodes.items()} == final
    # The bar has a segment per status, as wide as its share: one failure is a quarter.
    segments = re.findall(r'data-status="(\w+)" data-count="(\d+)" style="width:([\d.]+)%',
                          w.progress.value)
    assert segments == [("done", "2", "50.000"), ("failed", "1", "25.000"),
                        ("skipped", "1", "25.000")]
    assert w.progress_text.value == "2 done, 1 failed, 1 skipped of 4"
    assert "cdw-progress-bad" in w.progress_text._dom_classes
    assert w.outputs == {"a": {"z": 3.0}, "d": {"z": 5.0}}
    assert w.inputs["bad"] == {"a": 3.0, "b": 0.0}
    assert "1 failed" in w.message.value and "1 skipped" in w.message.value
    assert not w.run_button.disabled and w.stop_button.disabled


def test_inspector_shows_inputs_outputs_error(registry):
    w = GraphWidget(Graph.from_spec(SPEC), registry)
    assert "Click a node" in w.inspector.value
    w.run(timeout=60)
    w._on_node_click({"data": {"id": "bad"}})  # what a click in the page sends
    assert w.selected == "bad"
    html = w.inspector.value
    assert 'data-node="bad"' in html and "cdw-status-failed" in html
    assert "ZeroDivisionError" in html and "cdw-inputs" in html and "3.0" in html
    w.selected = "d"
    assert "cdw-outputs" in w.inspector.value and "5.0" in w.inspector.value


def test_output_table_follows_outputs(registry):
    w = GraphWidget(Graph.from_spec(SPEC), registry)
    table = OutputTable(w)
    assert table.value.count("<tr data-node=") == 4 and "cdw-value" not in table.value
    assert table.value.count("cdw-status cdw-status-pending") == 4
    assert "No outputs yet" in OutputTable().value
    w.run(timeout=60)
    assert table.outputs == w.outputs
    assert '<tr data-node="d">' in table.value and "5.0" in table.value
    assert "skipped" in table.value
    # A failed or skipped node's row says why, where its outputs would be.
    assert set(table.errors) == {"bad", "after bad"} and table.errors == w.errors
    rows = dict(re.findall(r'<tr data-node="([^"]+)">(.*?)</tr>', table.value))
    assert "cdw-error" in rows["bad"] and "ZeroDivisionError" in rows["bad"]
    assert "cdw-error" in rows["after bad"] and "upstream node &#x27;bad&#x27; failed" \
        in rows["after bad"]
    assert "cdw-error" not in rows["d"] and "cdw-error" not in rows["a"]


def test_outputs_can_drive_another_widget(registry):
    import ipywidgets as W

    w = GraphWidget(Graph.from_spec(SPEC), registry)
    label = W.Label()
    traitlets.dlink((w, "outputs"), (label, "value"),
                    transform=lambda o: str(o.get("d", {}).get("z", "")))
    w.run(timeout=60)
    assert label.value == "5.0"


def test_stop_mid_run(registry):
    g = Graph.from_spec({
        "hold": {"process": "held", "inputs": {"x": 1.0}},
        "next": {"process": "add", "inputs": {"x": ("hold", "z"), "y": 1.0}},
        "free": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
    })
    w = GraphWidget(g, registry)
    w.update_interval = 0.02
    handle = w.start()
    deadline = time.time() + 60  # a bound for a stuck run, never reached on a loaded machine
    while (w.status.get("hold"), w.status.get("free")) != ("running", "done") \
            and time.time() < deadline:
        time.sleep(0.01)
    assert w.running and w.status["hold"] == "running"
    w.stop_button.click()
    handle.wait(60)
    w.wait_idle(60)
    assert w.status == {"hold": "cancelled", "next": "skipped", "free": "done"}
    assert not w.running


def test_batched_updates_for_many_fast_nodes(registry):
    g = Graph.from_spec({f"n{i}": {"process": "add", "inputs": {"x": float(i), "y": 1.0}}
                         for i in range(300)})
    w = GraphWidget(g, registry)
    changes = []
    w.observe(lambda c: changes.append(1), "status")
    w.run(timeout=30)
    assert set(w.status.values()) == {"done"}
    assert len(changes) < 100  # 300 nodes x 2 events, batched into far fewer messages


def test_invalid_graph_shows_message_and_does_not_run(registry):
    g = Graph.from_spec({"x": {"process": "nope", "inputs": {}}})
    w = GraphWidget(g, registry)
    assert w.start() is None
    assert "unknown process" in w.message.value and not w.running


def test_graph_displays_as_widget(registry):
    bundle = Graph.from_spec(SPEC)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<Graph 4 nodes")
    bundle = registry._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_run_redraws_a_graph_edited_since_display(registry):
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}})
    w = GraphWidget(g, registry)
    g.add("a", "divide", {"a": 1.0, "b": 2.0})  # same node, another process
    g.add("b", "add", {"x": ("a", "z"), "y": 1.0})
    w.run(timeout=60)
    labels = {i: n["data"]["label"] for i, n in w.pane.nodes.items()}
    assert labels == {"a": "a\ndivide", "b": "b\nadd"}
    assert w.outputs == {"a": {"z": 0.5}, "b": {"z": 1.5}}


def test_the_progress_text_counts_failures_apart_from_done():
    """'4/5 done (2 failed)' counted the failures as done (issue 24)."""
    from containerdag_widgets.widgets.controls import progress_of

    status = {"a": "done", "b": "cached", "c": "failed", "d": "failed", "e": "running"}
    assert progress_of(status, True)[2] == "2/5 done (2 failed)"
    status["e"] = "skipped"
    assert progress_of(status, False)[2:] == ("2 done, 2 failed, 1 skipped of 5", "bad")
    assert progress_of(dict.fromkeys("ab", "done"), False)[2:] == ("2/2 done", "ok")

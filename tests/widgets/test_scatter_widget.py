"""A scattered node in the graph widget: one box with its elements' counts, an element picker
and the element in full in the inspector, Re-run failed runs its failed elements only."""

from __future__ import annotations

from containerdag_widgets import Graph, GraphWidget, Registry

from .. import test_scatter as sc


def _widget():
    graph = Graph.from_spec({
        "sq": {"process": "square", "inputs": {"x": [1.0, 3.0, 4.0]}, "scatter": ["x"]},
        "sum": {"process": "total", "inputs": {"values": ("sq", "y")}},
    })
    return graph, GraphWidget(graph, Registry([sc.square, sc.total]))


def test_a_scattered_node_is_one_box_with_its_elements_counts():
    sc.CALLS.clear()
    graph, w = _widget()
    w.run(timeout=60)
    assert w.status == {"sq": "failed", "sum": "skipped"}
    label = w.pane.nodes["sq"]["data"]["label"]
    assert label.startswith("sq \u00d73") and "2 done \u00b7 1 failed" in label
    w.close()


def test_the_inspector_lists_the_elements_and_shows_the_picked_one_in_full():
    sc.CALLS.clear()
    graph, w = _widget()
    w.run(timeout=60)
    w.selected = "sq"
    assert w.element_picker.layout.display == ""
    assert [value for _, value in w.element_picker.options] == [0, 1, 2]
    assert w.inspector.value.count('class="cdw-element"') == 3
    w.element_picker.value = 1
    assert w.element == 1
    assert 'class="cdw-element-body" data-index="1"' in w.inspector.value
    assert "three is not allowed" in w.inspector.value
    w.selected = "sum"
    assert w.element == -1 and w.element_picker.layout.display == "none"
    w.close()


def test_rerun_failed_runs_the_failed_elements_only():
    sc.CALLS.clear()
    graph, w = _widget()
    w.run(timeout=60)
    sc.CALLS.clear()
    graph.set_input("sq", "x", [1.0, 2.0, 4.0])  # the fix for the failed element
    w.rerun_failed().wait(60)
    w.wait_idle(60)
    assert sc.CALLS == [2.0]
    assert w.status == {"sq": "done", "sum": "done"}
    w.close()


def test_the_timeline_has_a_bar_per_element():
    import time

    from containerdag_widgets.widgets.timeline import timeline_html

    sc.CALLS.clear()
    graph, w = _widget()
    result = w.run(timeout=60)
    html = timeline_html(result, {}, time.time())
    for index, label in enumerate(["1.0", "3.0", "4.0"]):
        assert f'data-node="sq" data-element="{index}"' in html
        assert f"sq[{index}] {label}" in html
    assert 'data-element="1"><span' in html and "cdw-tl-failed" in html
    w.close()


def test_a_scattered_node_expands_into_its_elements_and_a_click_shows_one():
    """Issue 23: the Elements button draws the node as a box per element, coloured by its
    status and linked to the nodes around; clicking one shows that element in full."""
    sc.CALLS.clear()
    graph, w = _widget()
    w.run(timeout=60)
    w.selected = "sq"
    assert w.controls.elements.layout.display == "" and w.controls.elements.description == \
        "Elements"
    w.controls.elements.click()
    assert w.expanded == ["sq"] and w.controls.elements.description == "One box"
    boxes = {i: n for i, n in w.pane.nodes.items() if n["data"].get("element_of") == "sq"}
    assert sorted(boxes) == ["sq [0]", "sq [1]", "sq [2]"] and "sq" not in w.pane.nodes
    assert [boxes[f"sq [{i}]"]["classes"].split()[:2] for i in range(3)] == [
        ["element", "done"], ["element", "failed"], ["element", "done"]]
    edges = {(e["data"]["source"], e["data"]["target"]) for e in w.pane.edges}
    assert edges == {(f"sq [{i}]", "sum") for i in range(3)}
    w._on_node_click({"data": {"id": "sq [1]"}})  # what a click on the box sends
    assert (w.selected, w.element) == ("sq", 1)
    assert 'class="cdw-element-body" data-index="1"' in w.inspector.value
    assert "three is not allowed" in w.inspector.value
    assert "cdw-selected" in w.pane.nodes["sq [1]"]["classes"]
    assert "cdw-selected" not in w.pane.nodes["sq [0]"]["classes"]
    w.toggle_elements("sq")
    assert w.expanded == [] and "sq" in w.pane.nodes and "sq [0]" not in w.pane.nodes
    w.close()

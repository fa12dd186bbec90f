"""The canvas editor, driven through the methods its buttons call (the page: tests/browser)."""

import base64
import html
import re
import time

from containerdag_widgets import Graph, GraphWidget, Registry, process
from containerdag_widgets.model.node import Ref
from containerdag_widgets.widgets.editor import port_class

from ..processes import add, divide


@process(outputs={"text": "a"})
def shout(words: str = "hi", times: int = 2, loud: bool = True, extra: list = [1]):  # noqa: B006
    """Words, repeated."""
    text = " ".join([words.upper() if loud else words] * times)
    return {"text": text}


def said(editor) -> str:
    return html.unescape(editor.message.value)


def make():
    reg = Registry([add, divide, shout])
    return GraphWidget(Graph(), reg), reg


def test_build_a_graph_by_adding_connecting_and_editing():
    w, reg = make()
    e = w.editor
    assert w.edit_box.selected_index == 0  # an empty graph opens the editor
    assert [v for _, v in e.palette.options] == ["add", "divide", "shout"]
    e.filter.value = "div"
    assert [v for _, v in e.palette.options] == ["divide"]
    assert e.add("add") == "add" and e.add("add") == "add 2" and e.add("divide") == "divide"
    assert w.graph["add"].inputs == {"x": 1.0, "y": 1.0}
    e.connecting = True
    for name in ("add", "add 2"):
        e.node_clicked(name)
    assert e.pairs.options == (("z -> x", ("z", "x")), ("z -> y", ("z", "y")))
    e.pairs.value = ("z", "y")
    e._connect_chosen()
    assert w.graph["add 2"].inputs["y"] == Ref("add", "z") and not e.connecting
    assert e.connect("add 2", "z", "divide", "a") and e.connect("add", "z", "divide", "b")
    assert e.set_value("add", "x", 5.0)
    assert e.rename("add", "first")
    assert w.graph["add 2"].inputs["y"] == Ref("first", "z")
    assert w.run(timeout=30).outputs["divide"] == {"z": (1.0 + 6.0) / 6.0}
    assert Graph.from_yaml(e.yaml_text) == w.graph and "first" in e.yaml_text
    assert w.edited == e.edits == 8  # 3 adds, 3 connections, a value, a rename
    w.close()


def test_refusals_show_validation_messages_and_change_nothing():
    w, reg = make()
    e = w.editor
    e.add("add")
    e.add("shout")
    before = w.graph.to_spec()
    assert not e.connect("add", "z", "shout", "words")
    assert "node 'shout': input 'words' of process 'shout' is string, but add.z is number" \
        in said(e)
    e.connecting = True
    e.node_clicked("add")
    e.node_clicked("shout")  # a number fits none of shout's inputs
    assert e.pairs.options == () and "no output of 'add' fits an input of 'shout'" in said(e)
    assert not e.set_value("shout", "times", "three")
    assert "input 'times' of process 'shout' is string 'three'" in said(e)
    assert not e.rename("add", "shout")
    assert "exists already" in said(e)
    assert not e.connect("add", "z", "add", "x")  # a cycle
    assert "cycle" in said(e)
    assert w.graph.to_spec() == before and len(e.undo_stack) == 2  # the two adds only
    w.close()


def test_typed_input_editors_delete_edges_and_nodes_and_undo():
    w, reg = make()
    e = w.editor
    e.add("shout")
    w.selected = "shout"
    rows = {port: row for row in e.node_panel.children[1:] for port in ("words", "times",
                                                                        "loud", "extra")
            if port_class(port) in row._dom_classes}
    kinds = {p: type(r.children[1]).__name__ for p, r in rows.items()}
    assert kinds == {"words": "Text", "times": "IntText", "loud": "Checkbox",
                     "extra": "Textarea"}
    times = rows["times"].children[1]
    times.value = 3
    rows = e.node_panel.children
    assert times in next(r for r in rows if port_class("times") in r._dom_classes).children
    # (the same editors after a value edit: the page keeps focus and what is being typed)
    extra = next(r for r in rows if port_class("extra") in r._dom_classes).children[1]
    extra.value = "[1, 2"
    assert "input 'extra' is not JSON" in said(e)
    extra.value = "[1, 2]"
    assert w.graph["shout"].inputs == {"words": "hi", "times": 3, "loud": True, "extra": [1, 2]}
    e.add("add")
    e.add("add")
    e.connect("add", "z", "add 2", "x")
    e.edge_clicked("add", "add 2")
    e.delete_edge(*e.edge)
    assert w.graph["add 2"].inputs["x"] == 1.0  # the example back
    e.connect("add", "z", "add 2", "x")
    w.selected = "add"
    w._page_event(None, {"event": "delete-node", "id": "add"}, [])  # the Delete key
    assert "add" not in w.graph and w.graph["add 2"].inputs["x"] == 1.0
    assert e.undo() and w.graph["add 2"].inputs["x"] == Ref("add", "z")
    wait_for_nodes(w, ["shout", "add", "add 2"])  # drawn by the edit, not by the test
    w.close()


def test_every_widget_of_the_graph_follows_an_edit_made_in_one():
    reg = Registry([add])
    g = Graph()
    one, two = GraphWidget(g, reg), GraphWidget(g, reg)
    one.editor.add("add")
    wait_for_nodes(two, ["add"])  # drawn by the edit, not by the test
    assert two.edited == 1
    one.close()
    two.close()


def wait_for_nodes(w, expected: list[str], timeout: float = 60.0) -> None:
    """Wait (without calling redraw) until the widget draws exactly ``expected``, in order."""
    deadline = time.monotonic() + timeout
    while list(w.pane.nodes) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(w.pane.nodes) == expected, (list(w.pane.nodes), expected)


def drawn_edges(w) -> list[tuple[str, str]]:
    return [(d["data"]["source"], d["data"]["target"]) for d in w.pane.edges]


def test_connecting_an_input_that_has_a_reference_replaces_it_and_its_edge():
    w, reg = make()
    e = w.editor
    for name in ("add", "add", "divide"):
        e.add(name)
    assert e.connect("add", "z", "divide", "a")
    w.redraw()
    assert drawn_edges(w) == [("add", "divide")]
    assert e.connect("add 2", "z", "divide", "a")  # the same input, from another node
    assert w.graph["divide"].inputs["a"] == Ref("add 2", "z")
    w.redraw()
    assert drawn_edges(w) == [("add 2", "divide")]
    assert e.undo() and w.graph["divide"].inputs["a"] == Ref("add", "z")
    w.close()


def test_a_burst_of_edits_in_code_refreshes_the_editor_once_not_per_edit():
    w, reg = make()
    refreshes = []
    w.editor.observe(refreshes.append, "yaml_text")
    w.redraw_delay = 1.0  # not 0.1 s: a loaded machine may pause the loop that long
    for i in range(200):  # a loop in code: each edit within the widget's redraw_delay
        w.graph.add(f"n{i}", "add", {"x": float(i), "y": 1.0})
    deadline = time.monotonic() + 60  # a bound, never reached
    while len(Graph.from_yaml(w.editor.yaml_text or "{}")) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Graph.from_yaml(w.editor.yaml_text) == w.graph
    assert len(refreshes) <= 3  # the first edit, then once after the burst
    w.close()


def test_the_editor_sets_scatter_and_takes_a_list_for_a_scattered_input():
    w, _reg = make()
    g, e = w.graph, w.editor
    name = e.add("add")
    assert e.set_scatter(name, ["x"])
    assert g[name].scatter == ("x",) and g.to_spec()[name]["scatter"] == ["x"]
    assert e.set_value(name, "x", [1.0, 2.0, 3.0])
    assert not e.set_value(name, "x", [1.0, "two"])  # each element must be a number
    assert "expected number" in said(e)
    assert not e.set_value(name, "x", 4.0)  # a scattered input takes a list
    def scatter_shown():
        rows = [r for r in e.node_panel.children if "cdw-scatter-editor" in r._dom_classes]
        return rows and rows[0].children[1].value

    deadline = time.monotonic() + 60  # the panel follows the graph at the debounced redraw
    while scatter_shown() != ("x",) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert scatter_shown() == ("x",)
    result = w.run(timeout=60)
    assert result.outputs[name] == {"z": [2.0, 3.0, 4.0]}
    assert not e.set_scatter(name, ["x"], "zip")  # refused, the graph unchanged
    assert g[name].scatter_method == "dotproduct"
    assert e.undo() and g[name].scatter == ("x",)  # the last edit: the list of x
    assert g[name].inputs["x"] != [1.0, 2.0, 3.0]
    assert e.undo() and g[name].scatter == ()  # and before it, setting scatter
    w.close()


def test_the_yaml_download_keeps_where_the_nodes_stand():
    """The YAML link offers the graph with its ``layout:`` (the canvas's positions), kept
    current when the page moves a node, so the file draws the nodes there again."""
    w, _ = make()
    e = w.editor
    e.add("add")
    e.add("add")
    e.connect("add", "z", "add 2", "x")
    placed = {"add": {"x": 10.0, "y": 0.0}, "add 2": {"x": 10.0, "y": 120.0}}
    w.pane.helper.positions = placed  # what the page writes after its layout
    loaded = Graph.from_yaml(e.yaml_text)
    assert loaded == w.graph and loaded.layout == placed, e.yaml_text
    w.pane.helper.positions = {**placed, "add 2": {"x": 300.0, "y": 120.0}}  # a drag
    data = re.search(r'base64,([^"]+)"', e.yaml_link.value).group(1)
    assert Graph.from_yaml(base64.b64decode(data).decode()).layout["add 2"]["x"] == 300.0
    w.close()

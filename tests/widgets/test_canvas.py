"""canvas.py relies on ipycytoscape internals; fail loudly if an upgrade changes them."""

import ast
import inspect
import textwrap

import ipycytoscape
from ipywidgets.widgets.widget import _instances
from packaging.version import Version

from containerdag_widgets.widgets.canvas import Canvas, CanvasPane


def test_the_pinned_ipycytoscape_is_installed():
    assert Version("1.3") <= Version(ipycytoscape.__version__) < Version("1.4")


def test_cytoscape_widget_init_does_only_what_canvas_repeats():
    """Canvas skips CytoscapeWidget.__init__: it must do no more than Canvas does itself."""
    source = textwrap.dedent(inspect.getsource(ipycytoscape.CytoscapeWidget.__init__))
    body = ast.parse(source).body[0].body
    statements = [ast.unparse(s) for s in body if not isinstance(s, ast.Expr)
                  or not isinstance(s.value, ast.Constant)]
    assert statements[:3] == ["super().__init__(**kwargs)",
                              "self.on_msg(self._handle_interaction)",
                              "self.graph = Graph()"]
    # The rest only fills the graph from the optional ``graph`` argument, which Canvas omits.
    assert all(s.startswith("if ") for s in statements[3:]), statements[3:]
    assert callable(ipycytoscape.CytoscapeWidget._handle_interaction)


def test_canvas_keeps_its_first_graph_model_and_its_click_handler():
    canvas = Canvas()
    graph = canvas.graph
    clicks = []
    canvas.on("node", "click", clicks.append)
    canvas.graph.add_node(ipycytoscape.Node(data={"id": "a"}))
    assert canvas.graph is graph and [n.data["id"] for n in graph.nodes] == ["a"]
    canvas._handle_interaction(canvas, {"widget": "node", "event": "click",
                                        "data": {"id": "a"}}, [])
    assert clicks == [{"id": "a"}]


def test_pane_draws_in_one_helper_message_and_updates_only_changes():
    pane = CanvasPane([], height="100px")
    sent = []
    pane.helper.observe(lambda c: sent.append(c["name"]), names=["elements", "classes", "data",
                                                                  "revision"])
    pane.draw([{"data": {"id": "a"}, "classes": "pending"}, {"data": {"id": "g"}}],
              [{"data": {"id": "a>g", "source": "a", "target": "g"}}])
    assert sorted(sent) == ["classes", "elements", "revision"]
    assert pane.canvas.graph.nodes == [] and pane.canvas.graph.edges == []
    sent.clear()
    pane.update(classes={"a": "pending", "nowhere": "done"})  # nothing changes
    assert sent == []
    pane.update(classes={"a": "done"}, data={"g": {"label": "g x3"}})
    assert pane.nodes["a"]["classes"] == "done" and pane.nodes["g"]["data"]["label"] == "g x3"
    assert pane.nodes["g"]["data"]["id"] == "g"
    pane.draw([{"data": {"id": "b"}}], [])  # a new drawing forgets the old changes
    assert list(pane.nodes) == ["b"] and pane.helper.data == {} and pane.helper.classes == {
        "b": ""}


def test_close_tree_closes_every_widget_a_pane_opened():
    before = set(_instances)
    pane = CanvasPane([], height="100px")
    opened = set(_instances) - before
    assert len(opened) >= 5  # box, canvas, graph model, helper, and their layouts
    pane.close()
    assert set(_instances) - before == set()

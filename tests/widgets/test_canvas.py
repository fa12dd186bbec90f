"""canvas.py relies on ipycytoscape internals; fail loudly if an upgrade changes them."""

import ast
import inspect
import textwrap

import ipycytoscape
from packaging.version import Version

from containerdag_widgets.widgets.canvas import Canvas


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

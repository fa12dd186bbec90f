"""A large graph widget opens a fixed set of widgets, not one per element, and closes them all."""

from ipywidgets.widgets.widget import _instances

from containerdag_widgets import Graph, GraphWidget, Registry, RegistryWidget

from ..processes import add


def chains(n: int) -> Graph:
    return Graph.from_spec({f"n{i}": {"process": "add",
                                      "inputs": {"x": (f"n{i - 1}", "z") if i % 10 else 1.0,
                                                 "y": 1.0}} for i in range(n)})


def test_widgets_opened_do_not_grow_with_the_graph_and_close_frees_them():
    reg = Registry([add])
    before = set(_instances)
    small = GraphWidget(chains(20), reg, grouped=False)
    per_small = len(set(_instances) - before)
    small.close()
    assert set(_instances) - before == set()
    big = GraphWidget(chains(2000), reg, grouped=False)
    assert len(big.pane.nodes) == 2000 and len(big.pane.edges) == 1800
    assert len(set(_instances) - before) == per_small  # the same widgets, more data
    big.run(timeout=60)
    assert set(big.status.values()) <= {"done", "cached"}  # chains alike: the cache answers
    assert {n["classes"] for n in big.pane.nodes.values()} <= {"done", "cached"}
    big.close()
    assert set(_instances) - before == set()
    reg.close()


def test_registry_widget_close_frees_its_widgets():
    reg = Registry([add])
    before = set(_instances)
    w = RegistryWidget(reg)
    assert set(_instances) - before
    w.close()
    assert set(_instances) - before == set() and not reg.closed


def test_widget_runs_right_after_a_run_started_elsewhere_ended():
    """``running`` follows the events at the next push; a run that ended must not block."""
    reg = Registry([add])
    graph = chains(20)
    w = GraphWidget(graph, reg, grouped=False)
    for _ in range(5):
        assert graph.run(reg, cache=False).ok
        assert w.run(timeout=30).ok  # not "the graph is already running"
    w.close()
    reg.close()

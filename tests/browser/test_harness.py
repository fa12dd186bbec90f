"""Smoke test of the browser harness with plain ipycytoscape + ipywidgets (no project code)."""

import sys
import time

import pytest

pytestmark = pytest.mark.browser

CELLS = [
    f"""\
import sys
assert sys.executable == {sys.executable!r}, sys.executable
""",
    """\
import threading
import ipycytoscape
import ipywidgets as W

cy = ipycytoscape.CytoscapeWidget()
cy.graph.add_graph_from_json({
    "nodes": [{"data": {"id": i, "label": i.upper()}} for i in ("a", "b", "c")],
    "edges": [{"data": {"source": "a", "target": "b"}}, {"data": {"source": "b", "target": "c"}}],
})
cy.set_layout(name="breadthfirst", directed=True, animate=False)
cy.set_style([
    {"selector": "node", "style": {"label": "data(label)", "background-color": "#888",
                                   "width": 40, "height": 40}},
    {"selector": "node.done", "style": {"background-color": "green"}},
])

run = W.Button(description="Run")
out = W.HTML(value="clicked: none")

def _mark_done():
    for node in cy.graph.nodes:
        node.classes = "done"

run.on_click(lambda _b: threading.Thread(target=_mark_done, daemon=True).start())
cy.on("node", "click", lambda ev: setattr(out, "value", f"clicked: {ev['data']['id']}"))
W.VBox([W.HBox([run, out]), cy])
""",
]


def test_harness_smoke(lab):
    t0 = time.monotonic()
    lab.write_notebook("harness.ipynb", CELLS)
    lab.open("harness.ipynb")
    t_open = time.monotonic()
    lab.run_all()
    lab.wait_for_cy(min_nodes=3)
    t_run = time.monotonic()

    nodes = lab.cy_nodes()
    assert sorted(n["id"] for n in nodes) == ["a", "b", "c"]
    assert not any("done" in n["classes"] for n in nodes)

    lab.click_button("Run")
    lab.wait_for_node_classes("done")
    assert all("done" in n["classes"] for n in lab.cy_nodes())

    lab.click_cy_node("b")
    lab.wait_for_text("clicked: b")

    shot = lab.screenshot("harness.png")
    assert shot.stat().st_size > 0
    print(
        f"\nopen {t_open - t0:.1f}s, run+render {t_run - t_open:.1f}s, "
        f"total {time.monotonic() - t0:.1f}s"
    )

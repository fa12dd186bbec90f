"""A scattered node in JupyterLab: one box with its elements' counts; clicked, the inspector
lists its elements; chosen in the element picker, an element shows in full with its picture."""

from __future__ import annotations

import pytest

from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems
from tests.browser.test_pictures_browser import _pictures

pytestmark = pytest.mark.browser

#: A Python step drawing one PNG per element (its width from the element), scattered over 3.
CELLS = '''\
import tempfile
from pathlib import Path
from PIL import Image
folder = Path(tempfile.mkdtemp(prefix="scatter-pictures-"))

@process(outputs={"picture": {"$file": "box.png"}})
def box(width: int = 100):
    """A grey box as wide as asked."""
    path = folder / f"box-{width}.png"
    Image.new("RGB", (width, 50), "grey").save(path)
    return {"picture": {"$file": str(path)}}

reg.add(box)
g = Graph.from_spec({"boxes": {"process": "box", "inputs": {"width": [120, 160, 200]},
                               "scatter": ["width"]}})
w = GraphWidget(g, reg)
display(w)
'''


def test_a_scattered_node_shows_its_elements_and_one_in_full(lab, docker_client):
    with notebook(lab, docker_client, "scatter.ipynb", [CELLS], setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=1)
        lab.click_button("Run")
        lab.wait_for_text("1/1 done", selector=".cdw-progress")
        label = lab.wait_for_js(
            "() => { const cy = document.querySelector('.custom-widget')._cyreg.cy;"
            " const l = cy.getElementById('boxes').data('label');"
            " return l && l.includes('3 done') && l; }", timeout=30_000)
        assert label.startswith("boxes \u00d73")
        lab.click_cy_node("boxes")
        body = '.cdw-inspector .cdw-inspector-body[data-node="boxes"]'
        lab.wait_for_selector(f"{body} table.cdw-elements")
        assert lab.page.locator(f"{body} tr.cdw-element").count() == 3
        picker = lab.page.locator(".cdw-element-picker select")
        picker.select_option(label="2: 200 (done)")
        element = f'{body} .cdw-element-body[data-index="2"]'
        lab.wait_for_selector(element)
        pictures = _pictures(lab, element)
        assert pictures[0][0] == "data:image/png;base64," and pictures[0][2:] == [200, 50]
        lab.page.mouse.move(0, 0)
        lab.screenshot("scatter-element.png", selector=".cdw-graph-widget")
        assert toolkit_console_problems(lab.console) == []


def test_a_scattered_node_expands_on_the_canvas_and_a_click_on_an_element_shows_it(
        lab, docker_client):
    """Issue 24's browser check: expand a scattered node, click an element, see its
    preview."""
    with notebook(lab, docker_client, "scatter-expand.ipynb", [CELLS], setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=1)
        lab.click_button("Run")
        lab.wait_for_text("1/1 done", selector=".cdw-progress")
        lab.click_cy_node("boxes")
        lab.click_button("Elements")
        ids = lab.wait_for_js(
            "() => { const cy = document.querySelector('.custom-widget')._cyreg.cy;"
            " const ids = cy.nodes().map(n => n.id()).sort();"
            " return ids.length === 3 && ids; }", timeout=30_000)
        assert ids == ["boxes [0]", "boxes [1]", "boxes [2]"]
        lab.click_cy_node("boxes [1]")
        element = ('.cdw-inspector .cdw-inspector-body[data-node="boxes"] '
                   '.cdw-element-body[data-index="1"]')
        lab.wait_for_selector(element)
        pictures = _pictures(lab, element)
        assert pictures[0][0] == "data:image/png;base64," and pictures[0][2:] == [160, 50]
        lab.click_button("One box")
        lab.wait_for_js(
            "() => { const cy = document.querySelector('.custom-widget')._cyreg.cy;"
            " return cy.nodes().length === 1 && cy.getElementById('boxes').length === 1; }",
            timeout=30_000)
        assert toolkit_console_problems(lab.console) == []

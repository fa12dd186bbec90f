"""Pictures in JupyterLab: a picture output shows in the OutputTable and in the graph widget's
inspector as an <img> with a data: URI that the browser decoded (natural width > 0), beside a
CSV's table and a numeric array's line plot."""

from __future__ import annotations

import pytest

from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems

pytestmark = pytest.mark.browser

#: The decoded pictures under ``selector``: [src prefix, src length, natural width, height].
PICTURES = """(sel) => [...document.querySelectorAll(sel + ' img.cdw-picture')]
    .filter(i => i.complete && i.naturalWidth > 0)
    .map(i => [i.src.slice(0, 22), i.src.length, i.naturalWidth, i.naturalHeight])"""


def _pictures(lab, selector: str) -> list:
    lab.page.locator(selector).first.scroll_into_view_if_needed()
    return lab.wait_for_js(f"(sel) => {{ const p = ({PICTURES})(sel); "
                           "return p.length > 0 && p; }", selector, timeout=60_000)


#: A Python step that draws a 640x400 PNG (Pillow) and lists its points, and one that writes
#: the points as a CSV, each returning its file. Files go to a folder of the notebook's kernel.
CELLS = '''\
import tempfile
from pathlib import Path
from PIL import Image, ImageDraw
folder = Path(tempfile.mkdtemp(prefix="pictures-"))

@process(outputs={"picture": {"$file": "chart.png"}, "series": [1.0]}, cache=False)
def chart(n: int = 40):
    """A zigzag of n points, drawn and listed."""
    series = [float((i * 7) % 11) for i in range(n)]
    image = Image.new("RGB", (640, 400), "white")
    ImageDraw.Draw(image).line([(10 + 15 * i, 380 - 30 * v) for i, v in enumerate(series)],
                               fill=(148, 0, 211), width=3)
    image.save(folder / "chart.png")
    return {"picture": {"$file": str(folder / "chart.png")}, "series": series}

@process(outputs={"table": {"$file": "table.csv"}}, cache=False)
def tabulate(n: int = 40):
    """The same points as a CSV."""
    path = folder / "table.csv"
    path.write_text("i,v\\n" + "".join(f"{i},{(i * 7) % 11}\\n" for i in range(n)))
    return {"table": {"$file": str(path)}}

reg.add(chart)
reg.add(tabulate)
g = Graph.from_spec({"chart": {"process": "chart", "inputs": {"n": 40}},
                     "tabulate": {"process": "tabulate", "inputs": {"n": 40}}})
w = GraphWidget(g, reg)
display(w)
OutputTable(w)
'''


def test_picture_outputs_show_in_the_table_and_the_inspector(lab, docker_client):
    with notebook(lab, docker_client, "pictures.ipynb", [CELLS], setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=2)
        lab.click_button("Run")
        lab.wait_for_text("2/2 done", selector=".cdw-progress")
        table = _pictures(lab, ".cdw-output-table")
        assert [p[0] for p in table] == ["data:image/png;base64,"], table
        assert table[0][1] > 1000 and table[0][2:] == [240, 150], table
        rows = lab.page.locator(".cdw-output-table .cdw-preview-table tbody tr").count()
        assert rows == 5  # the CSV's first rows, under its header
        assert lab.page.locator(".cdw-output-table svg.cdw-sparkline polyline").count() == 1

        lab.click_cy_node("chart")
        body = '.cdw-inspector .cdw-inspector-body[data-node="chart"]'
        lab.wait_for_selector(f"{body} .cdw-outputs")
        inspector = _pictures(lab, body)
        assert inspector[0][0] == "data:image/png;base64," and inspector[0][2:] == [480, 300]
        lab.page.mouse.move(0, 0)
        lab.screenshot("pictures-inspector.png", selector=".cdw-graph-widget")
        lab.screenshot("pictures-output-table.png", selector=".cdw-output-table")
        assert toolkit_console_problems(lab.console) == []

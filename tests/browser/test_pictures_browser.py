"""Pictures in JupyterLab: a picture output shows in the OutputTable and in the graph widget's
inspector as an <img> with a data: URI that the browser decoded (natural width > 0), beside a
CSV's table and a numeric array's line plot; a click on one opens it in a lightbox at its real
size (issue 24)."""

from __future__ import annotations

import pytest

from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems

#: The open lightbox (a child of <body>): its picture's natural and displayed size, the
#: overlay's box and scrolling, its caption, its link's download name and href's head.
LIGHTBOX = """() => {
    const o = [...document.body.children].find(e => e.classList.contains('cdw-lightbox'));
    if (!o) return null;
    const i = o.querySelector('img.cdw-lightbox-img'), a = o.querySelector('a[download]');
    if (!i.complete || !i.naturalWidth) return false;
    const r = i.getBoundingClientRect(), b = o.getBoundingClientRect(), s = getComputedStyle(o);
    return {natural: [i.naturalWidth, i.naturalHeight],
            shown: [Math.round(r.width), Math.round(r.height)],
            overlay: [b.width, b.height, s.position, s.overflow, Number(s.zIndex)],
            caption: o.querySelector('figcaption').innerText,
            download: a && a.getAttribute('download'), href: a && a.href.slice(0, 22),
            hrefLength: a ? a.href.length : 0,
            focused: document.activeElement === o,
            count: document.querySelectorAll('body > .cdw-lightbox').length};
}"""


def _open_lightbox(lab, selector: str) -> dict:
    picture = lab.page.locator(f"{selector} img.cdw-picture").first
    picture.scroll_into_view_if_needed()
    picture.click()
    return lab.wait_for_js(LIGHTBOX, timeout=20_000)

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


#: A picture larger than the window, previewed in a bare HTML widget (no graph widget's code).
POSTER = """\
import ipywidgets as W
from containerdag_widgets.widgets.previews import preview_html
poster = Image.new("RGB", (2400, 1600), (0, 128, 128))
ImageDraw.Draw(poster).rectangle([2300, 1500, 2399, 1599], fill=(255, 0, 0))
poster.save(folder / "poster.png")
W.HTML(preview_html({"$file": str(folder / "poster.png")}))
"""


def test_picture_outputs_show_in_the_table_and_the_inspector(lab, docker_client):
    with notebook(lab, docker_client, "pictures.ipynb", [CELLS], [POSTER],
                  setup=PY_SETUP) as nb:
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

        # The lightbox: the table's 240x150 preview opens at the picture's real 640x400, over
        # the whole window, with its caption and the file to download; Escape closes it.
        box = _open_lightbox(lab, ".cdw-output-table")
        assert box["natural"] == [640, 400] and box["shown"] == [640, 400], box
        assert box["overlay"][:4] == [1400, 1000, "fixed", "auto"], box
        assert box["overlay"][4] >= 1000 and box["focused"] and box["count"] == 1, box
        assert box["caption"].split(" \u00b7 ")[:2] == ["chart.png", "640\u00d7400 PNG"], box
        assert "shown at 640\u00d7400 (real size)" in box["caption"], box
        assert box["download"] == "chart.png" and box["href"] == "data:image/png;base64,"
        assert box["hrefLength"] > 1000, box
        lab.screenshot("pictures-lightbox.png")
        lab.page.keyboard.press("Escape")
        lab.wait_for_js("() => !document.querySelector('body > .cdw-lightbox')")

        # From the inspector's 480x300 preview: the same picture; a click outside it closes.
        box = _open_lightbox(lab, body)
        assert box["natural"] == [640, 400] and box["shown"] == [640, 400], box
        lab.page.mouse.click(5, 5)  # on the overlay, outside the picture
        lab.wait_for_js("() => !document.querySelector('body > .cdw-lightbox')")
        box = _open_lightbox(lab, body)
        lab.page.locator("body > .cdw-lightbox img").click()  # on the picture: stays open
        lab.page.wait_for_timeout(200)
        assert lab.evaluate(LIGHTBOX)["count"] == 1
        lab.page.keyboard.press("Escape")
        lab.wait_for_js("() => !document.querySelector('body > .cdw-lightbox')")

        # Larger than the window: real size, and the overlay scrolls to its far corner.
        nb.run(0)
        poster = '.cdw-preview[data-name="poster.png"]'
        lab.wait_for_selector(f"{poster} img.cdw-picture")
        box = _open_lightbox(lab, poster)
        assert box["natural"] == [2400, 1600] and box["shown"] == [2400, 1600], box
        assert "shown at 2400\u00d71600 (real size)" in box["caption"], box
        corner = lab.evaluate("""() => {
            const o = document.querySelector('body > .cdw-lightbox');
            const before = [o.scrollWidth > o.clientWidth, o.scrollHeight > o.clientHeight];
            o.scrollTo(o.scrollWidth, o.scrollHeight);
            const r = o.querySelector('img').getBoundingClientRect();
            return [...before, o.scrollLeft > 0, o.scrollTop > 0,
                    r.right <= innerWidth, r.bottom <= innerHeight];
        }""")
        assert corner == [True] * 6, corner
        lab.screenshot("pictures-lightbox-scrolled.png")
        lab.page.keyboard.press("Escape")
        lab.wait_for_js("() => !document.querySelector('body > .cdw-lightbox')")
        assert toolkit_console_problems(lab.console) == []

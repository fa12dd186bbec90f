"""Pictures on a 2x screen (issue 24), in JupyterLab with ``devicePixelRatio`` 2: a preview is
drawn at its real size (its CSS size is its pixel size / 2: one picture pixel per screen
pixel, so a 1-pixel line stays 1 screen pixel wide), its caption says the size shown, and a
table thumbnail says a click enlarges it; the lightbox shows the picture at its real size
too. (At 1x nothing changes: tests/browser/test_pictures_browser.py.)"""

from __future__ import annotations

import io

import pytest

from tests.browser.conftest import ARTIFACTS, labmod
from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems

pytestmark = pytest.mark.browser


@pytest.fixture
def lab2x(request, browser, lab_server):
    """A Lab page on a screen of 2 device pixels per CSS pixel."""
    context = browser.new_context(viewport=labmod.VIEWPORT, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(30_000)
    helper = labmod.Lab(page, lab_server, ARTIFACTS)
    yield helper
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        helper.screenshot(f"{request.node.name}-failure.png", full_page=True)
    context.close()
    lab_server.shutdown_sessions()


#: A 640x400 chart with a 1-pixel black line at x=100, a 200x50 strip; previewed for the
#: inspector and in an OutputTable.
CELLS = """\
import tempfile
from pathlib import Path
import ipywidgets as W
from PIL import Image, ImageDraw
from containerdag_widgets.widgets.previews import preview_html
folder = Path(tempfile.mkdtemp(prefix="hidpi-"))
chart = Image.new("RGB", (640, 400), "white")
ImageDraw.Draw(chart).line([(100, 0), (100, 399)], fill="black", width=1)
chart.save(folder / "chart.png")
Image.new("RGB", (200, 50), (200, 0, 0)).save(folder / "strip.png")
table = OutputTable()
table.outputs = {"chart": {"picture": {"$file": str(folder / "chart.png")}}}
W.VBox([W.HTML(preview_html({"$file": str(folder / "chart.png")})),
        W.HTML(preview_html({"$file": str(folder / "strip.png")})), table])
"""

#: Each decoded preview: its name, natural and CSS size, density, the caption's size shown.
PICTURES = """() => {
    const found = [...document.querySelectorAll('.cdw-preview img.cdw-picture')];
    if (found.length < 3 || found.some(i => !i.complete || !i.dataset.density)) return false;
    return found.map(i => {
        const r = i.getBoundingClientRect(), box = i.closest('.cdw-preview');
        return [box.dataset.name, !!i.closest('.cdw-output-table'),
                [i.naturalWidth, i.naturalHeight], [Math.round(r.width), Math.round(r.height)],
                i.dataset.density,
                box.querySelector('.cdw-preview-caption').innerText];
    });
}"""

LIGHTBOX = """() => {
    const o = document.querySelector('body > .cdw-lightbox');
    const i = o && o.querySelector('img');
    if (!i || !i.complete || !i.naturalWidth || !i.dataset.density) return false;
    const r = i.getBoundingClientRect();
    return [[i.naturalWidth, i.naturalHeight], [Math.round(r.width), Math.round(r.height)],
            o.querySelector('figcaption').innerText];
}"""


def dark_columns(png: bytes) -> list[int]:
    """The columns of a screenshot darker than mid-grey in its middle row."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    y = image.height // 2
    return [x for x in range(image.width) if image.getpixel((x, y)) < 128]


def test_pictures_are_drawn_at_their_real_size_on_a_2x_screen(lab2x):
    lab = lab2x
    with notebook(lab, None, "hidpi.ipynb", [CELLS], setup=PY_SETUP) as nb:
        nb.start()
        assert lab.evaluate("() => window.devicePixelRatio") == 2
        found = lab.wait_for_js(PICTURES, timeout=60_000)
        by = {(name, in_table): rest for name, in_table, *rest in found}
        natural, css, density, caption = by[("chart.png", False)]
        assert natural == [480, 300] and css == [240, 150] and density == "2", found
        assert "640\u00d7400 PNG" in caption, caption
        assert "shown at 240\u00d7150 on this 2x screen" in caption, caption
        natural, css, _, caption = by[("strip.png", False)]
        assert natural == [200, 50] and css == [100, 25], found  # the file itself, halved
        assert "shown at 100\u00d725 on this 2x screen" in caption, caption
        natural, css, _, caption = by[("chart.png", True)]
        assert natural == [240, 150] and css == [120, 75], found
        assert caption.endswith("shown at 120\u00d775 on this 2x screen \u00b7 click to "
                                "enlarge"), caption

        # The lightbox, from the table's thumbnail: the picture's 640x400 pixels on 320x200
        # CSS pixels, its 1-pixel line one screen pixel wide.
        thumb = lab.page.locator(".cdw-output-table img.cdw-picture").first
        thumb.scroll_into_view_if_needed()
        thumb.click()
        natural, css, caption = lab.wait_for_js(LIGHTBOX, timeout=20_000)
        assert natural == [640, 400] and css == [320, 200], (natural, css)
        assert "640\u00d7400 PNG" in caption, caption
        assert "shown at 320\u00d7200, a pixel of the picture to a pixel of this 2x screen" \
            in caption, caption
        shot = lab.page.locator("body > .cdw-lightbox img").screenshot()
        assert dark_columns(shot) == [100], dark_columns(shot)[:10]
        lab.screenshot("pictures-2x-lightbox.png")
        lab.page.keyboard.press("Escape")
        lab.wait_for_js("() => !document.querySelector('body > .cdw-lightbox')")
        lab.page.locator(".cdw-preview").first.scroll_into_view_if_needed()
        lab.screenshot("pictures-2x-previews.png")
        assert toolkit_console_problems(lab.console) == []

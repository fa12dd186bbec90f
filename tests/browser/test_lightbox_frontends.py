"""The picture lightbox (issue 24) in Notebook 7 and in Voila (the JupyterLab test is in
test_pictures_browser.py): a picture preview in a bare HTML widget, clicked, opens at its real
size with its caption and download link; Escape closes it. No images, no registry."""

from __future__ import annotations

import pytest

from tests.browser.nb import toolkit_console_problems
from tests.browser.test_frontends import OPEN_PANEL

pytestmark = pytest.mark.browser

NAME = "lightbox"
CELL = """\
import ipywidgets as W
from containerdag_widgets.widgets.previews import TABLE, preview_html
W.HTML(preview_html({"$file": "disc.png"}, TABLE))
"""
OPENED = """() => {
    const o = document.querySelector('body > .cdw-lightbox');
    const i = o && o.querySelector('img');
    if (!i || !i.complete || !i.naturalWidth) return false;
    const r = i.getBoundingClientRect(), a = o.querySelector('a[download]');
    return [i.naturalWidth, Math.round(r.width), getComputedStyle(o).position,
            o.querySelector('figcaption').innerText, a.getAttribute('download'),
            a.href.slice(0, 22)];
}"""


@pytest.fixture(scope="module")
def served(lab_server):
    import nbformat
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (900, 600), (240, 240, 255))
    ImageDraw.Draw(image).ellipse([100, 100, 800, 500], fill=(148, 0, 211))
    image.save(lab_server.root_dir / "disc.png")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nbformat.write(nb, lab_server.root_dir / f"{NAME}.ipynb")
    return lab_server


def _check(lab, front: str) -> None:
    picture = lab.page.locator(".cdw-preview img.cdw-picture").first
    picture.scroll_into_view_if_needed()
    picture.click()
    opened = lab.wait_for_js(OPENED, timeout=20_000)
    assert opened[:3] == [900, 900, "fixed"], opened
    assert "disc.png" in opened[3] and "900\u00d7600 PNG" in opened[3], opened
    assert "shown at 900\u00d7600 (real size)" in opened[3], opened
    assert opened[4:] == ["disc.png", "data:image/png;base64,"], opened
    lab.screenshot(f"lightbox-{front}.png")
    lab.page.keyboard.press("Escape")
    lab.wait_for_js("() => !document.querySelector('body > .cdw-lightbox')")
    problems = toolkit_console_problems(lab.console)
    assert problems == [], problems


def test_lightbox_in_notebook7(lab, served):
    lab.page.goto(f"{served.url}/notebooks/{NAME}.ipynb?token={served.token}",
                  wait_until="domcontentloaded")
    lab.page.wait_for_function(OPEN_PANEL, arg=f"{NAME}.ipynb", timeout=60_000, polling=100)
    lab.run_all(timeout=120_000)
    lab.wait_for_selector(".cdw-preview img.cdw-picture", timeout=60_000)
    _check(lab, "notebook7")


def test_lightbox_in_voila(lab, served):
    lab.page.goto(f"{served.url}/voila/render/{NAME}.ipynb?token={served.token}",
                  wait_until="domcontentloaded", timeout=180_000)
    lab.wait_for_selector(".cdw-preview img.cdw-picture", timeout=180_000)
    _check(lab, "voila")

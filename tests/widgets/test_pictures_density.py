"""Pictures at their real size on any screen (issue 24), the markup: every picture preview
carries the inline ``onload`` that sizes it by ``devicePixelRatio`` and a caption part
(``.cdw-shown``) saying the size shown, which that code rewrites; a table thumbnail says a
click enlarges it; an SVG (a vector) is left at its size. The page: tests/browser/
test_pictures_hidpi_browser.py."""

from __future__ import annotations

import html
import re

from PIL import Image

from containerdag_widgets.widgets.previews import (
    INSPECTOR,
    LIGHTBOX_JS,
    PIXELS_JS,
    TABLE,
    preview_html,
)


def shown(text: str) -> list[str]:
    return re.findall(r'<span class="cdw-shown">(.*?)</span>', text)


def test_every_picture_preview_is_sized_by_the_pixel_ratio(tmp_path):
    Image.new("RGB", (640, 400), "white").save(tmp_path / "chart.png")
    Image.new("RGB", (200, 50), "red").save(tmp_path / "strip.png")
    onload = f'onload="{html.escape(PIXELS_JS)}"'
    for name, limits, size, hint in (("chart.png", INSPECTOR, "480&times;300", False),
                                     ("chart.png", TABLE, "240&times;150", True),
                                     ("strip.png", INSPECTOR, "200&times;50", False)):
        text = preview_html({"$file": str(tmp_path / name)}, limits)
        assert text.count(onload) == 1, name
        caption = re.search(r'class="cdw-preview-caption"[^>]*>(.*?)</div>', text)[1]
        assert shown(caption) == [f"shown at {size}"], caption
        assert ("click to enlarge" in caption) is hint, caption
    # A Pillow image, too.
    text = preview_html(Image.new("L", (900, 300)), TABLE)
    assert text.count(onload) == 1 and "shown at 240&times;80" in text
    # The lightbox says its size shown in the part the opening code rewrites.
    text = preview_html({"$file": str(tmp_path / "chart.png")})
    box = text.split("<template")[1]
    assert shown(box) == ["shown at 640&times;400 (real size)"]
    assert "devicePixelRatio" in LIGHTBOX_JS and ".cdw-shown" in LIGHTBOX_JS
    assert '"' not in PIXELS_JS  # an attribute's value, escaped once


def test_an_svg_is_left_at_its_own_size(tmp_path):
    (tmp_path / "c.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" '
                                    'height="40"><circle cx="20" cy="20" r="10"/></svg>')
    text = preview_html({"$file": str(tmp_path / "c.svg")})
    assert "onload=" not in text and "cdw-picture" in text

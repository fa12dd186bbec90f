"""Previews of outputs: real files (a PNG and a JPEG made with Pillow, an SVG, a CSV, a TSV,
text, binary) rendered as HTML the way the inspector and OutputTable show them."""

from __future__ import annotations

import base64
import html as html_module
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from containerdag_widgets.model.graph import Graph
from containerdag_widgets.run.result import RunResult
from containerdag_widgets.widgets.inspector import inspector_html
from containerdag_widgets.widgets.output_table import OutputTable
from containerdag_widgets.widgets.previews import (
    COMPACT,
    INSPECTOR,
    LIGHTBOX_JS,
    TABLE,
    file_kind,
    human_size,
    preview_html,
    sparkline_svg,
)

SRC = re.compile(r'<img class="cdw-picture" src="data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)"')


def wire(path: Path) -> dict:
    return {"$file": str(path)}


def picture(html: str) -> tuple[str, Image.Image]:
    """The mime type and the decoded picture of the one <img> in ``html``."""
    found = SRC.findall(html)
    assert len(found) == 1, html[:300]
    mime, data = found[0]
    raw = base64.b64decode(data)
    if mime == "image/svg+xml":
        return mime, raw
    return mime, Image.open(io.BytesIO(raw))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("previews")
    out = {}
    small = Image.new("RGB", (64, 40), (200, 30, 30))
    small.putpixel((3, 4), (0, 255, 0))
    small.save(out.setdefault("png", d / "small plot.png"))
    big = Image.radial_gradient("L").resize((1600, 1000)).convert("RGB")
    big.save(out.setdefault("jpeg", d / "photo.jpg"), quality=95)
    noise = Image.merge("RGB", [Image.effect_noise((1200, 900), 90) for _ in range(3)])
    noise.save(out.setdefault("noise", d / "noise.png"))
    out["svg"] = d / "circle.svg"
    out["svg"].write_text('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
                          '<circle cx="10" cy="10" r="8"/><script>alert(1)</script></svg>')
    out["csv"] = d / "measurements.csv"
    out["csv"].write_text("t,temperature,<b>note</b>\n"
                          + "".join(f"{i},{20 + i / 10:.1f},ok & fine\n" for i in range(30)))
    out["tsv"] = d / "table.tsv"
    out["tsv"].write_text("1\t2\t3\n4\t5\t6\n")
    out["text"] = d / "log.txt"
    out["text"].write_text("".join(f"line {i} <tag>\n" for i in range(100)))
    out["binary"] = d / "blob.bin"
    out["binary"].write_bytes(bytes(range(256)) * 4)
    out["large"] = d / "large.bin"
    out["large"].write_bytes(b"\0" * (2 << 20))
    out["fake"] = d / "broken.png"
    out["fake"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    return out


def test_file_kinds_come_from_the_content_first():
    assert file_kind("x.csv", b"\x89PNG\r\n\x1a\n....") == "png"
    assert file_kind("x", b"\xff\xd8\xff\xe0") == "jpeg"
    assert file_kind("a.data", b'<?xml version="1.0"?><svg xmlns="...">') == "text"
    assert file_kind("a.xml", b'<?xml version="1.0"?><svg xmlns="...">') == "svg"
    assert file_kind("a.csv", b"a,b\n1,2\n") == "csv"
    assert file_kind("a.TSV", b"a\tb\n") == "tsv"
    assert file_kind("a.csv", b"a,b\0\n") == "binary"
    assert file_kind("notes", "h\u00e9llo".encode()[:2]) == "text"  # a character cut at the end
    assert file_kind("x", b"\xff\xfe\x00a" * 10) == "binary"
    assert human_size(512) == "512 bytes" and human_size(1536) == "1.5 KiB"
    assert human_size(3 << 30) == "3.0 GiB"


def test_a_small_png_is_shown_as_it_is(files):
    html = preview_html(wire(files["png"]))
    mime, image = picture(html)
    assert mime == "image/png" and image.size == (64, 40)
    assert image.convert("RGB").getpixel((3, 4)) == (0, 255, 0)
    assert base64.b64decode(SRC.findall(html)[0][1]) == files["png"].read_bytes()
    assert 'data-kind="image"' in html and "64&times;40 PNG" in html
    assert 'alt="small plot.png"' in html and 'width="64" height="40"' in html


def test_large_pictures_are_downscaled_within_the_byte_cap(files):
    for key, limits in (("jpeg", INSPECTOR), ("jpeg", TABLE), ("noise", INSPECTOR)):
        html = preview_html(wire(files[key]), limits)
        mime, image = picture(html)
        assert max(image.size) == limits.picture_px, (key, image.size)
        assert len(base64.b64decode(SRC.findall(html)[0][1])) <= limits.picture_bytes
        assert "shown at" in html
    # A JPEG stays JPEG; noise, too large as PNG, falls back to JPEG, aspect ratio kept.
    assert picture(preview_html(wire(files["jpeg"])))[0] == "image/jpeg"
    mime, image = picture(preview_html(wire(files["noise"])))
    assert mime == "image/jpeg" and image.size == (480, 360)


def test_svg_is_an_img_so_its_scripts_never_run(files):
    html = preview_html(wire(files["svg"]))
    mime, raw = picture(html)
    assert mime == "image/svg+xml" and raw == files["svg"].read_bytes()
    assert "<script" not in html and "<circle" not in html


def test_csv_shows_its_first_rows_escaped(files):
    html = preview_html(wire(files["csv"]))
    assert 'data-kind="table"' in html
    assert "&lt;b&gt;note&lt;/b&gt;" in html and "<b>note" not in html
    assert html.count("<th ") == 3  # the header row
    assert html.count("<tr>") == 1 + INSPECTOR.rows
    assert "<td" in html and "20.7" in html and "20.8" not in html
    assert "first 8 of 30 rows" in html and "ok &amp; fine" in html
    assert 'class="cdw-download" download="measurements.csv"' in html
    table = preview_html(wire(files["csv"]), TABLE)
    assert table.count("<tr>") == 1 + TABLE.rows and "first 5 of 30 rows" in table


def test_tsv_without_a_header(files):
    html = preview_html(wire(files["tsv"]))
    assert "<th " not in html and html.count("<tr>") == 2 and "2 rows" in html
    assert re.search(r">5</td>", html)


def test_text_shows_its_first_lines(files):
    html = preview_html(wire(files["text"]))
    assert 'data-kind="text"' in html and "line 0 &lt;tag&gt;" in html
    assert "line 11 " in html and "line 12 " not in html
    assert "first 12 of 100 lines" in html


def test_other_files_show_name_size_and_a_download_link(files):
    html = preview_html(wire(files["binary"]))
    assert 'data-kind="file"' in html and "blob.bin" in html and "1.0 KiB" in html
    link = re.search(r'href="data:application/octet-stream;base64,([^"]+)"', html)
    assert base64.b64decode(link.group(1)) == files["binary"].read_bytes()
    large = preview_html(wire(files["large"]))
    assert "2.0 MiB" in large and "download" not in large  # no 2 MiB page
    broken = preview_html(wire(files["fake"]))
    assert 'data-kind="file"' in broken and "not a readable PNG" in broken
    missing = preview_html({"$file": "/nonexistent/<x>.png"})
    assert "&lt;x&gt;.png</b> &middot; not on this machine" in missing
    assert "/nonexistent" not in missing  # named by its name, never its path


def test_compact_previews_show_no_picture(files):
    html = preview_html(wire(files["png"]), COMPACT)
    assert "<img" not in html and "small plot.png" in html
    assert preview_html([1, 2, 3], COMPACT) is None


def test_numeric_arrays_are_line_plots():
    html = preview_html([3, 1, 4, 1, 5, 9, 2, 6])
    assert 'data-kind="plot"' in html and "<svg" in html and "8 values" in html
    points = re.search(r'points="([^"]+)"', html).group(1).split()
    assert len(points) == 8
    ys = [float(p.split(",")[1]) for p in points]
    assert ys.index(min(ys)) == 5  # 9 is the highest point (smallest y)
    assert "min 1" in html and "max 9" in html
    many = sparkline_svg([float(i % 97) for i in range(100_000)], points=400)
    assert len(re.search(r'points="([^"]+)"', many).group(1).split()) <= 400
    for plain in (1.5, "text", [1, "a"], [True, False], [1], [], {"a": 1}, [1.0, float("nan")],
                  {"$file": 3}):
        assert preview_html(plain) is None, plain


def test_pillow_images_are_pictures():
    html = preview_html(Image.new("RGBA", (900, 300), (0, 0, 255, 128)))
    mime, image = picture(html)
    assert mime == "image/png" and image.size == (480, 160)


def test_inspector_and_output_table_preview_outputs(files):
    graph = Graph.from_spec({"plot": {"process": "p", "inputs": {"data": wire(files["csv"])}}})
    res = RunResult(status={"plot": "done"}, inputs={"plot": {"data": wire(files["csv"])}},
                    outputs={"plot": {"picture": wire(files["png"]), "n": 3,
                                      "series": [1.0, 2.0, 0.5]}})
    html = inspector_html(graph, "plot", res)
    outputs = html[html.index("cdw-outputs"):]
    assert len(SRC.findall(outputs)) == 1 and 'data-kind="plot"' in outputs
    inputs = html[html.index("cdw-inputs"):html.index("cdw-outputs")]
    assert "measurements.csv" in inputs and "<table" in inputs and 'data-kind="table"' not in inputs

    table = OutputTable(max_previews=1)
    table.outputs = {"a": {"picture": wire(files["png"])}, "b": {"picture": wire(files["png"]),
                                                                "z": 2.5}}
    assert len(SRC.findall(table.value)) == 1  # only the first in full
    assert table.value.count('data-name="small plot.png"') == 2
    assert '<td class="cdw-value" style="' in table.value and ">2.5</td>" in table.value
    table.max_previews = 5
    assert len(SRC.findall(table.value)) == 2
    table.close()


# ---- the lightbox ------------------------------------------------------------------------------

class _Parsed(HTMLParser):
    """The attributes of each start tag, unescaped as the browser reads them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, cls: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]


def lightbox(html: str) -> tuple[dict, dict, dict | None, str]:
    """The preview's picture, the lightbox's picture, its download link (or None) and its
    caption's text, from the one preview in ``html``."""
    parsed = _Parsed(html)
    (thumb,) = parsed.find("img", "cdw-picture")
    (big,) = parsed.find("img", "cdw-lightbox-img")
    links = parsed.find("a", "cdw-lightbox-download")
    caption = re.search(r'<figcaption class="cdw-lightbox-caption"[^>]*>(.*?)</figcaption>',
                        html).group(1)
    return thumb, big, (links[0] if links else None), html_module.unescape(
        re.sub(r"<[^>]+>", "", caption))


def test_a_picture_opens_a_lightbox_with_its_real_size_and_the_file(files):
    """Issue 24: a click on a picture opens an overlay (a <template> cloned by an inline
    onclick) with the picture at its real size, a caption (name, pixel size, displayed size)
    and a download link; the file's bytes are in the page once."""
    html = preview_html(wire(files["png"]))  # small: the preview is the file
    thumb, big, link, caption = lightbox(html)
    assert thumb["onclick"] == LIGHTBOX_JS and '"' not in LIGHTBOX_JS
    assert "cursor:zoom-in" in thumb["style"]
    assert html.count('<template class="cdw-lightbox-template">') == 1
    assert "src" not in big and (big["width"], big["height"]) == ("64", "40")
    assert link["download"] == "small plot.png" and "href" not in link  # the preview's bytes
    assert caption == ("small plot.png · 64×40 PNG · "
                       f"{human_size(files['png'].stat().st_size)} · "
                       "shown at 64×40 (real size) · download")
    assert html.count(base64.b64encode(files["png"].read_bytes()).decode()) == 1

    for limits in (INSPECTOR, TABLE):  # downscaled: the link holds the file, real size
        html = preview_html(wire(files["jpeg"]), limits)
        thumb, big, link, caption = lightbox(html)
        assert (big["width"], big["height"]) == ("1600", "1000")
        assert link["download"] == "photo.jpg" and link["href"].startswith("data:image/jpeg;")
        assert base64.b64decode(link["href"].split(",", 1)[1]) == files["jpeg"].read_bytes()
        assert "1600×1000 JPEG" in caption and "shown at 1600×1000 (real size)" in caption
        assert thumb["width"] == str(limits.picture_px)


def test_a_lightbox_without_the_file_says_it_shows_the_preview(files):
    size = files["noise"].stat().st_size
    assert size > INSPECTOR.download_bytes  # 1200x900 of noise: more than a page holds
    _, big, link, caption = lightbox(preview_html(wire(files["noise"])))
    assert link is None and (big["width"], big["height"]) == ("480", "360")
    assert "shown at 480×360 (40% of its 1200×900)" in caption
    assert "the preview: the file is larger than the 1.0 MiB a page holds" in caption


def test_svg_and_pillow_pictures_have_a_lightbox_too(files):
    html = preview_html(wire(files["svg"]))
    thumb, big, link, caption = lightbox(html)
    assert thumb["onclick"] == LIGHTBOX_JS and "width" not in big
    assert link["download"] == "circle.svg" and "shown at its own size" in caption
    assert "<script" not in html

    html = preview_html(Image.new("RGBA", (900, 300), (0, 0, 255, 128)))
    _, big, link, caption = lightbox(html)
    assert (big["width"], big["height"]) == ("900", "300") and link["download"] == "image.png"
    full = Image.open(io.BytesIO(base64.b64decode(link["href"].split(",", 1)[1])))
    assert full.size == (900, 300) and "shown at 900×300 (real size)" in caption


def test_compact_previews_and_other_files_have_no_lightbox(files):
    for html in (preview_html(wire(files["png"]), COMPACT), preview_html(wire(files["csv"])),
                 preview_html(wire(files["binary"]))):
        assert "cdw-lightbox" not in html and "onclick" not in html

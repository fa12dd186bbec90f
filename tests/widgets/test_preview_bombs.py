"""Decompression bombs in previews (issue 20): pictures of 169 megapixels in files of a few
hundred bytes (GIF, WebP) or KB (PNG), crafted here byte by byte. Each preview runs in a
subprocess whose peak memory is measured: the kernel never holds the full picture,
and the preview says what it did. A file's host path never reaches the page."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from containerdag_widgets import File
from containerdag_widgets.widgets.previews import INSPECTOR, Limits, preview_html

SIDE = 13000  # 169 megapixels: under Pillow's own refusal (179), over its warning (89)
#: Peak memory of a preview, MB. Python with the package and Pillow takes about 50; a full
#: decode of one of these bombs takes 169 (GIF) to 3300 (WebP).
BOUND_MB = 150
DATA = re.compile(r'base64,[^"]+')

#: The peak is the interpreter's own high-water mark, VmHWM: ``ru_maxrss`` would count the
#: test process it was forked from (Linux keeps the larger across exec).
MEASURE = """
import json, sys, warnings
warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the preview decides
from containerdag_widgets.widgets.previews import INSPECTOR, preview_html
html = preview_html({"$file": sys.argv[1]}, INSPECTOR)
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(json.dumps({"peak_mb": peak, "html": html}))
"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


def png_bomb(path: Path, side: int = SIDE) -> Path:
    """An RGB PNG of one colour, compressed row by row (never held whole): about 480 KiB."""
    deflate = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * side)  # filter byte, then black pixels
    idat = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
                     + _chunk(b"IEND", b""))
    return path


def gif_bomb(path: Path, side: int = SIDE) -> Path:
    """A GIF whose logical screen is side x side, drawn by one 1x1 frame: 35 bytes."""
    screen = b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    pixels = b"\x02\x02\x44\x01\x00"  # LZW, minimum code size 2: clear, 0, end
    path.write_bytes(screen + frame + pixels + b"\x3b")
    return path


def webp_bomb(path: Path, side: int = SIDE) -> Path:
    """A lossless WebP (VP8L) of one colour: every prefix code has one symbol, so each pixel
    takes no bits at all: 30 bytes."""
    bits, count = 0, 0

    def put(value: int, width: int) -> None:
        nonlocal bits, count
        bits |= value << count
        count += width

    put(side - 1, 14), put(side - 1, 14), put(1, 1), put(0, 3)  # size, alpha, version
    put(0, 1), put(0, 1), put(0, 1)  # no transform, no colour cache, no meta prefix codes
    for symbol in (0, 0, 0, 255, 0):  # green, red, blue, alpha, distance
        put(1, 1), put(0, 1)  # a simple code of one symbol
        if symbol < 2:
            put(0, 1), put(symbol, 1)
        else:
            put(1, 1), put(symbol, 8)
    body = b"\x2f" + bits.to_bytes((count + 7) // 8, "little")
    body += b"\0" * (len(body) % 2)
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk)
    return path


def measured(path: Path) -> tuple[float, str]:
    """The peak memory (MB) of a fresh interpreter previewing ``path``, and the HTML."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                          text=True, timeout=300, check=True)
    answer = json.loads(done.stdout)
    return answer["peak_mb"], answer["html"]


@pytest.mark.parametrize("make", [png_bomb, gif_bomb, webp_bomb], ids=["png", "gif", "webp"])
def test_a_decompression_bomb_is_not_decoded_and_memory_stays_bounded(tmp_path, make):
    path = make(tmp_path / f"bomb.{make.__name__[:-5]}")
    with pytest.warns(Image.DecompressionBombWarning), Image.open(path) as image:
        assert image.size == (SIDE, SIDE)  # a real picture of that size, as Pillow reads it
    peak, html = measured(path)
    assert peak < BOUND_MB, f"{peak:.0f} MB: {DATA.sub('', html)[:300]}"
    assert 'data-kind="file"' in html and "cdw-picture" not in html
    assert f"{SIDE}\u00d7{SIDE}" in html and "169 megapixels: not decoded" in html
    assert "limit of 25 megapixels" in html
    assert str(tmp_path) not in html


def test_a_large_jpeg_is_decoded_reduced(tmp_path):
    path = tmp_path / "huge.jpg"
    image = Image.new("L", (12000, 9000), 128)
    image.save(path, quality=50)
    del image
    peak, html = measured(path)
    assert peak < BOUND_MB, f"{peak:.0f} MB"
    assert "cdw-picture" in html and "12000&times;9000 JPEG" in html
    assert "decoded at 1/8" in html and "shown at 480&times;360" in html


def test_a_picture_under_the_pixel_limit_is_still_shown(tmp_path):
    path = tmp_path / "tall.png"
    Image.new("RGB", (600, 4000), (10, 20, 30)).save(path)
    html = preview_html({"$file": str(path)}, INSPECTOR)
    assert "cdw-picture" in html and "shown at 72&times;480" in html
    refused = preview_html({"$file": str(path)}, Limits(decode_pixels=1_000_000))
    assert "cdw-picture" not in refused
    assert "2.4 megapixels: not decoded, more than the preview&#x27;s limit of 1 megapixels" \
        in refused


def test_a_preview_error_names_the_file_never_its_host_path(tmp_path):
    folder = tmp_path / "secret-host-folder"
    folder.mkdir()
    fake = folder / "plot.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not a png at all" * 10)
    broken = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 9, 9, 8, 2, 0, 0,
                                                                 0)) + _chunk(b"IDAT", b"xx")
    (folder / "cut.png").write_bytes(broken)
    for value in ({"$file": str(fake)}, File(fake), {"$file": str(folder / "cut.png")},
                  {"$file": str(folder / "gone.png")}):
        html = preview_html(value, INSPECTOR)
        assert "secret-host-folder" not in html and str(tmp_path) not in html, html
    assert "not a readable PNG" in preview_html(File(fake), INSPECTOR)
    assert "plot.png" in preview_html(File(fake), INSPECTOR)
    assert "gone.png</b> &middot; not on this machine" in preview_html(
        {"$file": str(folder / "gone.png")}, INSPECTOR)

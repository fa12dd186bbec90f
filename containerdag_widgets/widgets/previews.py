"""Previews of port values as HTML, rendered in the kernel: pictures, tables, text, line plots.

A file (a ``File``, or its wire form ``{"$file": PATH}`` naming a file on this machine) shows
by its content: PNG/JPEG/GIF/WebP/SVG as a picture, CSV/TSV as its first rows, text as its
first lines, anything else as name, size and a download link. A Pillow image is a picture; a
list of numbers is a small line plot (inline SVG). Every other value is compact JSON, as
before. Everything is escaped; pictures are ``data:`` URIs, downscaled (Pillow) and capped in
size; the front end only shows HTML, so no type needs front-end code.

A picture is bounded by its pixels, not its bytes (a 0.5 MB PNG may hold 169 megapixels): a
JPEG is decoded reduced (``draft``, up to 1/8 a side), and a picture that would still have more
than ``Limits.decode_pixels`` is not decoded at all; its preview says so. A preview names a
file by its name, never by its path on this machine; only regular files are read (a FIFO or a
device is never opened).

A picture opens, when clicked, in a lightbox: an overlay on the page with the picture at its
real size (scrolling when larger than the window), a caption with its name, pixel size and
displayed size, and a download link. The overlay waits, inert, in a ``<template>`` beside the
preview; the picture's bytes are in the page once (the link's ``data:`` URI, or the preview's
own when the preview is the file), and only when within ``Limits.download_bytes`` (beyond
that the lightbox shows the preview and says so). The HTML widget sets its value as
``innerHTML``: a short inline ``onclick`` (``LIGHTBOX_JS``) clones the overlay into
``<body>`` (out of any cell's clipping or stacking) and closes it on a click outside the
picture or on Escape. It needs no code of the toolkit in the page, so it works wherever the
HTML shows (JupyterLab, Notebook 7, Voila, an OutputTable alone).

Pictures are drawn at their real size on any screen: a picture's CSS size is its pixel size
divided by the page's ``devicePixelRatio`` (an inline ``onload``, ``PIXELS_JS``; the lightbox
does the same when it opens), so one pixel of it is one pixel of the screen and a 2x screen
shows it sharp, at half its CSS pixels. The caption says the size shown, e.g. "640×400 PNG ·
shown at 320×200 on this 2x screen"; a picture of the table is a thumbnail that opens the
lightbox ("click to enlarge"). On a 1x screen nothing changes: the ``width``/``height`` the
kernel writes are the pixel sizes. An SVG is a vector: drawn at its own size, sharp anyway.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import mimetypes
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..model.files import NOT_FILES, not_a_file
from .html import TABLE_STYLE, WRAP_STYLE, cell, esc, value_text

__all__ = ["Limits", "INSPECTOR", "TABLE", "COMPACT", "preview_html", "is_file", "file_kind",
           "human_size", "sparkline_svg"]

PICTURES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
            "svg": "image/svg+xml"}
#: The only Pillow plugin allowed to decode each kind (the kind comes from the magic bytes).
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}
_SNIFF = 8192  # bytes read to tell a file's kind
_CAPTION = "font-size:90%;color:var(--jp-ui-font-color2,#666)"

#: The inline ``onload`` of a preview's picture (``this``): on a screen whose pixel is not one
#: CSS pixel (``devicePixelRatio``: 2 on a 2x screen, browser zoom too), its CSS size becomes
#: its pixel size over that ratio (one picture pixel per screen pixel), and the caption's
#: ``.cdw-shown`` says the size shown.
PIXELS_JS = (
    "var d=window.devicePixelRatio||1;if(d===1||!this.naturalWidth)return;"
    "this.width=Math.round(this.naturalWidth/d);this.height=Math.round(this.naturalHeight/d);"
    "this.setAttribute('data-density',d);"
    "var c=this.closest('.cdw-preview'),s=c&&c.querySelector('.cdw-preview-caption .cdw-shown');"
    "if(s)s.textContent='shown at '+this.width+'\u00d7'+this.height+' on this '+d+'x screen';")

#: The inline ``onclick`` of a preview's picture (``this``): open its lightbox. It clones the
#: ``<template>`` beside it into ``<body>``, gives the overlay's picture the link's bytes (or
#: the preview's own, and the link those), and closes it on a click outside the picture or
#: on Escape. Single quotes only (it is HTML-escaped into a double-quoted attribute).
LIGHTBOX_JS = (
    "var t=this.closest('.cdw-preview').querySelector('template.cdw-lightbox-template');"
    "if(!t)return;"
    "var o=t.content.firstElementChild.cloneNode(true),i=o.querySelector('img'),"
    "a=o.querySelector('a[download]'),h=a&&a.getAttribute('href');"
    "i.src=h||this.src;if(a&&!h)a.href=this.src;"
    "var d=window.devicePixelRatio||1,w=+i.getAttribute('width'),"
    "z=+i.getAttribute('height'),s=o.querySelector('.cdw-shown');"
    "if(d!==1&&w){i.width=Math.round(w/d);i.height=Math.round(z/d);"
    "i.setAttribute('data-density',d);if(s)s.textContent='shown at '+i.width+'\u00d7'+"
    "i.height+', a pixel of the picture to a pixel of this '+d+'x screen';}"
    "var k=function(e){if(e.key==='Escape'){e.stopPropagation();e.preventDefault();c();}},"
    "c=function(){o.remove();document.removeEventListener('keydown',k,true);};"
    "o.addEventListener('click',function(e){if(e.target===o)c();});"
    "document.addEventListener('keydown',k,true);"
    "document.body.appendChild(o);o.focus();")
_OVERLAY = ("position:fixed;inset:0;z-index:10000;background:rgba(0,0,0,0.78);overflow:auto;"
            "padding:24px;box-sizing:border-box;text-align:center;cursor:zoom-out;outline:none")
_FIGURE = ("display:inline-block;margin:0;padding:8px;text-align:left;cursor:auto;"
           "background:var(--jp-layout-color0,#fff);border-radius:4px;"
           "box-shadow:0 4px 24px rgba(0,0,0,0.5)")
_LINK = "color:var(--jp-content-link-color,#1f5fbf);text-decoration:underline"
_FIGCAPTION = ("margin-top:6px;font-size:13px;line-height:1.4;"
               "color:var(--jp-ui-font-color1,#222);max-width:90vw")


@dataclass(frozen=True)
class Limits:
    """How much of a value a preview shows, and how many bytes it may put in the page."""

    picture_px: int = 480            # longest side of a picture as shown
    picture_bytes: int = 384 * 1024  # larger pictures are re-encoded smaller
    decode_bytes: int = 64 << 20     # larger image files are not decoded: shown as a file
    decode_pixels: int = 25_000_000  # pictures with more pixels (after a JPEG's reduced
    #                                  decode) are not decoded: 100 MB at 4 bytes a pixel
    rows: int = 8                    # CSV/TSV rows (after the header)
    columns: int = 12
    lines: int = 12                  # text lines
    chars: int = 160                 # characters per text line or table cell
    download_bytes: int = 1 << 20    # files up to this size get a data: download link
    #                                  (and a picture its real size in the lightbox)
    points: int = 400                # a line plot draws at most this many points
    plot_width: int = 240
    plot_height: int = 56
    pictures: bool = True            # False: files show as name, size and link only
    hint: bool = False               # say "click to enlarge" under a picture (a thumbnail)


INSPECTOR = Limits()
TABLE = Limits(picture_px=240, rows=5, columns=8, lines=6, chars=80, plot_width=160,
               plot_height=40, hint=True)
COMPACT = Limits(pictures=False, download_bytes=0)


@runtime_checkable
class FileLike(Protocol):
    """What a preview needs of a file: the ``File`` of ``containerdag_widgets.model.files``."""

    path: Path
    name: str
    size: int


def is_file(value: Any) -> bool:
    """Whether ``value`` is a file: a ``File``-like object or ``{"$file": PATH}``."""
    if isinstance(value, dict):
        return len(value) == 1 and isinstance(value.get("$file"), str)
    return isinstance(value, FileLike) and not isinstance(value, (str, bytes))


def _file_path(value: Any) -> Path:
    return Path(value["$file"]) if isinstance(value, dict) else Path(value.path)


def human_size(size: int) -> str:
    """``1.5 MiB`` for 1572864 bytes."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # unreachable


def file_kind(name: str, head: bytes) -> str:
    """``png``, ``jpeg``, ``gif``, ``webp``, ``svg``, ``csv``, ``tsv``, ``text`` or ``binary``."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if b"\0" in head:
        return "binary"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the head is fine
        if exc.start < len(head) - 3:
            return "binary"
        text = head[:exc.start].decode("utf-8")
    suffix = Path(name).suffix.lower()
    if suffix == ".svg" or (suffix in ("", ".xml") and "<svg" in text[:1024]):
        return "svg"
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv"}.get(suffix, "text")


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _caption(*parts: str) -> str:
    return f'<div class="cdw-preview-caption" style="{_CAPTION}">{" &middot; ".join(parts)}</div>'


def _shown(text: str) -> str:
    """The part of a caption that says the size shown (``PIXELS_JS`` rewrites it)."""
    return f'<span class="cdw-shown">{text}</span>'


def _download(path: Path, name: str, size: int, limits: Limits) -> str:
    if size > limits.download_bytes:
        return ""
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (f'<a class="cdw-download" download="{esc(name)}" '
            f'href="{_data_uri(mime, path.read_bytes())}">download</a>')


def _box(kind: str, name: str, body: str) -> str:
    return (f'<div class="cdw-preview cdw-preview-{kind}" data-kind="{kind}" '
            f'data-name="{esc(name)}">{body}</div>')


# ---- pictures --------------------------------------------------------------------------------

def _img(uri: str, name: str, width: int, height: int) -> str:
    return (f'<img class="cdw-picture" src="{uri}" alt="{esc(name)}" width="{width}" '
            f'height="{height}" style="max-width:100%;height:auto;display:block;'
            f'cursor:zoom-in" title="click to enlarge" onload="{esc(PIXELS_JS)}" '
            f'onclick="{esc(LIGHTBOX_JS)}">')


def _enlarge(limits: Limits) -> list[str]:
    """A thumbnail's hint that a click shows the picture at its real size."""
    return ['<span class="cdw-enlarge">click to enlarge</span>'] if limits.hint else []


def _lightbox(name: str, size: tuple[int, int] | None, parts: list[str],
              download: tuple[str, str] | None) -> str:
    """The inert overlay of a picture (a ``<template>``; ``LIGHTBOX_JS`` opens it): its
    picture at ``size`` (None: the picture's own size, an SVG's), a caption of ``parts``
    (escaped HTML) and, with ``download`` = (file name, data: URI or "" for the preview's own
    bytes), a download link. The picture gets its source when opened: the link's, or the
    preview's."""
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    link = ""
    if download is not None:
        href = f' href="{download[1]}"' if download[1] else ""
        link = (f' &middot; <a class="cdw-download cdw-lightbox-download" '
                f'download="{esc(download[0])}"{href} style="{_LINK}">download</a>')
    return ('<template class="cdw-lightbox-template">'
            f'<div class="cdw-lightbox" role="dialog" aria-label="{esc(name)}" tabindex="-1" '
            f'title="click outside the picture or press Escape to close" style="{_OVERLAY}">'
            f'<figure class="cdw-lightbox-figure" style="{_FIGURE}">'
            f'<img class="cdw-lightbox-img" alt="{esc(name)}"{dims} '
            'style="display:block;max-width:none;max-height:none">'
            f'<figcaption class="cdw-lightbox-caption" style="{_FIGCAPTION}">'
            f'{" &middot; ".join(parts)}{link}</figcaption></figure></div></template>')


def _shown_at(width: int, height: int, real: tuple[int, int]) -> str:
    """The lightbox's displayed size, against the picture's pixel size."""
    if (width, height) == real:
        return _shown(f"shown at {width}&times;{height} (real size)")
    return _shown(f"shown at {width}&times;{height} ({100 * width / real[0]:.0f}% of its "
                  f"{real[0]}&times;{real[1]})")


def _shrunk(image: Any, side: int) -> Any:
    """``image`` with its longest side at most ``side``: a new, reduced image (box-averaged by
    an integer factor first), or ``image`` itself when it is small enough; never a full copy."""
    longest = max(image.width, image.height)
    if longest <= side:
        return image
    size = (max(1, round(image.width * side / longest)),
            max(1, round(image.height * side / longest)))
    from PIL import Image

    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _encode(image: Any, limits: Limits, original: str) -> tuple[str, int, int]:
    """A Pillow image as a data: URI within the limits: PNG, or JPEG for photos and for
    pictures whose PNG would be larger than ``limits.picture_bytes``. ``image`` is left as
    it is."""
    image = _shrunk(image, limits.picture_px)
    buffer = io.BytesIO()
    if original != "jpeg":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(buffer, "PNG", optimize=True)
        if buffer.tell() <= limits.picture_bytes:
            return _data_uri("image/png", buffer.getvalue()), image.width, image.height
        buffer = io.BytesIO()
    image.convert("L" if image.mode in ("L", "LA") else "RGB").save(buffer, "JPEG", quality=85)
    return _data_uri("image/jpeg", buffer.getvalue()), image.width, image.height


def _megapixels(pixels: int) -> str:
    """``169 megapixels``."""
    return f"{pixels / 1e6:.3g} megapixels"


def _without_path(exc: BaseException, path: Path, name: str) -> str:
    """What went wrong, naming the file by its name: never its path on this machine."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return exc.strerror
    text = str(exc)
    for full in {str(path), os.path.abspath(path)}:
        text = text.replace(repr(full), repr(name)).replace(full, name)
    return text


def _picture_file(path: Path, name: str, size: int, kind: str, limits: Limits) -> str:
    caption = [esc(name)]
    if kind == "svg":
        if size > limits.picture_bytes:
            return _other_file(path, name, size, limits, f"SVG too large to show "
                                                         f"({human_size(size)})")
        side = limits.picture_px
        img = (f'<img class="cdw-picture" src="{_data_uri(PICTURES["svg"], path.read_bytes())}" '
               f'alt="{esc(name)}" style="max-width:min(100%,{side}px);max-height:{side}px;'
               'display:block">')
        img = img.replace('display:block">', 'display:block;cursor:zoom-in" title="click to '
                          f'enlarge" onclick="{esc(LIGHTBOX_JS)}">')
        box = _lightbox(name, None, [esc(name), "SVG", human_size(size),
                                     "shown at its own size"],
                        (name, "") if size <= limits.download_bytes else None)
        return _box("image", name, img + _caption(*caption, "SVG", human_size(size)) + box)
    if size > limits.decode_bytes:
        return _other_file(path, name, size, limits, "picture too large to decode")
    from PIL import Image  # only when a picture is shown

    try:
        with Image.open(path, formats=[_FORMATS[kind]]) as image:
            width, height = image.size
            described = f"{width}&times;{height} {kind.upper()}"
            if max(width, height) <= limits.picture_px and size <= limits.picture_bytes:
                uri, shown_w, shown_h = _data_uri(PICTURES[kind], path.read_bytes()), width, height
                whole = True  # the preview is the file's bytes
            else:
                whole = False
                longest = max(width, height)
                target = (max(1, width * limits.picture_px // longest),
                          max(1, height * limits.picture_px // longest))
                if image.draft(image.mode, target) is not None:  # a JPEG, decoded reduced
                    caption.append(f"decoded at 1/{width // image.width}")
                if image.width * image.height > limits.decode_pixels:
                    return _other_file(
                        path, name, size, limits,
                        f"{width}\u00d7{height} {kind.upper()}, {_megapixels(width * height)}: "
                        f"not decoded, more than the preview's limit of "
                        f"{_megapixels(limits.decode_pixels)}")
                uri, shown_w, shown_h = _encode(image, limits, kind)
    except Image.DecompressionBombError as exc:
        return _other_file(path, name, size, limits, f"not decoded: {exc}")
    except (OSError, ValueError, SyntaxError) as exc:
        return _other_file(path, name, size, limits,
                           f"not a readable {kind.upper()}: {_without_path(exc, path, name)}")
    caption[1:1] = [described, human_size(size)]
    caption += [_shown(f"shown at {shown_w}&times;{shown_h}"), *_enlarge(limits)]
    real, parts = (width, height), [esc(name), described, human_size(size)]
    if size <= limits.download_bytes:  # the real picture, once in the page
        download = (name, "" if whole else _data_uri(PICTURES[kind], path.read_bytes()))
        box = _lightbox(name, real, [*parts, _shown_at(*real, real)], download)
    else:
        box = _lightbox(name, (shown_w, shown_h), [
            *parts, _shown_at(shown_w, shown_h, real),
            f"the preview: the file is larger than the {human_size(limits.download_bytes)} "
            "a page holds"], None)
    return _box("image", name, _img(uri, name, shown_w, shown_h) + _caption(*caption) + box)


def _picture_object(image: Any, limits: Limits) -> str:
    """A Pillow ``Image`` value."""
    uri, width, height = _encode(image, limits, (image.format or "").lower())
    real = (image.width, image.height)
    described = f"{image.width}&times;{image.height} {esc(image.mode)} image"
    full = None
    if (width, height) == real:
        full = ""  # the preview is the picture: its bytes serve the lightbox and the link
    elif image.width * image.height <= limits.decode_pixels // 4:
        buffer = io.BytesIO()
        plain = image.mode in ("RGB", "RGBA", "L", "LA", "P")
        (image if plain else image.convert("RGBA")).save(buffer, "PNG")
        if buffer.tell() <= limits.download_bytes:
            full = _data_uri("image/png", buffer.getvalue())
    if full is not None:
        name = "image.jpg" if uri.startswith("data:image/jpeg") and not full else "image.png"
        box = _lightbox("image", real, [described, _shown_at(*real, real)], (name, full))
    else:
        box = _lightbox("image", (width, height), [
            described, _shown_at(width, height, real),
            f"the preview: the picture is larger than the {human_size(limits.download_bytes)} "
            "a page holds"], None)
    caption = _caption(described, _shown(f"shown at {width}&times;{height}"), *_enlarge(limits))
    return _box("image", "image", _img(uri, "image", width, height) + caption + box)


# ---- tables and text -------------------------------------------------------------------------

def _head_text(path: Path, size: int, budget: int) -> tuple[str, bool]:
    """The file's first ``budget`` bytes as text, and whether that is the whole file."""
    with open(path, "rb") as handle:
        data = handle.read(budget)
    whole = size <= budget
    text = data.decode("utf-8", errors="replace")
    if not whole and "\n" in text:  # the last line may be cut: drop it
        text = text[:text.rindex("\n") + 1]
    return text, whole


def _numeric(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _table_file(path: Path, name: str, size: int, kind: str, limits: Limits) -> str:
    text, whole = _head_text(path, size, 64 * 1024)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if kind == "tsv" or ("\t" in first and "," not in first) else ","
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    if not rows:
        return _text_file(path, name, size, limits)
    numeric = [sum(_numeric(f) for f in row) for row in rows[:2]]
    header = len(rows) > 1 and numeric[0] < len(rows[0]) and numeric[1] > numeric[0]
    width = max(len(r) for r in rows[:limits.rows + 1])
    shown = min(width, limits.columns)

    def line(row: list[str], tag: str) -> str:
        cells = [cell(esc(_cut(f, limits.chars)), tag=tag) for f in row[:shown]]
        cells += [cell("")] * (shown - len(row[:shown]))
        return "<tr>" + "".join(cells) + (cell("\u2026") if width > shown else "") + "</tr>"

    body_rows = rows[1:] if header else rows
    html = [f'<table class="cdw-preview-table" style="{TABLE_STYLE}">']
    if header:
        html.append(f"<thead>{line(rows[0], 'head')}</thead>")
    html.append("<tbody>" + "".join(line(r, "td") for r in body_rows[:limits.rows]) + "</tbody>")
    html.append("</table>")
    total = f" of {len(body_rows)}" if whole else ""
    count = f"first {min(len(body_rows), limits.rows)}{total} rows"
    if whole and len(body_rows) <= limits.rows:
        count = f"{len(body_rows)} rows"
    caption = _caption(esc(name), kind.upper(), human_size(size), count,
                       *filter(None, [_download(path, name, size, limits)]))
    return _box("table", name, "".join(html) + caption)


def _text_file(path: Path, name: str, size: int, limits: Limits) -> str:
    text, whole = _head_text(path, size, min(64 * 1024, limits.lines * (limits.chars + 1) * 4))
    lines = text.splitlines()
    shown = "\n".join(_cut(line, limits.chars) for line in lines[:limits.lines])
    count = (f"{len(lines)} lines" if whole and len(lines) <= limits.lines
             else f"first {min(len(lines), limits.lines)}{f' of {len(lines)}' if whole else ''}"
                  " lines")
    pre = (f'<pre class="cdw-preview-text" style="{WRAP_STYLE};margin:2px 0;max-height:16em;'
           f'overflow:auto">{esc(shown)}</pre>')
    caption = _caption(esc(name), human_size(size), count,
                       *filter(None, [_download(path, name, size, limits)]))
    return _box("text", name, pre + caption)


def _other_file(path: Path, name: str, size: int, limits: Limits, note: str = "") -> str:
    parts = [f"<b>{esc(name)}</b>", human_size(size)]
    parts += [esc(note)] if note else []
    link = _download(path, name, size, limits)
    parts += [link] if link else []
    return _box("file", name, f'<div class="cdw-file">{" &middot; ".join(parts)}</div>')


@lru_cache(maxsize=64)
def _file_html(path: Path, name: str, size: int, _mtime_ns: int, limits: Limits) -> str:
    """A file's preview; cached by path, size and modification time (files do not change
    under a content-addressed store, and a changed file has a new key)."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF)
    kind = file_kind(name, head)
    if kind in PICTURES:
        return _picture_file(path, name, size, kind, limits)
    if kind in ("csv", "tsv"):
        return _table_file(path, name, size, kind, limits)
    if kind == "text":
        return _text_file(path, name, size, limits)
    return _other_file(path, name, size, limits)


def _file_preview(value: Any, limits: Limits) -> str:
    path = _file_path(value)
    name = getattr(value, "name", None) or path.name
    what = not_a_file(path)  # never opened unless a regular file: a FIFO would block
    if what is not None:
        said = f"{what}, not shown" if what in NOT_FILES else (
            "not on this machine" if what == "missing" else what)
        return _box("file", name, f'<div class="cdw-file"><b>{esc(name)}</b> &middot; '
                                  f"{esc(said)}</div>")
    try:
        info = os.stat(path)
        if not limits.pictures:  # cheap: not cached, so it never pushes a picture out
            return _other_file(path, name, info.st_size, limits)
        return _file_html(path, name, info.st_size, info.st_mtime_ns, limits)
    except OSError as exc:  # e.g. no permission: said without the path
        return _box("file", name, f'<div class="cdw-file"><b>{esc(name)}</b> &middot; cannot '
                                  f"be read ({esc(_without_path(exc, path, name))})</div>")


# ---- numbers ---------------------------------------------------------------------------------

def _numbers(value: Any) -> list[float] | None:
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    numbers = [float(v) for v in value]
    return numbers if all(math.isfinite(v) for v in numbers) else None


def _thin(values: list[float], points: int) -> list[tuple[int, float]]:
    """At most ``points`` (index, value) pairs keeping each bucket's minimum and maximum."""
    if len(values) <= points:
        return list(enumerate(values))
    step = len(values) / (points // 2)
    kept: list[tuple[int, float]] = []
    for b in range(points // 2):
        lo, hi = int(b * step), max(int((b + 1) * step), int(b * step) + 1)
        chunk = range(lo, min(hi, len(values)))
        pair = sorted({min(chunk, key=values.__getitem__), max(chunk, key=values.__getitem__)})
        kept += [(i, values[i]) for i in pair]
    return kept


def sparkline_svg(values: list[float], width: int = 240, height: int = 56,
                  points: int = 400) -> str:
    """An inline SVG line plot of ``values`` (index on x), with its range marked."""
    lo, hi = min(values), max(values)
    span, last = (hi - lo) or 1.0, len(values) - 1
    pad = 3
    coords = " ".join(
        f"{pad + (width - 2 * pad) * i / last:.1f},"
        f"{height - pad - (height - 2 * pad) * (v - lo) / span:.1f}"
        for i, v in _thin(values, points))
    return (f'<svg class="cdw-sparkline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="line plot of {len(values)} values">'
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="none" '
            'stroke="var(--jp-border-color2,#e0e0e0)"/>'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" '
            f'points="{coords}"/></svg>')


def _plot(values: list[float], raw: Any, limits: Limits) -> str:
    svg = sparkline_svg(values, limits.plot_width, limits.plot_height, limits.points)
    caption = _caption(f"{len(values)} values", f"min {min(values):.6g}",
                       f"max {max(values):.6g}")
    text = f'<div class="cdw-value-text">{esc(value_text(raw, limits.chars))}</div>'
    return _box("plot", "", svg + caption + text)


# ---- entry point -----------------------------------------------------------------------------

def _is_pillow_image(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "thumbnail")


def preview_html(value: Any, limits: Limits = INSPECTOR) -> str | None:
    """The HTML preview of ``value``, or None when it is a plain value shown as JSON."""
    if is_file(value):
        return _file_preview(value, limits)
    if not limits.pictures:
        return None
    if _is_pillow_image(value):
        return _picture_object(value, limits)
    numbers = _numbers(value)
    if numbers is not None:
        return _plot(numbers, value, limits)
    return None

"""Small HTML renderers for the inspector panels and output tables (escaped, no scripts).

Tables carry their own inline styles (separated columns, ruled rows), so they read well
wherever they are shown, also without the graph widget's CSS.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import Any

TABLE_STYLE = "border-collapse:collapse;margin:2px 0;line-height:1.4"
CELL_STYLE = ("padding:2px 10px 2px 0;border-bottom:1px solid var(--jp-border-color2,#e0e0e0);"
              "text-align:left;vertical-align:top")
HEAD_STYLE = CELL_STYLE + ";font-weight:600;border-bottom-width:2px"
#: Text that wraps at spaces, and inside a word only when the word is wider than the line.
WRAP_STYLE = "white-space:pre-wrap;word-break:normal;overflow-wrap:break-word"


class Plain(str):
    """A value shown as it is rather than as JSON (e.g. ``← node a.z``)."""


def esc(value: Any) -> str:
    return html.escape(str(value))


def value_text(value: Any, limit: int = 300) -> str:
    """A compact JSON rendering of a port value, cut at ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def cell(text: str, css: str = "", tag: str = "td") -> str:
    """A table cell: ``td``, ``th`` (a row's name) or ``head`` (a column's name)."""
    style = {"head": HEAD_STYLE, "th": CELL_STYLE + ";font-weight:600"}.get(tag, CELL_STYLE)
    tag = "th" if tag == "head" else tag
    cls = f' class="{css}"' if css else ""
    return f'<{tag}{cls} style="{style}">{text}</{tag}>'


def ports_table(ports: Mapping[str, Any], css: str,
                preview: Callable[[Any], str | None] | None = None) -> str:
    """Rows of port and value; ``preview`` may render a value as HTML (None: as JSON)."""
    if not ports:
        return '<div class="cdw-empty">none</div>'

    def shown(value: Any) -> str:
        if isinstance(value, Plain):
            return cell(esc(value), "cdw-ref")
        rich = preview(value) if preview is not None else None
        return cell(rich if rich is not None else esc(value_text(value)), "cdw-value")

    rows = "".join("<tr>" + cell(esc(k), tag="th") + shown(v) + "</tr>" for k, v in ports.items())
    return f'<table class="cdw-ports {css}" style="{TABLE_STYLE}">{rows}</table>'


def section(title: str, body: str) -> str:
    return f'<div class="cdw-section" style="margin-top:6px"><b>{esc(title)}</b>{body}</div>'


def pre(text: str, css: str, *, scroll: bool = True) -> str:
    # Not scrolling itself: its box scrolls it (a flex item that never shrinks).
    limit = ";max-height:12em;overflow:auto" if scroll else ";margin:0;flex:none;overflow:visible"
    return f'<pre class="{css}" style="{WRAP_STYLE}{limit}">{esc(text)}</pre>'

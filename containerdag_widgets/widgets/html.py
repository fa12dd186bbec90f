"""Small HTML renderers for the inspector panels and output tables (escaped, no scripts)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value))


def value_text(value: Any, limit: int = 300) -> str:
    """A compact JSON rendering of a port value, cut at ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def ports_table(ports: Mapping[str, Any], css: str) -> str:
    if not ports:
        return '<div class="cdw-empty">none</div>'
    rows = "".join(
        f'<tr><th>{esc(k)}</th><td class="cdw-value">{esc(value_text(v))}</td></tr>'
        for k, v in ports.items()
    )
    return f'<table class="cdw-ports {css}">{rows}</table>'


def section(title: str, body: str) -> str:
    return f'<div class="cdw-section"><b>{esc(title)}</b>{body}</div>'


def pre(text: str, css: str) -> str:
    return f'<pre class="{css}" style="white-space:pre-wrap;max-height:12em;overflow:auto">' \
           f"{esc(text)}</pre>"

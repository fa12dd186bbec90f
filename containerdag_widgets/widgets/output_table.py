"""OutputTable: an HTML table of node outputs that re-renders whenever ``outputs`` changes.

Files, pictures and numeric arrays show as previews (see ``previews``): the first
``max_previews`` of them in full, the rest as name and size, so a large run stays light.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
from traitlets import Dict, Int, dlink, observe

from .html import TABLE_STYLE, cell, esc, pre, value_text
from .inspector import status_badge
from .previews import COMPACT, TABLE, preview_html

__all__ = ["OutputTable"]


class OutputTable(W.HTML):
    """Rows of node, output port and value; bind ``outputs`` to a ``GraphWidget``'s."""

    outputs = Dict(help="node -> outputs; the table re-renders when it changes (kernel-side)")
    status = Dict(help="node -> status, shown beside each node's outputs (kernel-side)")
    errors = Dict(help="node -> error message, shown in the row of a failed, skipped or "
                       "cancelled node (kernel-side)")
    max_previews = Int(24, help="values previewed in full (pictures, tables, plots); the rest "
                                "show as name and size or JSON (kernel-side)")

    def __init__(self, source: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("cdw-output-table")
        if source is not None:  # a GraphWidget, or anything with outputs/status traits
            dlink((source, "outputs"), (self, "outputs"))
            names = getattr(source, "trait_names", lambda: [])()
            for name in ("status", "errors"):
                if name in names:
                    dlink((source, name), (self, name))
        self._render()

    @observe("outputs", "status", "errors", "max_previews")
    def _changed(self, _change: dict) -> None:
        self._render()

    def _render(self) -> None:
        nodes = list(dict.fromkeys([*self.status, *self.outputs, *self.errors]))
        if not nodes:
            self.value = '<div class="cdw-empty"><i>No outputs yet.</i></div>'
            return
        rows, previews = [], 0
        for node in nodes:
            status = self.status.get(node, "")
            badge = status_badge(status) if status else ""
            ports = list((self.outputs.get(node) or {}).items()) or [("", None)]
            error = self.errors.get(node)
            if error and not self.outputs.get(node):  # where the outputs would be: why not
                rows.append(f'<tr data-node="{esc(node)}">{cell(esc(node))}'
                            f'{cell(badge, f"cdw-status-{esc(status)}")}{cell("")}'
                            f'{cell(pre(error, "cdw-error"), "cdw-value")}</tr>')
                continue
            for port, value in ports:
                rich = None
                if port:
                    rich = preview_html(value, TABLE if previews < self.max_previews else COMPACT)
                    previews += rich is not None
                shown = (cell(rich if rich is not None else esc(value_text(value)), "cdw-value")
                         if port else cell(""))
                rows.append(f'<tr data-node="{esc(node)}">{cell(esc(node))}'
                            f'{cell(badge, f"cdw-status-{esc(status)}")}'
                            f"{cell(esc(port))}{shown}</tr>")
        head = "".join(cell(h, tag="head") for h in ("node", "status", "output", "value"))
        self.value = (f'<table class="cdw-table" style="{TABLE_STYLE}"><thead><tr>{head}</tr>'
                      f"</thead><tbody>{''.join(rows)}</tbody></table>")
